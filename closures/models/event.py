"""What happened to an organisation: typed, partially dated, cited events."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import ExtractQuarter, ExtractYear
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from ..dates import (
    DatePrecision,
    format_partial_date,
    iso_partial_date,
    period_end,
    truncate_to_precision,
)
from .organisation import Organisation
from .reviewable import Reviewable
from .taxonomies import (
    CLOSURE_EVENT_TYPES,
    CLOSURE_STATUS_BY_FINALITY,
    Confidence,
    DestinationCountries,
    EventType,
    ReasonCategory,
    ReviewState,
    choices_constraint,
)


class Reason(models.Model):
    """One category of the reason taxonomy; the rows are created by a migration."""

    code = models.CharField(
        _("code"), max_length=32, primary_key=True, choices=ReasonCategory.choices
    )

    class Meta:
        verbose_name = _("reason category")
        verbose_name_plural = _("reason categories")
        ordering = ["code"]

    def __str__(self):
        return str(self.label)

    @property
    def label(self):
        return ReasonCategory(self.code).label


class EventQuerySet(models.QuerySet):
    def public_regardless_of_organisation(self):
        """Published, not embargoed and cited: the event-level half of the public gate."""
        from .source import Citation

        return self.filter(
            Exists(Citation.objects.filter(event=OuterRef("pk"))),
            review_state=ReviewState.PUBLISHED,
            embargoed=False,
        )

    def public(self):
        """Return the events the public may see: public in themselves, of a public organisation.

        Reads the stored `is_public` (see `OrganisationQuerySet.public()`), with the event's
        own state and embargo checked again on the row.
        """
        return self.filter(is_public=True, review_state=ReviewState.PUBLISHED, embargoed=False)

    def public_by_rule(self):
        """The definition `is_public` is stored from."""
        return self.public_regardless_of_organisation().filter(
            organisation__in=Organisation.objects.public_by_rule()
        )

    def chronological(self):
        return self.order_by(models.F("occurred_from").asc(nulls_last=True), "uid")

    def with_reasons_and_citations(self):
        """Prefetch what an event's public telling shows: reasons, citations and sources."""
        from .source import Citation

        return self.prefetch_related(
            "reasons", models.Prefetch("citations", Citation.objects.select_related("source"))
        )

    def key_precision_is(self, precision: str):
        """Events whose timeline date (effective, else announced) has the given precision."""
        return self.filter(
            Q(effective_on__isnull=False, effective_precision=precision)
            | Q(effective_on__isnull=True, announced_precision=precision)
        )

    def closures_by_quarter(self) -> list[dict]:
        """Count closure steps per quarter, relocations abroad apart from the other closures.

        Events dated only to the year have no quarter and are left to the caller to mention.
        """
        relocated = Q(event_type=EventType.RELOCATED)
        return list(
            self.filter(event_type__in=CLOSURE_EVENT_TYPES, occurred_from__isnull=False)
            .exclude(pk__in=self.key_precision_is(DatePrecision.YEAR).values("pk"))
            .annotate(year=ExtractYear("occurred_from"), quarter=ExtractQuarter("occurred_from"))
            .order_by()
            .values("year", "quarter")
            .annotate(
                closed=models.Count("pk", filter=~relocated),
                left=models.Count("pk", filter=relocated),
            )
            .order_by("year", "quarter")
        )

    def destinations(self) -> list[dict]:
        """Count organisations per destination country named by their events."""
        return list(
            self.exclude(destination_country="")
            .order_by()
            .values("destination_country")
            .annotate(organisations=models.Count("organisation", distinct=True))
            .order_by("-organisations", "destination_country")
        )


def date_pair_constraint(field: str):
    return models.CheckConstraint(
        condition=(Q(**{f"{field}_on__isnull": True}) & Q(**{f"{field}_precision": ""}))
        | (
            Q(**{f"{field}_on__isnull": False})
            & Q(**{f"{field}_precision__in": DatePrecision.values})
        ),
        name=f"event_{field}_date_has_precision",
    )


class Event(Reviewable):
    uid = models.SlugField(
        _("ID"),
        max_length=100,
        unique=True,
        help_text=_("Stable public identifier of the event; never changed, never reused."),
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="events",
    )
    event_type = models.CharField(
        _("type of event"),
        max_length=32,
        choices=EventType.choices,
        help_text=_(
            "Closure steps (disbanded … deregistered) set the organisation's status. A "
            "dissolution begun or a notice of intended removal is not a closure: it sets the "
            "status only while no closure step is recorded. Pressure events (police "
            "investigation … official accusation) never change it."
        ),
    )
    announced_on = models.DateField(
        _("announced"),
        null=True,
        blank=True,
        help_text=_("When the event was made public. Stored as the first day of its period."),
    )
    announced_precision = models.CharField(
        _("precision of the announcement date"),
        max_length=8,
        choices=DatePrecision.choices,
        blank=True,
        help_text=_("How much of the announcement date is known: day, month or year."),
    )
    effective_on = models.DateField(
        _("effective"),
        null=True,
        blank=True,
        help_text=_(
            "When the event took effect; may precede the announcement. Stored as the first "
            "day of its period."
        ),
    )
    effective_precision = models.CharField(
        _("precision of the effective date"),
        max_length=8,
        choices=DatePrecision.choices,
        blank=True,
        help_text=_("How much of the effective date is known: day, month or year."),
    )
    occurred_from = models.DateField(
        _("occurred from"),
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text=_(
            "First day the event may have taken effect (effective date, else announcement)."
        ),
    )
    occurred_to = models.DateField(
        _("occurred to"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Last day the event may have taken effect, given the date's precision."),
    )
    destination_country = CountryField(
        _("destination country"),
        countries=DestinationCountries,
        blank=True,
        help_text=_("For relocations: ISO 3166-1 alpha-2 code; ZZ when no source names it."),
    )
    destination_city = models.CharField(_("destination city"), max_length=120, blank=True)
    stated_reason_en = models.TextField(
        _("stated reason (English)"),
        blank=True,
        help_text=_("The reason the organisation or reports gave, paraphrased."),
    )
    stated_reason_zh = models.TextField(_("stated reason (Chinese)"), blank=True)
    reasons = models.ManyToManyField(
        Reason,
        verbose_name=_("reason categories"),
        blank=True,
        related_name="events",
        help_text=_("Categories of the stated reason; an event may have several."),
    )
    public_note = models.TextField(
        _("public note (English)"),
        blank=True,
        help_text=_("For readers: disagreements between sources, how a date was worked out."),
    )
    public_note_zh = models.TextField(
        _("public note (Chinese)"),
        blank=True,
        help_text=_("The public note in Traditional Chinese."),
    )
    confidence = models.CharField(
        _("confidence"),
        max_length=8,
        choices=Confidence.choices,
        default=Confidence.MEDIUM,
        help_text=_(
            "high: the organisation's own announcement, or two independent sources agree; "
            "medium: one reputable report; low: otherwise."
        ),
    )

    is_public = models.BooleanField(
        _("public"),
        default=False,
        editable=False,
        help_text=_(
            "Whether the public sees the event: published, not embargoed, cited, and of a "
            "public organisation. Kept by the registry after every change."
        ),
    )
    # What the last import wrote, per column: see closures/services/import_merge.py. Not
    # content: kept out of the history, the admin forms and every public channel.
    import_baseline = models.JSONField(default=dict, blank=True, editable=False)

    # Whether it is public is derived, not a curator's change.
    history = HistoricalRecords(
        m2m_fields=[reasons], excluded_fields=["import_baseline", "is_public"]
    )
    objects = EventQuerySet.as_manager()

    # Public texts written in both languages; the admin lists the ones given in one only.
    TRANSLATED_FIELDS = [
        ("stated_reason_en", "stated_reason_zh"),
        ("public_note", "public_note_zh"),
    ]
    # What the public sees of an event; the admin says so beside each field.
    PUBLIC_FIELDS = frozenset(
        {
            "uid",
            "event_type",
            "announced_on",
            "announced_precision",
            "effective_on",
            "effective_precision",
            "destination_country",
            "destination_city",
            "stated_reason_en",
            "stated_reason_zh",
            "reasons",
            "public_note",
            "public_note_zh",
            "confidence",
        }
    )

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["organisation", "occurred_from", "uid"]
        constraints = [
            date_pair_constraint("announced"),
            date_pair_constraint("effective"),
            choices_constraint("event_type", EventType, "event_type_valid"),
            choices_constraint("confidence", Confidence, "event_confidence_valid"),
            choices_constraint("review_state", ReviewState, "event_review_state_valid"),
            models.CheckConstraint(
                condition=~Q(event_type=EventType.RELOCATED) | ~Q(destination_country=""),
                name="event_relocation_has_destination",
            ),
        ]

    def __str__(self):
        return f"{self.organisation}: {self.get_event_type_display()}"

    def save(self, *args, **kwargs):
        for field in ("announced", "effective"):
            value, precision = getattr(self, f"{field}_on"), getattr(self, f"{field}_precision")
            if value and precision:
                setattr(self, f"{field}_on", truncate_to_precision(value, precision))
        key_date, key_precision = self.key_date()
        self.occurred_from = key_date
        self.occurred_to = period_end(key_date, key_precision) if key_date else None
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        errors = {}
        for field in ("announced", "effective"):
            value, precision = getattr(self, f"{field}_on"), getattr(self, f"{field}_precision")
            if value and not precision:
                errors[f"{field}_precision"] = _("Say how precise this date is.")
            if precision and not value:
                errors[f"{field}_on"] = _("A precision was given without a date.")
        if self.event_type == EventType.RELOCATED and not self.destination_country:
            errors["destination_country"] = _(
                "A relocation needs a destination; choose 'Unknown' (ZZ) if no source names it."
            )
        if self.destination_city and not self.destination_country:
            errors["destination_country"] = _("A destination city needs its country.")
        if errors:
            raise ValidationError(errors)

    def key_date(self):
        """Return the date that places the event on a timeline: effective, else announced."""
        if self.effective_on:
            return self.effective_on, self.effective_precision
        return self.announced_on, self.announced_precision

    @property
    def is_closure_step(self) -> bool:
        return self.event_type in CLOSURE_STATUS_BY_FINALITY

    def announced_display(self) -> str:
        return format_partial_date(self.announced_on, self.announced_precision)

    def effective_display(self) -> str:
        return format_partial_date(self.effective_on, self.effective_precision)

    def announced_iso(self) -> str:
        return iso_partial_date(self.announced_on, self.announced_precision)

    def effective_iso(self) -> str:
        return iso_partial_date(self.effective_on, self.effective_precision)

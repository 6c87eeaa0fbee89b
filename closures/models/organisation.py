"""Organisations, their aliases, and `OrganisationQuerySet.public()`: the one public gate.

Events and citations are defined after organisations (they point at them), so the queryset
methods that ask about them import them when called.
"""

import datetime as dt

from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .organisation_queries import (  # noqa: F401
    DoubledCharacters,
    EnglishSearchVector,
    OrganisationQuerySet,
    normalise_text,
)
from .reviewable import Reviewable
from .taxonomies import (
    CLOSURE_STATUS_BY_FINALITY,
    CONFIDENCE_THAT_CONFIRMS,
    NON_CLOSURE_STATUS_BY_FINALITY,
    AliasKind,
    Language,
    OrganisationType,
    ReviewState,
    Status,
    choices_constraint,
)


class Organisation(Reviewable):
    slug = models.SlugField(
        _("ID"),
        max_length=100,
        unique=True,
        help_text=_("Stable public identifier; never changed once published, never reused."),
    )
    name_en = models.CharField(_("English name"), max_length=300, blank=True, db_index=True)
    name_zh = models.CharField(
        _("Chinese name"), max_length=300, blank=True, help_text=_("In Traditional Chinese.")
    )
    acronym = models.CharField(_("acronym"), max_length=40, blank=True)
    org_type = models.CharField(
        _("type of organisation"), max_length=32, choices=OrganisationType.choices
    )
    founded_year = models.PositiveSmallIntegerField(
        _("year founded"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1800), MaxValueValidator(2100)],
    )
    description_en = models.TextField(_("description (English)"), blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    website = models.URLField(_("website"), max_length=500, blank=True)
    wikidata_id = models.CharField(
        _("Wikidata ID"),
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^Q[1-9]\d*$", _("A Wikidata ID looks like Q42."))],
        help_text=_("The Wikidata item (Q-number) for the organisation, if there is one."),
    )
    parent_organisation = models.ForeignKey(
        "self",
        verbose_name=_("part of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sub_organisations",
        help_text=_(
            "The organisation this one belonged to (a college union's university union, a "
            "regional office's section); each is counted as an organisation of its own."
        ),
    )
    current_status = models.CharField(
        _("current status"),
        max_length=32,
        choices=Status.choices,
        default=Status.UNKNOWN,
        editable=False,
        db_index=True,
        help_text=_(
            "Derived from all of its events: the latest closure step of high or medium "
            "confidence, else as described for the public status."
        ),
    )
    current_status_unconfirmed = models.BooleanField(
        _("current status unconfirmed"),
        default=False,
        editable=False,
        help_text=_("Set when only low-confidence steps give the current status."),
    )
    public_status = models.CharField(
        _("public status"),
        max_length=32,
        choices=Status.choices,
        default=Status.UNKNOWN,
        editable=False,
        db_index=True,
        help_text=_(
            "Derived from its public events only (an embargoed event never shows through): "
            "the latest closure step of high or medium confidence; without one, the latest "
            "dissolution begun or notice of removal; when only low-confidence steps exist, "
            "the latest of them, and the status is flagged unconfirmed. Pressure events "
            "alone leave it active."
        ),
    )
    public_status_unconfirmed = models.BooleanField(
        _("status unconfirmed"),
        default=False,
        editable=False,
        help_text=_(
            "True when only low-confidence reports give the status: no step of high or "
            "medium confidence supports it."
        ),
    )
    public_latest_event_on = models.DateField(
        _("latest public event"),
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text=_("Date of its most recent public event, for sorting."),
    )
    search_text = models.TextField(
        _("search text"),
        blank=True,
        editable=False,
        help_text=_(
            "Its ID, names, acronym, aliases and the stated reasons of its public events, one "
            "per line: what the public search matches, kept in one indexed column."
        ),
    )
    # Stored, so ranking reads the words rather than parsing every matching text again.
    search_vector = models.GeneratedField(
        expression=EnglishSearchVector("search_text"),
        output_field=SearchVectorField(),
        db_persist=True,
        verbose_name=_("search words"),
    )
    # Each character twice, trigram-indexed: a search for two characters (沙田) uses an index.
    search_text_doubled = models.GeneratedField(
        expression=DoubledCharacters("search_text"),
        output_field=models.TextField(),
        db_persist=True,
        verbose_name=_("search text, characters doubled"),
    )
    first_published_at = models.DateTimeField(
        _("first published"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the record first became visible to the public."),
    )
    public_changed_at = models.DateTimeField(
        _("public view last changed"),
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text=_(
            "When what the public sees of the record last changed: it became visible or "
            "hidden, or its public fields, events, citations or sources changed."
        ),
    )
    public_fingerprint = models.CharField(
        _("fingerprint of the public view"),
        max_length=64,
        blank=True,
        editable=False,
        help_text=_("SHA-256 of the record's public representation; empty when not public."),
    )
    withdrawn_reason = models.TextField(
        _("reason for withdrawal"),
        blank=True,
        help_text=_("Shown at the record's address and in its tombstone only when marked public."),
    )
    withdrawn_reason_zh = models.TextField(
        _("reason for withdrawal (Chinese)"),
        blank=True,
        help_text=_(
            "The same reason in Chinese, for the Chinese page; shown only when the reason is "
            "marked public. Without it the Chinese page gives the English reason."
        ),
    )
    withdrawn_reason_public = models.BooleanField(
        _("withdrawal reason is public"),
        default=False,
        help_text=_(
            "A reviewer marked the reason for withdrawal as fit to publish; otherwise the "
            "record's address and tombstone say only that it is no longer public."
        ),
    )
    is_public = models.BooleanField(
        _("public"),
        default=False,
        editable=False,
        help_text=_(
            "Whether the public sees the record: published, not embargoed, and with a "
            "published, not embargoed, cited event. Kept by the registry after every change."
        ),
    )
    # What the last import wrote, per column: see closures/services/import_merge.py. Not
    # content: kept out of the history, the admin forms and every public channel.
    import_baseline = models.JSONField(default=dict, blank=True, editable=False)

    history = HistoricalRecords(
        excluded_fields=["search_vector", "search_text_doubled", "import_baseline", "is_public"]
    )
    objects = OrganisationQuerySet.as_manager()

    DERIVED_FIELDS = [
        "current_status",
        "current_status_unconfirmed",
        "public_status",
        "public_status_unconfirmed",
        "public_latest_event_on",
        "search_text",
    ]
    # Public texts written in both languages; the admin lists the ones given in one only.
    TRANSLATED_FIELDS = [("name_en", "name_zh"), ("description_en", "description_zh")]
    # What the public sees of a record (pages, API, exports, releases); the admin says so
    # beside each field, and a test holds the API to this list.
    PUBLIC_FIELDS = frozenset(
        {
            "slug",
            "name_en",
            "name_zh",
            "acronym",
            "org_type",
            "founded_year",
            "description_en",
            "description_zh",
            "website",
            "wikidata_id",
            "parent_organisation",
            "public_status",
            "public_status_unconfirmed",
            "withdrawn_reason",
            "withdrawn_reason_zh",
        }
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name_en", "slug"]
        # Deep pages walk an index in order instead of sorting every record: the admin's
        # order (with the key, so the page's keys come from the index alone) and the listing's.
        indexes = [
            models.Index(
                fields=["name_en", "slug"], include=["id"], name="organisation_name_order"
            ),
            models.Index(
                F("public_latest_event_on").desc(),
                F("name_en"),
                F("slug"),
                name="organisation_listing_order",
            ),
        ]
        permissions = [
            ("publish_organisation", _("Can publish or withdraw records")),
            ("embargo_organisation", _("Can set or lift an embargo")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name_en="") | ~Q(name_zh=""), name="organisation_has_a_name"
            ),
            choices_constraint("org_type", OrganisationType, "organisation_type_valid"),
            choices_constraint("current_status", Status, "organisation_status_valid"),
            choices_constraint("public_status", Status, "organisation_public_status_valid"),
            choices_constraint("review_state", ReviewState, "organisation_review_state_valid"),
        ]

    def __str__(self):
        return self.display_name()

    def save(self, *args, **kwargs):
        # Whatever path renames a record, the search finds it by its new name at once. A
        # partial save writes only what its caller set: refresh_organisation, the one partial
        # save, has just rebuilt this text itself.
        if kwargs.get("update_fields") is None:
            self.search_text = self.build_search_text(
                aliases=self.aliases.values_list("name", flat=True) if self.pk else [],
                public_events=(self.events.public_regardless_of_organisation() if self.pk else []),
            )
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("closures:organisation-detail", kwargs={"slug": self.slug})

    def display_name(self, language: str | None = None) -> str:
        chinese_first = (language or get_language() or "en").startswith("zh")
        names = [self.name_zh, self.name_en] if chinese_first else [self.name_en, self.name_zh]
        return next((name for name in names if name), self.slug)

    def clean(self):
        super().clean()
        if not (self.name_en.strip() or self.name_zh.strip()):
            raise ValidationError(_("Give the organisation an English or a Chinese name."))
        if self.pk:
            stored = Organisation.objects.filter(pk=self.pk).values("slug", "first_published_at")
            stored = stored.first()
            if stored and stored["first_published_at"] and stored["slug"] != self.slug:
                raise ValidationError(
                    {"slug": _("A published record's ID is permanent and cannot be changed.")}
                )
        self.clean_parent_organisation()
        if self.review_state == ReviewState.PUBLISHED and not self.has_cited_event():
            raise ValidationError(
                _("A record needs at least one event with a cited source before it is published.")
            )

    def clean_parent_organisation(self) -> None:
        """Refuse a parent that is the record itself or one of its own sub-bodies."""
        seen, parent = {self.pk}, self.parent_organisation
        while parent is not None:
            if parent.pk in seen or parent is self:
                raise ValidationError(
                    {
                        "parent_organisation": _(
                            "An organisation cannot be part of itself or of one of its own "
                            "sub-bodies."
                        )
                    }
                )
            seen.add(parent.pk)
            parent = parent.parent_organisation

    def public_parent(self):
        """The parent organisation when the public may see it, else None."""
        if self.parent_organisation_id is None:
            return None
        return Organisation.objects.public().filter(pk=self.parent_organisation_id).first()

    def public_sub_organisations(self):
        return Organisation.objects.public().filter(parent_organisation=self).order_by("slug")

    def missing_translations(self) -> list[str]:
        """Name each public text given in one language only, the record's and its events'."""
        missing = [
            str(self._meta.get_field(present).verbose_name)
            for present in one_language_fields(self, self.TRANSLATED_FIELDS)
        ]
        for event in self.events.all() if self.pk else []:
            missing += [
                f"{event.uid}: {event._meta.get_field(present).verbose_name}"
                for present in one_language_fields(event, event.TRANSLATED_FIELDS)
            ]
        return missing

    def likely_duplicates(self) -> list["Organisation"]:
        return Organisation.objects.likely_duplicates(
            name_en=self.name_en, name_zh=self.name_zh, acronym=self.acronym, exclude_pk=self.pk
        )

    def public_change_log(self, limit: int = 20):
        """Dated summaries of published changes, newest first; see `closures.changelog`."""
        from ..changelog import public_change_log

        return public_change_log(self, limit)

    def has_cited_event(self) -> bool:
        from .source import Citation

        return bool(self.pk) and Citation.objects.filter(event__organisation=self).exists()

    def refresh_derived_fields(self) -> None:
        """Recompute status and latest date from the events, curator and public views apart."""
        events = list(self.events.exclude(review_state=ReviewState.WITHDRAWN))
        public_events = list(self.events.public_regardless_of_organisation())
        self.current_status, self.current_status_unconfirmed = status_from_events(events)
        self.public_status, self.public_status_unconfirmed = status_from_events(public_events)
        dates = [event.occurred_from for event in public_events if event.occurred_from]
        self.public_latest_event_on = max(dates, default=None)
        self.search_text = self.build_search_text(
            aliases=self.aliases.values_list("name", flat=True), public_events=public_events
        )

    def build_search_text(self, *, aliases, public_events) -> str:
        reasons = [
            reason
            for event in public_events
            for reason in (event.stated_reason_en, event.stated_reason_zh)
        ]
        parts = [self.slug, self.name_en, self.name_zh, self.acronym, *aliases, *reasons]
        return "\n".join(part for part in parts if part)


def status_from_events(events) -> tuple[str, bool]:
    """Return the status the events give, and whether it is unconfirmed.

    With no event the status is unknown; with pressure events alone the organisation is
    active; otherwise the step `status_step` picks sets it.
    """
    if not events:
        return Status.UNKNOWN, False
    step, unconfirmed = status_step(events)
    if step is None:
        return Status.ACTIVE, False
    statuses = {**CLOSURE_STATUS_BY_FINALITY, **NON_CLOSURE_STATUS_BY_FINALITY}
    return statuses[step.event_type], unconfirmed


def status_step(events) -> tuple[object | None, bool]:
    """Return the event that sets the status, and whether it is unconfirmed.

    Confidence comes first: the latest closure step of high or medium confidence; without
    one, the latest such step that is not a closure (a dissolution begun, a notice of
    removal); a low-confidence report never outranks either. Only when every step is of low
    confidence does the latest set the status (closure steps first), marked unconfirmed.
    The record page's lede tells the story from this same event, so the two never disagree.
    """
    for confirmed in (True, False):
        for statuses in (CLOSURE_STATUS_BY_FINALITY, NON_CLOSURE_STATUS_BY_FINALITY):
            steps = [
                event
                for event in events
                if event.event_type in statuses
                and (event.confidence in CONFIDENCE_THAT_CONFIRMS) == confirmed
            ]
            if not steps:
                continue
            finality = list(statuses)
            latest = max(
                steps,
                # An undated step sorts before every dated one; on one date the more final wins.
                key=lambda event: (
                    event.occurred_from or dt.date.min,
                    finality.index(event.event_type),
                ),
            )
            return latest, not confirmed
    return None, False


def derive_status(events) -> str:
    """Return the status the events give (see `status_from_events`)."""
    return status_from_events(events)[0]


def one_language_only(pairs) -> Q:
    """Rows where, for one of the (English, Chinese) field pairs, only one text is given."""
    condition = Q(pk__in=[])
    for english, chinese in pairs:
        condition |= (Q(**{english: ""}) & ~Q(**{chinese: ""})) | (
            ~Q(**{english: ""}) & Q(**{chinese: ""})
        )
    return condition


def one_language_fields(record, pairs) -> list[str]:
    """The fields of `record` whose text has no counterpart in the other language."""
    return [
        english if getattr(record, english) else chinese
        for english, chinese in pairs
        if bool(getattr(record, english)) != bool(getattr(record, chinese))
    ]


class Alias(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(_("name"), max_length=300, db_index=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    kind = models.CharField(
        _("kind"), max_length=16, choices=AliasKind.choices, default=AliasKind.ALIAS
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("alias or former name")
        verbose_name_plural = _("aliases and former names")
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="alias_unique_per_org"),
            choices_constraint("language", Language, "alias_language_valid"),
            choices_constraint("kind", AliasKind, "alias_kind_valid"),
        ]

    def __str__(self):
        return self.name

"""Other trackers' lists of closed groups, kept as data beside the registry's own records.

A tracker is a published list (a news tally, an NGO report); each of its entries is one group
as that tracker lists it. An entry is matched to the registry's organisation when a curator
(or the tracker file) says it is the same group. Whether the public may see that match is
decided by `Organisation.objects.public()` like everything else: an entry matched to a record
the public cannot see counts as "not yet in this registry".
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from ..dates import DatePrecision, format_partial_date, iso_partial_date
from ..duplicates import normalise_name
from .organisation import Organisation
from .taxonomies import choices_constraint


class Completeness(models.TextChoices):
    FULL = "full", _("read in full")
    PARTIAL = "partial", _("read in part")
    AGGREGATE_ONLY = "aggregate-only", _("a total only")


class ClaimQualifier(models.TextChoices):
    """How a tracker words its count: "49" (at least or exactly), "100+", "~100"."""

    AT_LEAST = "at_least", _("at least")
    MORE_THAN = "more_than", _("more than")
    NEARLY = "nearly", _("nearly")


CLAIM_FORMATS = {
    ClaimQualifier.AT_LEAST: "{}",
    ClaimQualifier.MORE_THAN: "{}+",
    ClaimQualifier.NEARLY: "~{}",
}


class EntryDecision(models.TextChoices):
    PROPOSED = "proposed", _("match proposed, not yet confirmed")
    MATCHED = "matched", _("matched")
    NOT_IN_REGISTRY = "not_in_registry", _("not yet in this registry")
    OUT_OF_SCOPE = "out_of_scope", _("out of scope")


class DecisionSource(models.TextChoices):
    TRACKER_FILE = "tracker_file", _("the tracker file's registry ID")
    NAME_MATCH = "name_match", _("name matching at import")
    CURATOR = "curator", _("a curator")


class PublicEntryStatus(models.TextChoices):
    """What the public is told about an entry; never more than the public gate allows."""

    IN_REGISTRY = "in_registry", _("in this registry")
    NOT_IN_REGISTRY = "not_in_registry", _("not yet in this registry")
    OUT_OF_SCOPE = "out_of_scope", _("out of scope")


class Tracker(models.Model):
    slug = models.SlugField(
        _("ID"),
        max_length=100,
        unique=True,
        help_text=_("The tracker's identifier in the tracker files, e.g. standnews-2021-49."),
    )
    title = models.CharField(_("title"), max_length=500, help_text=_("As the tracker titles it."))
    publisher = models.CharField(
        _("publisher"),
        max_length=500,
        help_text=_("Who published the list, and where it was read if not at the original."),
    )
    url = models.URLField(_("address"), max_length=1000)
    published_on = models.DateField(
        _("published"),
        null=True,
        blank=True,
        help_text=_("The first day of the period when only the month or year is known."),
    )
    published_precision = models.CharField(
        _("precision of the publication date"),
        max_length=8,
        choices=DatePrecision.choices,
        blank=True,
    )
    claimed_count = models.PositiveIntegerField(
        _("claimed count"),
        null=True,
        blank=True,
        help_text=_(
            "How many groups the tracker says closed, as it states it; empty when it states "
            "no number."
        ),
    )
    claimed_qualifier = models.CharField(
        _("count is"),
        max_length=16,
        choices=ClaimQualifier.choices,
        blank=True,
        help_text=_("Whether the tracker says at least, more than or nearly that number."),
    )
    scope = models.TextField(
        _("scope"), blank=True, help_text=_("Which groups and which period the tracker covers.")
    )
    completeness = models.CharField(
        _("how much could be read"),
        max_length=16,
        choices=Completeness.choices,
        help_text=_(
            "Whether the tracker's list could be read in full, only in part, or whether it "
            "gives only a total."
        ),
    )

    class Meta:
        verbose_name = _("tracker")
        verbose_name_plural = _("trackers")
        ordering = ["published_on", "slug"]
        constraints = [
            choices_constraint("completeness", Completeness, "tracker_completeness_valid"),
            choices_constraint(
                "claimed_qualifier", ClaimQualifier, "tracker_claimed_qualifier_valid", blank=True
            ),
            choices_constraint(
                "published_precision", DatePrecision, "tracker_published_precision_valid", True
            ),
            models.CheckConstraint(
                condition=Q(claimed_count__isnull=True, claimed_qualifier="")
                | Q(claimed_count__isnull=False) & ~Q(claimed_qualifier=""),
                name="tracker_claim_has_qualifier",
            ),
            models.CheckConstraint(
                condition=Q(published_on__isnull=True, published_precision="")
                | Q(published_on__isnull=False) & ~Q(published_precision=""),
                name="tracker_published_on_has_precision",
            ),
        ]

    def __str__(self):
        return self.short_label

    @property
    def publisher_name(self) -> str:
        """The publisher without the note on where its list was read: "Stand News 立場新聞"."""
        return re.split(r" \(|;|, ", self.publisher, maxsplit=1)[0].strip()

    @property
    def published_display(self) -> str:
        return format_partial_date(self.published_on, self.published_precision)

    @property
    def published_iso(self) -> str:
        return iso_partial_date(self.published_on, self.published_precision)

    @property
    def short_label(self) -> str:
        """ "Stand News 立場新聞, 15 Sep 2021": enough to tell two lists of one publisher apart."""
        date = self.published_display
        return f"{self.publisher_name}, {date}" if date else self.publisher_name

    @property
    def claimed_display(self) -> str:
        if self.claimed_count is None:
            return ""
        return CLAIM_FORMATS[self.claimed_qualifier].format(self.claimed_count)


class TrackerEntryQuerySet(models.QuerySet):
    def with_public_match(self):
        """Annotate `public_match`: matched by a curator or the file to a public record.

        The only way an entry counts as being in this registry: a proposal, or a match to a
        draft, embargoed or withdrawn record, counts as not yet in it.
        """
        public = Organisation.objects.public().filter(pk=OuterRef("organisation_id"))
        return self.annotate(
            public_match=Exists(public) & Q(decision=EntryDecision.MATCHED),
        )

    def lacking(self):
        """Entries a curator may still need to add: neither matched nor out of scope."""
        return self.filter(decision__in=[EntryDecision.NOT_IN_REGISTRY, EntryDecision.PROPOSED])

    def with_listed_by(self):
        """Annotate `listed_by`: how many trackers list an entry's name among those lacking."""
        same_name = (
            TrackerEntry.objects.lacking()
            .filter(name_key=OuterRef("name_key"))
            .order_by()
            .values("name_key")
            .annotate(trackers=Count("tracker", distinct=True))
            .values("trackers")
        )
        return self.annotate(listed_by=Coalesce(Subquery(same_name), 0))

    def publicly_lacking(self):
        """Entries the public is told are not yet in this registry."""
        return (
            self.with_public_match()
            .filter(public_match=False)
            .exclude(decision=EntryDecision.OUT_OF_SCOPE)
        )


class TrackerEntry(models.Model):
    tracker = models.ForeignKey(
        Tracker, verbose_name=_("tracker"), on_delete=models.CASCADE, related_name="entries"
    )
    position = models.CharField(
        _("position"),
        max_length=16,
        help_text=_("The entry's number or place in the tracker's list, as the tracker gives it."),
    )
    sequence = models.PositiveIntegerField(
        _("order in the tracker"), default=0, help_text=_("For listing entries in list order.")
    )
    name_as_listed = models.CharField(
        _("name as listed"),
        max_length=500,
        help_text=_("The name exactly as the tracker gives it."),
    )
    name_en = models.CharField(
        _("English name"),
        max_length=300,
        blank=True,
        help_text=_("From the tracker, or the registry's name for a matched entry."),
    )
    name_zh = models.CharField(
        _("Chinese name"),
        max_length=300,
        blank=True,
        help_text=_("In Traditional Chinese, from the tracker or the registry."),
    )
    date_as_listed = models.CharField(
        _("date as listed"),
        max_length=300,
        blank=True,
        help_text=_("The date in the tracker's own words, e.g. 1989 - 2021.9.25."),
    )
    category_as_listed = models.TextField(
        _("category as listed"),
        blank=True,
        help_text=_("The tracker's category, or its short description of the group."),
    )
    listed_organisation_slug = models.SlugField(
        _("registry ID given by the tracker file"),
        max_length=100,
        blank=True,
        help_text=_(
            "The registry ID the tracker file names as the same organisation; taken as a "
            "confirmed match once a record with that ID exists."
        ),
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("matched organisation"),
        null=True,
        blank=True,
        # An entry is evidence about a record: re-match or reject it before deleting the record.
        on_delete=models.PROTECT,
        related_name="tracker_entries",
    )
    decision = models.CharField(
        _("decision"),
        max_length=16,
        choices=EntryDecision.choices,
        default=EntryDecision.NOT_IN_REGISTRY,
        db_index=True,
        help_text=_(
            "Matched (same organisation as a registry record), not yet in this registry, or "
            "out of scope. A proposed match awaits a curator and counts as not yet in this "
            "registry."
        ),
    )
    decided_by_source = models.CharField(
        _("decided by"),
        max_length=16,
        choices=DecisionSource.choices,
        default=DecisionSource.NAME_MATCH,
        help_text=_("A curator's decision is never changed by a later import."),
    )
    out_of_scope_reason = models.CharField(
        _("reason it is out of scope"),
        max_length=300,
        blank=True,
        help_text=_("Shown publicly, e.g. still operating, or not a civil-society body."),
    )
    curator_note = models.TextField(
        _("curator note"), blank=True, help_text=_("Never shown publicly.")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("curator"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)
    name_key = models.CharField(
        _("name key"),
        max_length=300,
        editable=False,
        db_index=True,
        help_text=_(
            "The entry's Chinese (else English) name folded for comparison, so different "
            "trackers' entries for one group are counted together."
        ),
    )

    objects = TrackerEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("tracker entry")
        verbose_name_plural = _("tracker entries")
        ordering = ["tracker", "sequence", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["tracker", "position"], name="tracker_entry_position_unique"
            ),
            choices_constraint("decision", EntryDecision, "tracker_entry_decision_valid"),
            choices_constraint(
                "decided_by_source", DecisionSource, "tracker_entry_decision_source_valid"
            ),
            models.CheckConstraint(
                condition=~Q(decision__in=[EntryDecision.MATCHED, EntryDecision.PROPOSED])
                | Q(organisation__isnull=False),
                name="tracker_entry_match_names_organisation",
            ),
            models.CheckConstraint(
                condition=Q(decision__in=[EntryDecision.MATCHED, EntryDecision.PROPOSED])
                | Q(organisation__isnull=True),
                name="tracker_entry_only_a_match_names_organisation",
            ),
            models.CheckConstraint(
                condition=~Q(decision=EntryDecision.OUT_OF_SCOPE) | ~Q(out_of_scope_reason=""),
                name="tracker_entry_out_of_scope_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.tracker.slug} no. {self.position}: {self.name_as_listed}"

    def save(self, *args, **kwargs):
        self.name_key = entry_name_key(self.name_zh, self.name_en, self.name_as_listed)
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        matched = self.decision in (EntryDecision.MATCHED, EntryDecision.PROPOSED)
        if matched and self.organisation_id is None:
            raise ValidationError({"organisation": _("Choose the organisation it matches.")})
        if not matched and self.organisation_id is not None:
            raise ValidationError(
                {"organisation": _("Only a matched or proposed entry names an organisation.")}
            )
        if self.decision == EntryDecision.OUT_OF_SCOPE and not self.out_of_scope_reason.strip():
            raise ValidationError(
                {"out_of_scope_reason": _("Say why it is out of scope; the public sees this.")}
            )

    @property
    def display_name(self) -> str:
        return self.name_as_listed.strip("《》「」 ") or self.name_zh or self.name_en


def entry_name_key(name_zh: str, name_en: str, name_as_listed: str) -> str:
    """One folded name per group, Chinese first since most trackers list in Chinese."""
    for name in (name_zh, name_en, name_as_listed):
        if key := normalise_name(name):
            return key[:300]
    return ""

"""The registry's records: organisations, what happened to them (events) and the evidence.

The unit the public counts is the organisation. Its timeline is a list of typed, dated events,
and every event rests on sources through citations. Whether anything may be shown publicly is
decided in exactly one place, `OrganisationQuerySet.public()` (and the event and source
querysets that build on it): every public channel starts there.
"""

import datetime as dt
import difflib
import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import connections, models
from django.db.models import Exists, F, Func, OuterRef, Q
from django.db.models.functions import ExtractQuarter, ExtractYear, Greatest, Now
from django.urls import reverse
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import Countries
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from .dates import (
    DatePrecision,
    format_partial_date,
    iso_partial_date,
    period_end,
    truncate_to_precision,
)

# --- Taxonomies -------------------------------------------------------------------------


class OrganisationType(models.TextChoices):
    NGO = "ngo", _("NGO")
    UNION = "union", _("trade union")
    PROFESSIONAL_BODY = "professional_body", _("professional body")
    MEDIA = "media", _("media outlet")
    POLITICAL_PARTY = "political_party", _("political party")
    POLITICAL_GROUP = "political_group", _("political group")
    STUDENT_UNION = "student_union", _("student union")
    RELIGIOUS = "religious", _("religious body")
    INTERNATIONAL_NGO = "international_ngo", _("international NGO office")
    FUND = "fund", _("relief fund")
    OTHER = "other", _("other")


class Status(models.TextChoices):
    ACTIVE = "active", _("active")
    DISBANDED = "disbanded", _("disbanded")
    CEASED_OPERATIONS = "ceased_operations", _("ceased operations")
    SUSPENDED = "suspended", _("suspended")
    RELOCATED = "relocated", _("relocated abroad")
    OFFICE_CLOSED = "office_closed", _("office closed")
    LIQUIDATED = "liquidated", _("liquidated")
    DEREGISTERED = "deregistered", _("deregistered")
    UNKNOWN = "unknown", _("unknown")


class EventType(models.TextChoices):
    # Closure steps: what happened to the organisation itself.
    DISBANDED = "disbanded", _("disbanded")
    CEASED_OPERATIONS = "ceased_operations", _("ceased operations")
    SUSPENDED = "suspended", _("suspended")
    OFFICE_CLOSED = "office_closed", _("office closed")
    RELOCATED = "relocated", _("relocated abroad")
    LIQUIDATED = "liquidated", _("liquidated")
    DEREGISTERED = "deregistered", _("deregistered / struck off")
    # Pressure events: what was done to it or its people.
    POLICE_INVESTIGATION = "police_investigation", _("police investigation")
    RAID = "raid", _("raid")
    ARREST_OF_LEADERS = "arrest_of_leaders", _("arrest of leaders")
    ASSET_FREEZE = "asset_freeze", _("asset freeze")
    PROSECUTION = "prosecution", _("prosecution")
    OFFICIAL_ACCUSATION = "official_accusation", _("official accusation")


# Each closure step sets the organisation's status. When two steps fall on the same date the
# more final one wins, so an organisation struck off the day it disbanded reads "deregistered".
CLOSURE_STATUS_BY_FINALITY = {
    EventType.SUSPENDED: Status.SUSPENDED,
    EventType.RELOCATED: Status.RELOCATED,
    EventType.OFFICE_CLOSED: Status.OFFICE_CLOSED,
    EventType.CEASED_OPERATIONS: Status.CEASED_OPERATIONS,
    EventType.DISBANDED: Status.DISBANDED,
    EventType.LIQUIDATED: Status.LIQUIDATED,
    EventType.DEREGISTERED: Status.DEREGISTERED,
}
CLOSURE_EVENT_TYPES = tuple(CLOSURE_STATUS_BY_FINALITY)


class ReasonCategory(models.TextChoices):
    NSL_PRESSURE = "nsl_pressure", _("National Security Law pressure")
    ARRESTS_OF_LEADERS = "arrests_of_leaders", _("arrests of leaders")
    POLICE_INVESTIGATION = "police_investigation", _("police investigation")
    ASSET_FREEZE = "asset_freeze", _("asset freeze")
    GOVERNMENT_CRITICISM = "government_criticism", _("criticism by officials or state media")
    FINANCIAL = "financial", _("financial")
    SAFETY_OF_STAFF = "safety_of_staff", _("safety of staff or members")
    LEGAL_RISK = "legal_risk", _("legal risk")
    OTHER = "other", _("other")


class Confidence(models.TextChoices):
    HIGH = "high", _("high")
    MEDIUM = "medium", _("medium")
    LOW = "low", _("low")


class SourceType(models.TextChoices):
    OWN_STATEMENT = "own_statement", _("the organisation's own statement")
    NEWS_REPORT = "news_report", _("news report")
    NGO_REPORT = "ngo_report", _("NGO report")
    GOVERNMENT_STATEMENT = "government_statement", _("government statement")
    COURT_RECORD = "court_record", _("court record")
    REFERENCE_WORK = "reference_work", _("encyclopaedia or reference work")
    OTHER = "other", _("other")


class Claim(models.TextChoices):
    EVENT = "event", _("that the event happened")
    DATE = "date", _("the date")
    REASON = "reason", _("the stated reason")
    DESTINATION = "destination", _("the destination")


class ReviewState(models.TextChoices):
    DRAFT = "draft", _("draft")
    IN_REVIEW = "in_review", _("in review")
    PUBLISHED = "published", _("published")
    WITHDRAWN = "withdrawn", _("withdrawn")


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    CHINESE_TRADITIONAL = "zh-hant", _("Chinese (Traditional)")
    CHINESE_SIMPLIFIED = "zh-hans", _("Chinese (Simplified)")
    OTHER = "other", _("other")


# ISO 3166-1 reserves ZZ for "unknown or unspecified"; a relocation whose destination no source
# names records it rather than leaving the field blank.
UNKNOWN_COUNTRY = "ZZ"


class DestinationCountries(Countries):
    override = {UNKNOWN_COUNTRY: _("unknown (no source names it)")}


def choices_constraint(field: str, choices: type[models.TextChoices], name: str, blank=False):
    allowed = list(choices.values) + ([""] if blank else [])
    return models.CheckConstraint(condition=Q(**{f"{field}__in": allowed}), name=name)


# --- Visibility -------------------------------------------------------------------------


class Reviewable(models.Model):
    """Review state and embargo, shared by organisations and events."""

    review_state = models.CharField(
        _("review state"),
        max_length=16,
        choices=ReviewState.choices,
        default=ReviewState.DRAFT,
        db_index=True,
        help_text=_("Only published records can appear publicly."),
    )
    embargoed = models.BooleanField(
        _("embargoed"),
        default=False,
        db_index=True,
        help_text=_(
            "An embargoed record never appears in any public channel, even when published."
        ),
    )
    embargo_reason = models.TextField(_("embargo reason"), blank=True)
    embargo_review_on = models.DateField(
        _("review embargo on"),
        null=True,
        blank=True,
        help_text=_("When reviewers should reconsider the embargo."),
    )
    notes = models.TextField(
        _("notes"),
        blank=True,
        help_text=_("Context: disagreements between sources, how a date was worked out."),
    )
    notes_sensitive = models.BooleanField(
        _("notes are sensitive"),
        default=False,
        help_text=_("Sensitive notes (e.g. naming individuals) are never shown publicly."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        if self.embargoed and not self.embargo_reason.strip():
            raise ValidationError({"embargo_reason": _("Give the reason for the embargo.")})

    @property
    def public_notes(self) -> str:
        return "" if self.notes_sensitive else self.notes


# --- Organisations ----------------------------------------------------------------------


DUPLICATE_NAME_SIMILARITY = 0.9


def normalise_name(name: str) -> str:
    """Fold case, full-width forms and punctuation so trivially different names compare equal."""
    folded = unicodedata.normalize("NFKC", name or "").casefold()
    return re.sub(r"[\W_]+", "", folded)


def _trigrams(name: str) -> set[str]:
    return {name[start : start + 3] for start in range(max(len(name) - 2, 1))}


def _similar(mine: str, theirs: str) -> bool:
    if mine == theirs:
        return True
    # The best ratio two strings can reach is bounded by their lengths; checking that first
    # skips building a matcher for nearly every pair.
    if 2 * min(len(mine), len(theirs)) < DUPLICATE_NAME_SIMILARITY * (len(mine) + len(theirs)):
        return False
    matcher = difflib.SequenceMatcher(None, mine, theirs)
    return (
        matcher.real_quick_ratio() >= DUPLICATE_NAME_SIMILARITY
        and matcher.ratio() >= DUPLICATE_NAME_SIMILARITY
    )


@dataclass(frozen=True)
class ChangeLogEntry:
    """One published change, worded for the public: no curator names, no reasons."""

    changed_at: dt.datetime
    summary: str


# Fields whose changes the public change log never mentions: workflow bookkeeping and
# anything a curator may mark sensitive. Derived fields (not editable) are left out as well.
CHANGE_LOG_HIDDEN_FIELDS = frozenset(
    {
        "review_state",
        "embargoed",
        "embargo_reason",
        "embargo_review_on",
        "notes",
        "notes_sensitive",
        "withdrawn_reason",
    }
)


def _public_versions(versions):
    """Yield (version, previous version) for each version that was public when it was made.

    `versions` are one record's historical versions, oldest first.
    """
    previous = None
    for version in versions:
        if version.review_state == ReviewState.PUBLISHED and not version.embargoed:
            yield version, previous
        previous = version


def _changed_field_labels(model, version, previous) -> list[str]:
    # Many-to-many changes would cost a query per version: the log names field changes only.
    many_to_many = [field.name for field in model._meta.many_to_many]
    delta = version.diff_against(
        previous, excluded_fields=[*CHANGE_LOG_HIDDEN_FIELDS, *many_to_many]
    )
    fields = [model._meta.get_field(name) for name in delta.changed_fields]
    return [str(field.verbose_name) for field in fields if field.editable]


class DuplicateFinder:
    """The normalised names of a set of organisations, built once and asked many times.

    Names are compared after folding case, width, punctuation and spacing, then by difflib's
    ratio, so "H.K. Alliance" and "HK  Alliance" count as the same name. A trigram index picks
    the few names worth a ratio, so a lookup stays cheap on a registry of thousands; the
    comparison runs in Python so it behaves the same on SQLite and PostgreSQL.
    """

    def __init__(self, organisations):
        self.organisations: list[Organisation] = []
        self.by_name: dict[str, set[int]] = defaultdict(set)
        self.by_acronym: dict[str, set[int]] = defaultdict(set)
        self.by_trigram: dict[str, set[str]] = defaultdict(set)
        for index, organisation in enumerate(organisations.prefetch_related("aliases")):
            self.organisations.append(organisation)
            names = {organisation.name_en, organisation.name_zh}
            names.update(alias.name for alias in organisation.aliases.all())
            for name in {normalise_name(name) for name in names} - {""}:
                self.by_name[name].add(index)
                for trigram in _trigrams(name):
                    self.by_trigram[trigram].add(name)
            if acronym := normalise_name(organisation.acronym):
                self.by_acronym[acronym].add(index)

    def find(self, *, name_en="", name_zh="", acronym="", exclude_pk=None) -> list:
        wanted = {normalise_name(name_en), normalise_name(name_zh)} - {""}
        acronym = normalise_name(acronym)
        found: set[int] = set()
        if acronym:
            found |= self.by_acronym.get(acronym, set()) | self.by_name.get(acronym, set())
        for name in wanted:
            found |= self.by_acronym.get(name, set())
            trigrams = _trigrams(name)
            shared = Counter(
                other for trigram in trigrams for other in self.by_trigram.get(trigram, ())
            )
            for other, count in shared.items():
                if count >= len(trigrams) / 2 and _similar(name, other):
                    found |= self.by_name[other]
            found |= self.by_name.get(name, set())
        matches = [self.organisations[index] for index in sorted(found)]
        return [organisation for organisation in matches if organisation.pk != exclude_pk]


class OrganisationQuerySet(models.QuerySet):
    def public(self):
        """Return what the public may see: published, not embargoed, with a cited event.

        Every public channel (pages, search, counts, charts, feeds, API, exports, releases)
        starts from this queryset.
        """
        cited_public_event = Citation.objects.filter(
            event__organisation=OuterRef("pk"),
            event__review_state=ReviewState.PUBLISHED,
            event__embargoed=False,
        )
        return self.filter(
            Exists(cited_public_event), review_state=ReviewState.PUBLISHED, embargoed=False
        )

    def no_longer_public(self):
        """Records the public once saw and no longer does: what a synced copy must drop."""
        return self.filter(first_published_at__isnull=False).exclude(pk__in=self.public())

    def withdrawn_publicly(self):
        """Withdrawn records whose withdrawal may be announced: once public, not embargoed."""
        return self.filter(
            review_state=ReviewState.WITHDRAWN, embargoed=False, first_published_at__isnull=False
        )

    def changed_since(self, moment):
        """Records changed at or after `moment`, themselves or through one of their events."""
        changed_event = Event.objects.filter(organisation=OuterRef("pk"), updated_at__gte=moment)
        return self.filter(Q(updated_at__gte=moment) | Exists(changed_event))

    def likely_duplicates(self, *, name_en="", name_zh="", acronym="", exclude_pk=None) -> list:
        """Return organisations whose name, acronym or alias matches or nearly matches."""
        return DuplicateFinder(self).find(
            name_en=name_en, name_zh=name_zh, acronym=acronym, exclude_pk=exclude_pk
        )

    def for_listing(self):
        return self.order_by("-public_latest_event_on", "name_en", "slug")

    def figures_by_type(self) -> list[dict]:
        """Return per type how many organisations are recorded and how many closed or left.

        One aggregate query for the overview's headline figures; the totals are their sums.
        """
        closed_or_left = Q(public_status__in=set(CLOSURE_STATUS_BY_FINALITY.values()))
        return list(
            self.order_by()
            .values("org_type")
            .annotate(
                recorded=models.Count("pk"),
                closed_or_left=models.Count("pk", filter=closed_or_left),
            )
            .order_by("-recorded", "org_type")
        )

    def latest_additions(self):
        return self.order_by(F("first_published_at").desc(nulls_last=True), "-created_at", "-pk")

    def search(self, text: str):
        """Match names in either language, aliases, acronyms, IDs and public stated reasons.

        Every database matches substrings of `search_text`, so Chinese such as 職工會 is found
        inside 香港職工會聯盟. PostgreSQL also matches English words whatever their form and
        order ("teachers union" finds "Professional Teachers' Union") and puts the most
        relevant first; both conditions are answered from GIN indexes.
        """
        text = text.strip()
        if not text:
            return self
        substring = Q(search_text__icontains=text)
        if connections[self.db].vendor != "postgresql":
            return self.filter(substring)
        query = SearchQuery(text, config="english", search_type="websearch")
        return (
            self.filter(substring | Q(search_vector=query))
            .annotate(search_rank=SearchRank(F("search_vector"), query))
            .order_by("-search_rank", "name_en", "slug")
        )


@deconstructible(path="closures.models.EnglishSearchVector")
class EnglishSearchVector(Func):
    """`to_tsvector('english', column)` on PostgreSQL; SQLite, which has none, keeps the text."""

    function = "to_tsvector"
    template = "%(function)s('english'::regconfig, %(expressions)s)"
    output_field = SearchVectorField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])


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
    current_status = models.CharField(
        _("current status"),
        max_length=32,
        choices=Status.choices,
        default=Status.UNKNOWN,
        editable=False,
        db_index=True,
        help_text=_("Derived from the latest closure step among all of its events."),
    )
    public_status = models.CharField(
        _("public status"),
        max_length=32,
        choices=Status.choices,
        default=Status.UNKNOWN,
        editable=False,
        db_index=True,
        help_text=_(
            "Derived from the latest closure step among its public events only, so an "
            "embargoed event never shows through the status."
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
    first_published_at = models.DateTimeField(
        _("first published"), null=True, blank=True, editable=False
    )
    withdrawn_reason = models.TextField(
        _("reason for withdrawal"),
        blank=True,
        help_text=_("Shown publicly at the record's address once it is withdrawn."),
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted for review by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    history = HistoricalRecords(excluded_fields=["search_vector"])
    objects = OrganisationQuerySet.as_manager()

    DERIVED_FIELDS = ["current_status", "public_status", "public_latest_event_on", "search_text"]

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name_en", "slug"]
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
        if self.review_state == ReviewState.PUBLISHED and not self.has_cited_event():
            raise ValidationError(
                _("A record needs at least one event with a cited source before it is published.")
            )

    def likely_duplicates(self) -> list["Organisation"]:
        return Organisation.objects.likely_duplicates(
            name_en=self.name_en, name_zh=self.name_zh, acronym=self.acronym, exclude_pk=self.pk
        )

    def public_change_log(self, limit: int = 20) -> list[ChangeLogEntry]:
        """Dated summaries of published changes to the record and its public events.

        Only versions made while the record (or event) was published and not embargoed count,
        and only events that are public now, so nothing embargoed or unpublished shows through.
        """
        entries = []
        own_versions = self.history.order_by("history_date", "history_id")
        for version, previous in _public_versions(own_versions):
            if previous is None or previous.review_state != ReviewState.PUBLISHED:
                summary = str(_("Record published"))
            elif previous.embargoed:
                continue
            else:
                labels = _changed_field_labels(Organisation, version, previous)
                if not labels:
                    continue
                summary = str(_("Updated: %s")) % ", ".join(labels)
            entries.append(ChangeLogEntry(version.history_date, summary))
        # Every public event's history in one query, so the page's cost does not grow with them.
        events = {event.pk: event for event in self.events.public_regardless_of_organisation()}
        event_versions = defaultdict(list)
        for version in Event.history.filter(id__in=events).order_by("history_date", "history_id"):
            event_versions[version.id].append(version)
        for event_id, versions in event_versions.items():
            kind = events[event_id].get_event_type_display()
            for version, previous in _public_versions(versions):
                if previous is None or previous.review_state != ReviewState.PUBLISHED:
                    summary = str(_("Event added: %s")) % kind
                elif previous.embargoed:
                    summary = str(_("Event added: %s")) % kind
                else:
                    labels = _changed_field_labels(Event, version, previous)
                    if not labels:
                        continue
                    summary = str(_("Event updated (%(event)s): %(fields)s")) % {
                        "event": kind,
                        "fields": ", ".join(labels),
                    }
                entries.append(ChangeLogEntry(version.history_date, summary))
        entries.sort(key=lambda entry: entry.changed_at, reverse=True)
        return entries[:limit]

    def public_last_updated(self) -> dt.datetime | None:
        log = self.public_change_log(limit=1)
        return log[0].changed_at if log else None

    def has_cited_event(self) -> bool:
        return bool(self.pk) and Citation.objects.filter(event__organisation=self).exists()

    def refresh_derived_fields(self) -> None:
        """Recompute status and latest date from the events, curator and public views apart."""
        events = list(self.events.exclude(review_state=ReviewState.WITHDRAWN))
        public_events = list(self.events.public_regardless_of_organisation())
        self.current_status = derive_status(events)
        self.public_status = derive_status(public_events)
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


def derive_status(events) -> str:
    """Return the status set by the latest closure step; pressure events leave it active."""
    if not events:
        return Status.UNKNOWN
    finality = list(CLOSURE_STATUS_BY_FINALITY)
    closure_steps = [event for event in events if event.event_type in CLOSURE_STATUS_BY_FINALITY]
    if not closure_steps:
        return Status.ACTIVE
    latest = max(
        closure_steps,
        # An undated closure step sorts before every dated one.
        key=lambda event: (event.occurred_from or dt.date.min, finality.index(event.event_type)),
    )
    return CLOSURE_STATUS_BY_FINALITY[latest.event_type]


class AliasKind(models.TextChoices):
    ALIAS = "alias", _("alias")
    FORMER_NAME = "former_name", _("former name")
    OTHER_FORM = "other_form", _("name as given by a source")


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


# --- Events -----------------------------------------------------------------------------


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
        return self.filter(
            Exists(Citation.objects.filter(event=OuterRef("pk"))),
            review_state=ReviewState.PUBLISHED,
            embargoed=False,
        )

    def public(self):
        """Return the events the public may see: public in themselves, of a public organisation."""
        return self.public_regardless_of_organisation().filter(
            organisation__in=Organisation.objects.public()
        )

    def chronological(self):
        return self.order_by(models.F("occurred_from").asc(nulls_last=True), "uid")

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
            "Closure steps (disbanded … deregistered) change the organisation's status; "
            "pressure events (police investigation … official accusation) do not."
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

    history = HistoricalRecords(m2m_fields=[reasons])
    objects = EventQuerySet.as_manager()

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


# --- Sources ----------------------------------------------------------------------------


class SourceQuerySet(models.QuerySet):
    def broken(self):
        """Sources whose last checks failed in a row often enough to need a curator."""
        return self.filter(consecutive_failures__gte=settings.SOURCE_BROKEN_AFTER_FAILURES)

    def unarchived(self):
        return self.filter(archived_url="")

    def public(self):
        """Return the sources cited by at least one public event."""
        return self.filter(
            Exists(Citation.objects.filter(source=OuterRef("pk"), event__in=Event.objects.public()))
        )


def source_uid_for(url: str) -> str:
    """Derive a new source's ID from its first URL; it is then kept even if the URL changes."""
    return "src-" + hashlib.sha256(url.encode()).hexdigest()[:12]


class Source(models.Model):
    uid = models.SlugField(
        _("ID"),
        max_length=40,
        unique=True,
        editable=False,
        help_text=_("Stable public identifier of the source."),
    )
    url = models.URLField(_("URL"), max_length=1000, unique=True)
    title = models.CharField(_("title"), max_length=500, blank=True)
    publisher = models.CharField(_("publisher"), max_length=300, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, blank=True)
    published_on = models.DateField(_("publication date"), null=True, blank=True)
    accessed_on = models.DateField(_("accessed"), null=True, blank=True)
    source_type = models.CharField(
        _("type of source"), max_length=32, choices=SourceType.choices, default=SourceType.OTHER
    )
    archived_url = models.URLField(
        _("archived copy"),
        max_length=1000,
        blank=True,
        help_text=_("A snapshot of the page in a web archive."),
    )
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True
    )
    final_url = models.URLField(
        _("final URL after redirects"), max_length=1000, blank=True, editable=False
    )
    consecutive_failures = models.PositiveSmallIntegerField(
        _("failures in a row"), default=0, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    history = HistoricalRecords()
    objects = SourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["publisher", "title", "url"]
        constraints = [
            choices_constraint("source_type", SourceType, "source_type_valid"),
            choices_constraint("language", Language, "source_language_valid", blank=True),
        ]

    def __str__(self):
        label = self.title or self.url
        return f"{self.publisher}: {label}" if self.publisher else label

    def save(self, *args, **kwargs):
        if not self.uid:
            self.uid = source_uid_for(self.url)
        super().save(*args, **kwargs)


class Citation(models.Model):
    """Which source supports which claims of an event: provenance per claim, not per page."""

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="citations"
    )
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, related_name="citations"
    )
    quote = models.TextField(
        _("quotation"), blank=True, help_text=_("A short passage from the source relied on.")
    )
    claims = models.JSONField(
        _("claims supported"),
        default=list,
        blank=True,
        help_text=_(
            "Which claims of the event this source supports: event, date, reason, destination."
        ),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("citation")
        verbose_name_plural = _("citations")
        ordering = ["event", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "source"], name="citation_unique_per_event"),
        ]

    def __str__(self):
        return f"{self.event} ← {self.source}"

    def clean(self):
        super().clean()
        unknown = [claim for claim in self.claims or [] if claim not in Claim.values]
        if not isinstance(self.claims, list) or unknown:
            raise ValidationError(
                {"claims": _("Unknown claims: %s") % ", ".join(map(str, unknown))}
            )

    def claims_display(self) -> list[str]:
        return [str(Claim(claim).label) for claim in self.claims if claim in Claim.values]


class Release(models.Model):
    """A numbered, immutable bulk release of the public registry, for citation."""

    version = models.CharField(
        _("version"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^\d{4}\.\d{1,2}\.\d+$", _("A version looks like 2026.11.0."))],
        help_text=_("Year, month and a number within the month: 2026.11.0."),
    )
    released_on = models.DateField(_("released on"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    filename = models.CharField(_("file name"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    counts = models.JSONField(_("record counts"), default=dict)
    fingerprints = models.JSONField(
        _("record fingerprints"),
        default=dict,
        help_text=_("Each organisation's ID and last change, to list what the next one changes."),
    )

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        ordering = ["-released_on", "-created_at"]

    def __str__(self):
        return self.version

    def get_download_url(self):
        return reverse("release-download", kwargs={"version": self.version})


class RegistryVersion(models.Model):
    """The version of everything public: one row, moved by every public change.

    Public caches are keyed by `number` and public responses are dated by `changed_at`, so
    both move in the transaction that changes public data, and only then: a change the
    public cannot see (a draft, an embargoed record) leaves no trace in any timestamp.
    """

    SINGLETON = 1

    number = models.PositiveBigIntegerField(default=1)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("registry data version")

    def __str__(self):
        return f"{self.number} ({self.changed_at:%Y-%m-%d %H:%M:%S})"

    @classmethod
    def current(cls) -> "RegistryVersion":
        version = cls.objects.filter(pk=cls.SINGLETON).first()
        return version or cls.objects.get_or_create(pk=cls.SINGLETON)[0]

    @classmethod
    def bump(cls) -> None:
        """Move to the next version. Each version is dated at least a second after the last,
        so Last-Modified (whole seconds) tells every version apart."""
        cls.current()
        cls.objects.filter(pk=cls.SINGLETON).update(
            number=F("number") + 1,
            changed_at=Greatest(Now(), F("changed_at") + dt.timedelta(seconds=1)),
        )

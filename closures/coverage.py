"""How complete the registry is, measured against other trackers' lists; and the curator's
work that follows from it: confirming matches and adding what the registry lacks.

Every public figure here starts from `Organisation.objects.public()`: an entry matched to a
record the public cannot see (draft, in review, embargoed, withdrawn) counts, and is shown, as
"not yet in this registry", so no count or list reveals that a hidden record exists.
"""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language

from .duplicates import CJK
from .models import (
    Completeness,
    DecisionSource,
    EntryDecision,
    Organisation,
    OrganisationType,
    PublicEntryStatus,
    ReviewState,
    Tracker,
    TrackerEntry,
)
from .services.public_version import bump_public_data_version

# --- Public figures ---------------------------------------------------------------------


def trackers_with_figures():
    """Trackers annotated with what the public may know of their entries, in one query.

    `entries_read`, `in_registry` (matched to a public record), `out_of_scope` and
    `not_in_registry` (everything else, hidden matches included).
    """
    public_match = Q(
        entries__decision=EntryDecision.MATCHED,
        entries__organisation__in=Organisation.objects.public().values("pk"),
    )
    return Tracker.objects.annotate(
        entries_read=Count("entries"),
        in_registry=Count("entries", filter=public_match),
        out_of_scope=Count("entries", filter=Q(entries__decision=EntryDecision.OUT_OF_SCOPE)),
    ).annotate(not_in_registry=F("entries_read") - F("in_registry") - F("out_of_scope"))


COMPLETENESS_ORDER = list(Completeness.values)


def coverage_table() -> list[Tracker]:
    """Trackers whose lists could be read first, the longest first; totals-only last."""
    return sorted(
        trackers_with_figures(),
        key=lambda tracker: (
            COMPLETENESS_ORDER.index(tracker.completeness),
            -tracker.entries_read,
            tracker.slug,
        ),
    )


def public_status(entry: TrackerEntry) -> str:
    """What the public is told of an entry annotated by `with_public_match()`."""
    if entry.decision == EntryDecision.OUT_OF_SCOPE:
        return PublicEntryStatus.OUT_OF_SCOPE
    if entry.public_match:
        return PublicEntryStatus.IN_REGISTRY
    return PublicEntryStatus.NOT_IN_REGISTRY


@dataclass
class MissingName:
    """One group known to other trackers and not (publicly) in this registry."""

    name_key: str
    entries: list[TrackerEntry] = field(default_factory=list)

    @property
    def trackers(self) -> list[Tracker]:
        return list({entry.tracker_id: entry.tracker for entry in self.entries}.values())

    def names(self, language: str | None = None) -> tuple[str, str]:
        """The main name in the reader's language and the other language's name beside it."""
        first = self.entries[0]
        name_zh = next((entry.name_zh for entry in self.entries if entry.name_zh), "")
        name_en = next((entry.name_en for entry in self.entries if entry.name_en), "")
        if (language or get_language() or "en").startswith("zh"):
            main, other = name_zh or first.display_name, name_en
        else:
            main, other = name_en or first.display_name, name_zh
        return main, (other if other != main else "")

    @property
    def name(self) -> str:
        return self.names()[0]

    @property
    def other_name(self) -> str:
        return self.names()[1]


def missing_names() -> list[MissingName]:
    """Names the registry publicly lacks, most widely listed first.

    Entries are grouped by their folded name only, never by the record they may be matched to:
    grouping by a hidden record would show that the registry holds something about it.
    """
    entries = (
        TrackerEntry.objects.publicly_lacking()
        .select_related("tracker")
        .order_by("name_key", "tracker__published_on", "tracker__slug", "sequence")
    )
    groups: dict[str, MissingName] = {}
    for entry in entries:
        groups.setdefault(entry.name_key, MissingName(entry.name_key)).entries.append(entry)
    return sorted(groups.values(), key=lambda group: (-len(group.trackers), group.name_key))


def listings_of(organisation: Organisation) -> list[TrackerEntry]:
    """Other trackers' entries for a public record: independent corroboration for readers.

    Callers pass a record from `Organisation.objects.public()`; this does not check again.
    """
    return list(
        organisation.tracker_entries.filter(decision=EntryDecision.MATCHED)
        .select_related("tracker")
        .order_by("tracker__published_on", "tracker__slug", "sequence")
    )


# --- Coverage export ---------------------------------------------------------------------

COVERAGE_COLUMNS = [
    "tracker_id",
    "tracker_title",
    "tracker_publisher",
    "tracker_url",
    "tracker_published",
    "tracker_claimed_count",
    "tracker_completeness",
    "position",
    "name_as_listed",
    "name_en",
    "name_zh",
    "date_as_listed",
    "category_as_listed",
    "status",
    "organisation_id",
    "out_of_scope_reason",
]


def coverage_rows() -> Iterator[dict]:
    """One row per tracker entry with its public status; a record's ID only when public."""
    entries = (
        TrackerEntry.objects.with_public_match()
        .select_related("tracker", "organisation")
        .order_by("tracker__slug", "sequence", "position")
    )
    for entry in entries:
        tracker = entry.tracker
        status = public_status(entry)
        yield {
            "tracker_id": tracker.slug,
            "tracker_title": tracker.title,
            "tracker_publisher": tracker.publisher,
            "tracker_url": tracker.url,
            "tracker_published": tracker.published_iso,
            "tracker_claimed_count": tracker.claimed_display,
            "tracker_completeness": tracker.completeness,
            "position": entry.position,
            "name_as_listed": entry.name_as_listed,
            "name_en": entry.name_en,
            "name_zh": entry.name_zh,
            "date_as_listed": entry.date_as_listed,
            "category_as_listed": entry.category_as_listed,
            "status": status,
            "organisation_id": (
                entry.organisation.slug if status == PublicEntryStatus.IN_REGISTRY else ""
            ),
            "out_of_scope_reason": (
                entry.out_of_scope_reason if status == PublicEntryStatus.OUT_OF_SCOPE else ""
            ),
        }


# --- What the public sees of the trackers, and when it changed ----------------------------


def public_coverage_fingerprint() -> str:
    """SHA-256 of everything public about the trackers: each one and each entry's public row.

    Pages, the record pages' "also listed by", the API and the export show no more than this,
    so a change that leaves it as it was (a curator's note, a proposal to a hidden record)
    changes nothing the public sees and must not move the data version or Last-Modified.
    """
    trackers = Tracker.objects.order_by("slug").values_list(
        "slug", "scope", "claimed_qualifier", "claimed_count"
    )
    public = {"trackers": list(trackers), "entries": list(coverage_rows())}
    encoded = json.dumps(public, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


@contextmanager
def moving_the_data_version_if_coverage_changes():
    """Move the data version, in the caller's transaction, when the public coverage changed.

    Record pages say which trackers also list the record, and the coverage pages and API are
    cached by the data version like every public page: without the move they stayed stale
    until some unrelated publish.
    """
    before = public_coverage_fingerprint()
    yield
    if public_coverage_fingerprint() != before:
        bump_public_data_version()


# --- Curator decisions --------------------------------------------------------------------


def _require_curator(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied("You cannot change tracker entries.")


def decide_entry(
    *,
    entry: TrackerEntry,
    user,
    decision: str,
    organisation: Organisation | None = None,
    out_of_scope_reason: str = "",
    curator_note: str | None = None,
) -> TrackerEntry:
    """Record a curator's decision on an entry; later imports keep it."""
    _require_curator(user, "closures.change_trackerentry")
    with transaction.atomic(), moving_the_data_version_if_coverage_changes():
        entry = TrackerEntry.objects.select_for_update().get(pk=entry.pk)
        if decision not in (EntryDecision.MATCHED, EntryDecision.PROPOSED):
            organisation = None
        if decision != EntryDecision.OUT_OF_SCOPE:
            out_of_scope_reason = ""
        entry.decision = decision
        entry.organisation = organisation
        entry.out_of_scope_reason = out_of_scope_reason.strip()
        entry.decided_by_source = DecisionSource.CURATOR
        entry.decided_by = user
        entry.decided_at = timezone.now()
        if curator_note is not None:
            entry.curator_note = curator_note
        entry.full_clean()
        entry.save()
    return entry


def confirm_proposed_matches(*, entries, user) -> int:
    """Confirm the import's proposals among `entries`; returns how many were confirmed."""
    confirmed = 0
    for entry in entries.filter(decision=EntryDecision.PROPOSED):
        decide_entry(
            entry=entry, user=user, decision=EntryDecision.MATCHED, organisation=entry.organisation
        )
        confirmed += 1
    return confirmed


def reject_matches(*, entries, user) -> int:
    """Say the proposed or matched record is not the entry's group: back to the queue."""
    rejected = 0
    for entry in entries.filter(decision__in=[EntryDecision.PROPOSED, EntryDecision.MATCHED]):
        decide_entry(entry=entry, user=user, decision=EntryDecision.NOT_IN_REGISTRY)
        rejected += 1
    return rejected


def _unused_slug(*candidates: str) -> str:
    for candidate in candidates:
        base = slugify(candidate)[:90]
        if not base:
            continue
        slug, number = base, 2
        while Organisation.objects.filter(slug=slug).exists():
            slug, number = f"{base}-{number}", number + 1
        return slug
    raise ValueError("No candidate gives a usable ID.")


def create_draft_from_entry(*, entry: TrackerEntry, user) -> Organisation:
    """Start a draft record from a tracker entry and match the entry to it.

    The draft takes the entry's names; where the tracker dated it goes in a sensitive (never
    public) note for the curator who completes the record. Other trackers' entries not yet in
    the registry under the same name are matched to the draft too. Until a reviewer publishes
    the record, every one of them still shows publicly as not yet in this registry.
    """
    _require_curator(user, "closures.add_organisation")
    _require_curator(user, "closures.change_trackerentry")
    with transaction.atomic():
        entry = TrackerEntry.objects.select_for_update().select_related("tracker").get(pk=entry.pk)
        if entry.decision not in (EntryDecision.NOT_IN_REGISTRY, EntryDecision.PROPOSED):
            raise ValidationError(f"{entry} is already {entry.get_decision_display()}.")
        same_group = TrackerEntry.objects.lacking().filter(name_key=entry.name_key)
        listings = list(same_group.select_related("tracker").order_by("tracker__slug"))
        lines = [
            f"Started from {listed.tracker.short_label} ({listed.tracker.slug}) no. "
            f"{listed.position}: {listed.name_as_listed}"
            + (f"; date as listed: {listed.date_as_listed}" if listed.date_as_listed else "")
            + (f"; category: {listed.category_as_listed}" if listed.category_as_listed else "")
            for listed in listings
        ]
        listed_in_chinese = bool(CJK.search(entry.display_name))
        name_en = entry.name_en or ("" if listed_in_chinese else entry.display_name)
        name_zh = entry.name_zh or (entry.display_name if listed_in_chinese else "")
        organisation = Organisation(
            slug=_unused_slug(
                entry.listed_organisation_slug, name_en, f"{entry.tracker.slug}-{entry.position}"
            ),
            name_en=name_en,
            name_zh=name_zh,
            org_type=OrganisationType.OTHER,
            review_state=ReviewState.DRAFT,
            curator_note="\n".join(lines),
        )
        organisation.full_clean()
        organisation._change_reason = f"Started from tracker entry {entry}"
        organisation._history_user = user
        organisation.save()
        for listed in listings:
            decide_entry(
                entry=listed, user=user, decision=EntryDecision.MATCHED, organisation=organisation
            )
    return organisation

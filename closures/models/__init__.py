"""The registry's records: organisations, what happened to them (events) and the evidence.

The unit the public counts is the organisation. Its timeline is a list of typed, dated events,
and every event rests on sources through citations. Whether anything may be shown publicly is
decided in exactly one place, `OrganisationQuerySet.public()` (and the event and source
querysets that build on it): every public channel starts there.

One module per entity; this package re-exports every public name, so `from closures.models
import X` is the one way to reach them (migrations name `closures.models.EnglishSearchVector`
and `closures.models.DestinationCountries`).
"""

from ..duplicates import DuplicateFinder
from .event import Event, EventQuerySet, Reason, date_pair_constraint
from .facet import PublicEventFacet
from .organisation import (
    Alias,
    DoubledCharacters,
    EnglishSearchVector,
    Organisation,
    OrganisationQuerySet,
    derive_status,
    normalise_text,
    status_from_events,
    status_step,
)
from .pending_change import PendingChange, PendingChangeState
from .registry_version import RegistryVersion
from .release import Release
from .reviewable import Reviewable
from .source import (
    Citation,
    LibraryProxyURL,
    Source,
    SourceQuerySet,
    clean_source_url,
    source_uid_for,
)
from .taxonomies import (
    CLOSURE_EVENT_TYPES,
    CLOSURE_STATUS_BY_FINALITY,
    CONFIDENCE_THAT_CONFIRMS,
    NON_CLOSURE_STATUS_BY_FINALITY,
    UNKNOWN_COUNTRY,
    AliasKind,
    Claim,
    Confidence,
    DestinationCountries,
    EventType,
    Language,
    OrganisationType,
    ReasonCategory,
    ReviewState,
    SourceType,
    Status,
    choices_constraint,
)
from .tracker import (
    ClaimQualifier,
    Completeness,
    DecisionSource,
    EntryDecision,
    PublicEntryStatus,
    Tracker,
    TrackerEntry,
    TrackerEntryQuerySet,
)

__all__ = [
    "CLOSURE_EVENT_TYPES",
    "CLOSURE_STATUS_BY_FINALITY",
    "CONFIDENCE_THAT_CONFIRMS",
    "NON_CLOSURE_STATUS_BY_FINALITY",
    "UNKNOWN_COUNTRY",
    "Alias",
    "AliasKind",
    "Citation",
    "Claim",
    "ClaimQualifier",
    "Completeness",
    "Confidence",
    "DecisionSource",
    "DestinationCountries",
    "DoubledCharacters",
    "DuplicateFinder",
    "EnglishSearchVector",
    "EntryDecision",
    "Event",
    "EventQuerySet",
    "EventType",
    "Language",
    "LibraryProxyURL",
    "Organisation",
    "OrganisationQuerySet",
    "PendingChange",
    "PendingChangeState",
    "RegistryVersion",
    "OrganisationType",
    "PublicEntryStatus",
    "PublicEventFacet",
    "Reason",
    "ReasonCategory",
    "Release",
    "ReviewState",
    "Reviewable",
    "Source",
    "SourceQuerySet",
    "SourceType",
    "Status",
    "Tracker",
    "TrackerEntry",
    "TrackerEntryQuerySet",
    "choices_constraint",
    "clean_source_url",
    "date_pair_constraint",
    "derive_status",
    "normalise_text",
    "source_uid_for",
    "status_from_events",
    "status_step",
]

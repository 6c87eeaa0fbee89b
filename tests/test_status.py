"""The status an organisation's events give: true to its sources (issue 14).

`status_from_events` is a pure function of the events, so its rules are checked as properties
over any list of steps, besides the cases the curated data raised.
"""

import datetime as dt
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from closures.models import (
    CLOSURE_STATUS_BY_FINALITY,
    NON_CLOSURE_STATUS_BY_FINALITY,
    Confidence,
    EventType,
    Status,
    status_from_events,
)

CLOSED = set(CLOSURE_STATUS_BY_FINALITY.values())


def step(event_type, when, confidence=Confidence.HIGH):
    return SimpleNamespace(
        event_type=event_type, occurred_from=dt.date.fromisoformat(when), confidence=confidence
    )


def test_a_low_confidence_report_never_outranks_a_confident_disbandment():
    events = [
        step(EventType.DISBANDED, "2021-10-03"),
        step(EventType.DEREGISTERED, "2022-04-07", Confidence.LOW),
    ]
    assert status_from_events(events) == (Status.DISBANDED, False)


def test_only_low_confidence_steps_give_an_unconfirmed_status():
    events = [
        step(EventType.SUSPENDED, "2021-01-01", Confidence.LOW),
        step(EventType.DISBANDED, "2021-06-01", Confidence.LOW),
    ]
    assert status_from_events(events) == (Status.DISBANDED, True)


def test_a_removal_notice_is_not_a_deregistration():
    events = [step(EventType.REMOVAL_NOTICE, "2025-08-22")]
    assert status_from_events(events) == (Status.REMOVAL_NOTICE, False)


def test_a_vote_to_start_dissolving_is_not_a_disbandment():
    events = [step(EventType.DISSOLUTION_STARTED, "2026-02-05"), step(EventType.RAID, "2026-03-01")]
    assert status_from_events(events) == (Status.DISSOLUTION_STARTED, False)


def test_a_confident_notice_outranks_a_low_confidence_closure_report():
    events = [
        step(EventType.CEASED_OPERATIONS, "2021-12-12", Confidence.LOW),
        step(EventType.REMOVAL_NOTICE, "2025-08-22"),
    ]
    assert status_from_events(events) == (Status.REMOVAL_NOTICE, False)


def test_a_later_notice_does_not_reopen_a_confident_closure():
    events = [step(EventType.DISBANDED, "2021-06-01"), step(EventType.REMOVAL_NOTICE, "2025-08-01")]
    assert status_from_events(events) == (Status.DISBANDED, False)


def test_pressure_alone_leaves_an_organisation_active():
    assert status_from_events([step(EventType.RAID, "2021-06-17")]) == (Status.ACTIVE, False)
    assert status_from_events([]) == (Status.UNKNOWN, False)


steps = st.builds(
    step,
    st.sampled_from(EventType.values),
    st.dates(dt.date(2019, 1, 1), dt.date(2026, 12, 31)).map(dt.date.isoformat),
    st.sampled_from(Confidence.values),
)


@settings(max_examples=200)
@given(st.lists(steps, max_size=6))
def test_status_follows_the_latest_best_sourced_step(events):
    status, unconfirmed = status_from_events(events)
    confident = [event for event in events if event.confidence != Confidence.LOW]
    closures = [event for event in events if event.event_type in CLOSURE_STATUS_BY_FINALITY]
    others = [event for event in events if event.event_type in NON_CLOSURE_STATUS_BY_FINALITY]
    # Only closure steps close: a notice or a vote to dissolve never gives a closed status.
    assert (status in CLOSED) == bool(
        [event for event in closures if event in confident]
        or (closures and not [event for event in others if event in confident])
    )
    # Unconfirmed exactly when no confident step could give a status.
    assert unconfirmed == (
        bool(closures or others) and not [e for e in closures + others if e in confident]
    )
    if not (closures or others):
        assert status == (Status.ACTIVE if events else Status.UNKNOWN)
    else:
        tier = [e for e in closures + others if e in confident] or closures + others
        tier = [e for e in tier if e.event_type in CLOSURE_STATUS_BY_FINALITY] or tier
        latest = max(event.occurred_from for event in tier)
        givers = {
            {**CLOSURE_STATUS_BY_FINALITY, **NON_CLOSURE_STATUS_BY_FINALITY}[e.event_type]
            for e in tier
            if e.occurred_from == latest
        }
        assert status in givers

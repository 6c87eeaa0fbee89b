"""Small deterministic builders for registry records."""

import datetime as dt
import itertools

import pytest

from closures.models import (
    Citation,
    Event,
    EventType,
    Organisation,
    OrganisationType,
    ReviewState,
    Source,
)

_counter = itertools.count(1)


@pytest.fixture
def make_organisation(db):
    def make(**overrides) -> Organisation:
        number = next(_counter)
        values = {
            "slug": f"organisation-{number}",
            "name_en": f"Organisation {number}",
            "name_zh": f"組織{number}",
            "org_type": OrganisationType.NGO,
            "review_state": ReviewState.DRAFT,
        }
        values.update(overrides)
        return Organisation.objects.create(**values)

    return make


@pytest.fixture
def make_source(db):
    def make(**overrides) -> Source:
        number = next(_counter)
        values = {
            "url": f"https://news.example.org/story-{number}",
            "title": f"Story {number}",
            "publisher": "Example News",
        }
        values.update(overrides)
        return Source.objects.create(**values)

    return make


@pytest.fixture
def make_event(db, make_source):
    def make(organisation, *, cited=True, **overrides) -> Event:
        number = next(_counter)
        values = {
            "uid": f"event-{number}",
            "organisation": organisation,
            "event_type": EventType.DISBANDED,
            "effective_on": dt.date(2021, 9, 25),
            "effective_precision": "day",
            "stated_reason_en": "Said the security law left it no choice.",
            "review_state": ReviewState.PUBLISHED,
        }
        values.update(overrides)
        event = Event.objects.create(**values)
        if cited:
            Citation.objects.create(event=event, source=make_source(), claims=["event"])
        return event

    return make


@pytest.fixture
def make_public_organisation(make_organisation, make_event):
    """A published organisation with one published, cited event: visible to the public."""

    def make(*, event=None, **overrides) -> Organisation:
        organisation = make_organisation(**{"review_state": ReviewState.PUBLISHED, **overrides})
        make_event(organisation, **(event or {}))
        organisation.refresh_derived_fields()
        organisation.save()
        return organisation

    return make

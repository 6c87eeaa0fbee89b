import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from closures.dates import DatePrecision
from closures.models import (
    UNKNOWN_COUNTRY,
    Citation,
    Event,
    EventType,
    Organisation,
    ReviewState,
    Source,
    Status,
    derive_status,
)


def assert_integrity_error(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


# --- Database constraints ---------------------------------------------------------------


def test_slug_is_unique(make_organisation):
    make_organisation(slug="chrf")
    assert_integrity_error(lambda: make_organisation(slug="chrf"))


def test_event_uid_is_unique(make_organisation, make_event):
    organisation = make_organisation()
    make_event(organisation, uid="chrf-disbanded")
    assert_integrity_error(lambda: make_event(organisation, uid="chrf-disbanded", cited=False))


def test_database_rejects_a_date_without_precision(make_organisation):
    organisation = make_organisation()
    assert_integrity_error(
        lambda: Event.objects.create(
            uid="x",
            organisation=organisation,
            event_type=EventType.DISBANDED,
            announced_on=dt.date(2021, 8, 15),
            announced_precision="",
        )
    )


def test_database_rejects_a_precision_without_date(make_organisation):
    organisation = make_organisation()
    assert_integrity_error(
        lambda: Event.objects.create(
            uid="x",
            organisation=organisation,
            event_type=EventType.DISBANDED,
            effective_precision=DatePrecision.MONTH,
        )
    )


def test_database_rejects_an_unknown_event_type(make_organisation):
    organisation = make_organisation()
    assert_integrity_error(
        lambda: Event.objects.create(uid="x", organisation=organisation, event_type="vanished")
    )


def test_database_rejects_an_unknown_organisation_type(make_organisation):
    assert_integrity_error(lambda: make_organisation(org_type="club"))


def test_database_rejects_a_relocation_without_destination(make_organisation):
    organisation = make_organisation()
    assert_integrity_error(
        lambda: Event.objects.create(
            uid="x", organisation=organisation, event_type=EventType.RELOCATED
        )
    )


def test_database_rejects_an_organisation_without_any_name(db):
    assert_integrity_error(lambda: Organisation.objects.create(slug="nameless", org_type="ngo"))


def test_citation_of_the_same_source_twice_is_rejected(make_organisation, make_event):
    event = make_event(make_organisation())
    source = event.citations.get().source
    assert_integrity_error(lambda: Citation.objects.create(event=event, source=source))


# --- clean() ----------------------------------------------------------------------------


def test_relocation_with_unknown_destination_says_unknown(make_organisation):
    event = Event(
        uid="moved",
        organisation=make_organisation(),
        event_type=EventType.RELOCATED,
        confidence="high",
    )
    with pytest.raises(ValidationError) as error:
        event.full_clean()
    assert "destination_country" in error.value.message_dict
    event.destination_country = UNKNOWN_COUNTRY
    event.full_clean()
    event.save()
    assert str(Event.objects.get(uid="moved").destination_country.name).startswith("unknown")


def test_publishing_needs_a_cited_event(make_organisation, make_event):
    organisation = make_organisation(review_state=ReviewState.PUBLISHED)
    with pytest.raises(ValidationError, match="cited source"):
        organisation.full_clean()
    make_event(organisation, cited=False)
    with pytest.raises(ValidationError, match="cited source"):
        organisation.full_clean()
    make_event(organisation)
    organisation.full_clean()


def test_published_slug_cannot_change(make_public_organisation):
    organisation = make_public_organisation(first_published_at=timezone.now())
    organisation.slug = "renamed"
    with pytest.raises(ValidationError) as error:
        organisation.full_clean()
    assert "slug" in error.value.message_dict


def test_draft_slug_may_change(make_organisation):
    organisation = make_organisation()
    organisation.slug = "better-slug"
    organisation.full_clean()


@pytest.mark.parametrize("value", ["42", "q42", "Q0", "Q42x"])
def test_wikidata_id_must_be_a_q_number(make_organisation, value):
    organisation = make_organisation(wikidata_id=value)
    with pytest.raises(ValidationError) as error:
        organisation.full_clean()
    assert "wikidata_id" in error.value.message_dict


def test_wikidata_q_number_is_accepted(make_organisation):
    make_organisation(wikidata_id="Q1144345").full_clean()


def test_embargo_needs_a_reason(make_organisation):
    organisation = make_organisation(embargoed=True)
    with pytest.raises(ValidationError) as error:
        organisation.full_clean()
    assert "embargo_reason" in error.value.message_dict


def test_citation_rejects_unknown_claims(make_organisation, make_event):
    citation = make_event(make_organisation()).citations.get()
    citation.claims = ["date", "gossip"]
    with pytest.raises(ValidationError, match="gossip"):
        citation.full_clean()


def test_source_url_is_validated(db):
    with pytest.raises(ValidationError) as error:
        Source(url="not a url", uid="src-1").full_clean()
    assert "url" in error.value.message_dict


def test_source_keeps_its_id_when_its_url_is_corrected(make_source):
    source = make_source(url="https://example.org/typo")
    uid = source.uid
    source.url = "https://example.org/fixed"
    source.save()
    assert Source.objects.get(pk=source.pk).uid == uid


# --- Dates at their precision -----------------------------------------------------------


def test_month_precision_date_is_stored_as_the_first_of_the_month(make_organisation):
    event = Event.objects.create(
        uid="x",
        organisation=make_organisation(),
        event_type=EventType.DISBANDED,
        effective_on=dt.date(2021, 10, 17),
        effective_precision=DatePrecision.MONTH,
    )
    event.refresh_from_db()
    assert event.effective_on == dt.date(2021, 10, 1)
    assert (event.occurred_from, event.occurred_to) == (dt.date(2021, 10, 1), dt.date(2021, 10, 31))
    assert event.effective_display() == "Oct 2021"
    assert event.effective_iso() == "2021-10"


def test_key_date_falls_back_to_the_announcement(make_organisation):
    event = Event.objects.create(
        uid="x",
        organisation=make_organisation(),
        event_type=EventType.DISBANDED,
        announced_on=dt.date(2022, 1, 1),
        announced_precision=DatePrecision.YEAR,
    )
    assert (event.occurred_from, event.occurred_to) == (dt.date(2022, 1, 1), dt.date(2022, 12, 31))


# --- The public gate --------------------------------------------------------------------


def test_public_includes_a_published_cited_record(make_public_organisation):
    organisation = make_public_organisation()
    assert list(Organisation.objects.public()) == [organisation]
    assert Event.objects.public().count() == 1
    assert Source.objects.public().count() == 1


@pytest.mark.parametrize("state", [ReviewState.DRAFT, ReviewState.IN_REVIEW, ReviewState.WITHDRAWN])
def test_public_excludes_unpublished_records(make_public_organisation, state):
    make_public_organisation(review_state=state)
    assert not Organisation.objects.public().exists()
    assert not Event.objects.public().exists()
    assert not Source.objects.public().exists()


def test_public_excludes_embargoed_records(make_public_organisation):
    make_public_organisation(embargoed=True, embargo_reason="Names a person at risk.")
    assert not Organisation.objects.public().exists()
    assert not Event.objects.public().exists()
    assert not Source.objects.public().exists()


def test_public_excludes_a_record_without_a_cited_event(make_organisation, make_event):
    organisation = make_organisation(review_state=ReviewState.PUBLISHED)
    make_event(organisation, cited=False)
    assert not Organisation.objects.public().exists()


def test_embargoed_event_of_a_public_organisation_is_hidden(make_public_organisation, make_event):
    organisation = make_public_organisation()
    hidden = make_event(
        organisation,
        event_type=EventType.RELOCATED,
        destination_country="TW",
        embargoed=True,
        embargo_reason="Staff still in Hong Kong.",
    )
    assert organisation in Organisation.objects.public()
    assert hidden not in Event.objects.public()
    assert not Source.objects.public().filter(citations__event=hidden).exists()


def test_record_whose_only_cited_event_is_embargoed_is_not_public(make_organisation, make_event):
    organisation = make_organisation(review_state=ReviewState.PUBLISHED)
    make_event(organisation, embargoed=True, embargo_reason="Safety.")
    make_event(organisation, cited=False)
    assert not Organisation.objects.public().exists()


def test_draft_event_of_a_public_organisation_is_hidden(make_public_organisation, make_event):
    organisation = make_public_organisation()
    draft = make_event(organisation, review_state=ReviewState.DRAFT)
    assert draft not in Event.objects.public()


# --- Derived status ---------------------------------------------------------------------


def test_status_follows_the_latest_closure_step(make_organisation, make_event):
    organisation = make_organisation()
    make_event(organisation, event_type=EventType.DISBANDED, effective_on=dt.date(2021, 9, 25))
    make_event(organisation, event_type=EventType.DEREGISTERED, effective_on=dt.date(2021, 10, 26))
    make_event(
        organisation, event_type=EventType.POLICE_INVESTIGATION, effective_on=dt.date(2022, 1, 1)
    )
    organisation.refresh_derived_fields()
    assert organisation.current_status == Status.DEREGISTERED
    assert organisation.public_latest_event_on == dt.date(2022, 1, 1)


def test_same_day_closure_steps_resolve_to_the_more_final(make_organisation, make_event):
    organisation = make_organisation()
    make_event(organisation, event_type=EventType.DEREGISTERED)
    make_event(organisation, event_type=EventType.SUSPENDED)
    organisation.refresh_derived_fields()
    assert organisation.current_status == Status.DEREGISTERED


def test_status_without_events_is_unknown_and_with_only_pressure_is_active(
    make_organisation, make_event
):
    organisation = make_organisation()
    assert derive_status([]) == Status.UNKNOWN
    make_event(organisation, event_type=EventType.RAID)
    organisation.refresh_derived_fields()
    assert organisation.current_status == Status.ACTIVE


def test_public_status_ignores_embargoed_events(make_public_organisation, make_event):
    organisation = make_public_organisation(event={"effective_on": dt.date(2021, 6, 1)})
    make_event(
        organisation,
        event_type=EventType.RELOCATED,
        destination_country="GB",
        effective_on=dt.date(2022, 6, 1),
        embargoed=True,
        embargo_reason="Safety.",
    )
    organisation.refresh_derived_fields()
    assert organisation.current_status == Status.RELOCATED
    assert organisation.public_status == Status.DISBANDED
    assert organisation.public_latest_event_on == dt.date(2021, 6, 1)

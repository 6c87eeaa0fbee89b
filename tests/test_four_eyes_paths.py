"""The last direct paths to the public view take a second person too (issue 13.7): an edit of
a cited source, a revert of a published record, a delete of a published record."""

import pytest
from django.test import Client

from closures import services
from closures.models import (
    Alias,
    Event,
    Organisation,
    PendingChange,
    PendingChangeState,
    Source,
)

from .test_history import change_data
from .test_pending_changes import decide, event_data, public_channels

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(scenario):
    return scenario.amnesty


def cited_source(organisation) -> Source:
    return organisation.events.get().citations.get().source


def public_with_sources(organisation) -> dict:
    """The public channels of the record, and its source as the sources API shows it."""
    source = cited_source(organisation)
    channels = public_channels(organisation)
    channels["source"] = Client().get(f"/api/v1/sources/{source.uid}/").json()
    return channels


def source_data(source, **overrides) -> dict:
    data = {
        "url": source.url,
        "title": source.title,
        "publisher": source.publisher,
        "language": source.language,
        "published_on": source.published_on.isoformat() if source.published_on else "",
        "accessed_on": source.accessed_on.isoformat() if source.accessed_on else "",
        "source_type": source.source_type,
        "archived_url": source.archived_url,
        "change_reason": "",
    }
    data.update(overrides)
    return data


def post_source(client, source, **overrides):
    return client.post(
        f"/admin/closures/source/{source.pk}/change/", source_data(source, **overrides)
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


# --- Sources ---------------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["curator", "reviewer"])
def test_an_edit_of_a_publicly_cited_source_waits_for_a_reviewer(
    client, published, staff_login, person, request
):
    source = cited_source(published)
    before = public_with_sources(published)
    staff_login(client, request.getfixturevalue(person))
    response = post_source(
        client, source, title="A retitled report", published_on="2021-12-02", change_reason="Typo"
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    assert public_with_sources(published) == before
    assert Source.objects.get(pk=source.pk).title == source.title
    change = PendingChange.objects.get(source=source)
    assert change.proposed == {"title": "A retitled report", "published_on": "2021-12-02"}
    assert change.reason == "Typo"
    assert any("waits for a reviewer" in message for message in messages_of(response))
    assert not any("changed successfully" in message for message in messages_of(response))


def test_a_second_reviewer_approves_a_source_change_from_its_diff(
    client, curator, reviewer, second_reviewer, published, staff_login
):
    source = cited_source(published)
    staff_login(client, reviewer)
    post_source(client, source, publisher="Example News Ltd")
    before = public_with_sources(published)
    page = client.get(f"/admin/closures/source/{source.pk}/change/").content.decode()
    assert "A change waits for a reviewer" in page and "Example News Ltd" in page
    assert "Approve: publish this change" not in page  # the proposer's own
    change = PendingChange.objects.get(source=source)
    decide(client, change, "approve")
    assert PendingChange.objects.get().state == PendingChangeState.OPEN
    assert public_with_sources(published) == before
    staff_login(client, second_reviewer)
    page = client.get(f"/admin/closures/source/{source.pk}/change/").content.decode()
    assert "Approve: publish this change" in page
    response = decide(client, change, "approve")
    assert response.status_code == 302
    after = public_with_sources(published)
    assert after["source"]["publisher"] == "Example News Ltd"
    assert after["public_changed_at"] > before["public_changed_at"]
    assert after["version"] != before["version"]
    assert "Example News Ltd" in after["page"]
    latest = Source.objects.get(pk=source.pk).history.first()
    assert latest.history_user == second_reviewer
    listing = client.get("/admin/closures/pendingchange/").content.decode()
    assert f"/admin/closures/source/{source.pk}/change/" in listing


def test_someone_elses_edit_of_a_source_is_refused_while_a_proposal_waits(
    client, curator, reviewer, published, staff_login
):
    source = cited_source(published)
    services.propose_change(record=source, user=curator, values={"title": "Curator's title"})
    staff_login(client, reviewer)
    response = post_source(client, source, title="Reviewer's title")
    assert response.status_code == 200
    assert "waits for a reviewer" in str(response.context["errors"])
    assert PendingChange.objects.get().proposed == {"title": "Curator's title"}


def test_sources_cited_by_nothing_published_and_superusers_edit_directly(
    client, curator, admin_user, published, scenario, staff_login
):
    staff_login(client, curator)
    unpublished = Event.objects.get(uid="draft-union-disbanded").citations.get().source
    uncited = Source.objects.create(url="https://news.example.org/uncited", title="Uncited")
    for source in (unpublished, uncited):
        response = post_source(client, source, title="Retitled directly")
        assert response.status_code == 302, response.context and response.context["errors"]
        assert Source.objects.get(pk=source.pk).title == "Retitled directly"
    source = cited_source(published)
    before = public_with_sources(published)
    staff_login(client, admin_user)
    post_source(client, source, title="A superuser's title")
    assert public_with_sources(published)["source"]["title"] == "A superuser's title"
    assert public_with_sources(published)["version"] != before["version"]
    assert not PendingChange.objects.exists()


def test_deleting_a_publicly_cited_source_is_refused_with_a_message(
    client, reviewer, published, staff_login
):
    source = cited_source(published)
    staff_login(client, reviewer)
    response = client.post(f"/admin/closures/source/{source.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert any("cited by a published event" in message for message in messages_of(response))
    response = client.post(
        "/admin/closures/source/",
        {"action": "delete_selected", "_selected_action": [source.pk], "post": "yes"},
    )
    assert any("cited by a published event" in message for message in messages_of(response))
    assert Source.objects.filter(pk=source.pk).exists()
    with pytest.raises(services.WorkflowRefused, match="cited by a published event"):
        services.delete_records(records=[source], user=reviewer)


# --- Revert ----------------------------------------------------------------------------------


def revert_url(record, version) -> str:
    return (
        f"/admin/closures/{record._meta.model_name}/{record.pk}/history/"
        f"{version.history_id}/revert/"
    )


@pytest.fixture
def vandalised(published):
    """The published record with a later, unreviewed edit (say, by a superuser)."""
    original = published.history.first()
    organisation = Organisation.objects.get(pk=published.pk)
    organisation.name_en, organisation.curator_note = "Vandalised", "A note since"
    organisation.save()
    services.refresh_organisation(organisation_id=organisation.pk)
    return organisation, original


def test_a_reviewers_revert_of_a_published_record_waits_for_a_second_reviewer(
    client, reviewer, second_reviewer, vandalised, staff_login
):
    organisation, original = vandalised
    before = public_channels(organisation)
    staff_login(client, reviewer)
    response = client.post(revert_url(organisation, original), {"reason": "Undo vandalism"})
    assert response.status_code == 302
    assert any("waits for a reviewer" in message for message in messages_of(response))
    assert public_channels(organisation) == before
    live = Organisation.objects.get(pk=organisation.pk)
    # The public field waits; the curator note, never public, is restored at once.
    assert (live.name_en, live.curator_note) == ("Vandalised", original.curator_note)
    change = PendingChange.objects.get(organisation=organisation)
    assert change.proposed == {"name_en": original.name_en}
    assert (change.proposed_by, change.reason) == (reviewer, "Undo vandalism")
    with pytest.raises(services.WorkflowRefused, match="four-eyes"):
        services.approve_change(change=change, user=reviewer)
    staff_login(client, second_reviewer)
    decide(client, change, "approve")
    after = public_channels(organisation)
    assert after["api"]["name_en"] == original.name_en
    assert after["version"] != before["version"]


def test_a_revert_is_refused_while_someone_elses_proposal_waits(curator, reviewer, vandalised):
    organisation, original = vandalised
    services.propose_change(record=organisation, user=curator, values={"acronym": "AI"})
    with pytest.raises(services.WorkflowRefused, match="The revert was not saved"):
        services.revert_to_version(historical_record=original, user=reviewer)
    live = Organisation.objects.get(pk=organisation.pk)
    assert (live.name_en, live.curator_note) == ("Vandalised", "A note since")


def test_a_reviewers_revert_of_a_published_events_reasons_waits(
    reviewer, second_reviewer, published
):
    event = published.events.get()
    version = event.history.first()
    event.reasons.set([])
    before = public_channels(published, event)
    change = services.revert_to_version(historical_record=version, user=reviewer)
    assert change.proposed == {"reasons": ["nsl_pressure"]}
    assert public_channels(published, event) == before
    services.approve_change(change=change, user=second_reviewer)
    assert list(event.reasons.values_list("code", flat=True)) == ["nsl_pressure"]


def test_superusers_and_unpublished_records_revert_directly(
    reviewer, admin_user, vandalised, scenario
):
    organisation, original = vandalised
    services.revert_to_version(historical_record=original, user=admin_user)
    assert Organisation.objects.get(pk=organisation.pk).name_en == original.name_en
    draft = scenario.draft
    version = draft.history.first()
    Organisation.objects.filter(pk=draft.pk).update(name_en="Renamed draft")
    services.revert_to_version(historical_record=version, user=reviewer)
    assert Organisation.objects.get(pk=draft.pk).name_en == version.name_en
    assert not PendingChange.objects.exists()


def test_a_reviewer_does_not_revert_a_published_records_alias_on_its_own(reviewer, scenario):
    alias = Alias.objects.get(organisation=scenario.ctu)
    version = alias.history.first()
    alias.delete()
    with pytest.raises(services.WorkflowRefused, match="which is published"):
        services.revert_to_version(historical_record=version, user=reviewer)
    assert not Alias.objects.filter(organisation=scenario.ctu).exists()


# --- Delete ----------------------------------------------------------------------------------


def test_a_reviewers_delete_of_a_published_event_is_refused_pointing_to_withdraw(
    client, reviewer, published, staff_login
):
    event = published.events.get()
    before = public_channels(published, event)
    staff_login(client, reviewer)
    page = client.get(f"/admin/closures/event/{event.pk}/delete/")
    assert page.status_code == 302
    assert page["Location"] == f"/admin/closures/event/{event.pk}/change/"
    response = client.post(f"/admin/closures/event/{event.pk}/delete/", {"post": "yes"})
    assert any("Withdraw action" in message for message in messages_of(response))
    response = client.post(
        "/admin/closures/event/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert any("Withdraw action" in message for message in messages_of(response))
    with pytest.raises(services.WorkflowRefused, match="Withdraw action"):
        services.delete_records(records=[event], user=reviewer)
    assert Event.objects.filter(pk=event.pk).exists()
    assert public_channels(published, event) == before


def test_deleting_a_published_event_in_the_organisation_form_is_refused(
    client, reviewer, published, staff_login
):
    event = published.events.get()
    before = public_channels(published, event)
    data = change_data(published)
    data.update({"events-TOTAL_FORMS": "1", "events-INITIAL_FORMS": "1"})
    data.update(
        {f"events-0-{name}": value for name, value in event_data(event).items()}
        | {"events-0-id": event.pk, "events-0-organisation": published.pk, "events-0-DELETE": "on"}
    )
    staff_login(client, reviewer)
    response = client.post(f"/admin/closures/organisation/{published.pk}/change/", data)
    assert response.status_code == 200
    assert "Withdraw action" in response.content.decode()
    assert Event.objects.filter(pk=event.pk).exists()
    assert public_channels(published, event) == before


def test_a_published_organisation_is_not_deleted_nor_its_tombstone_once_withdrawn(
    client, reviewer, second_reviewer, published, staff_login
):
    staff_login(client, reviewer)
    response = client.post(f"/admin/closures/organisation/{published.pk}/delete/", {"post": "yes"})
    assert any("Withdraw action" in message for message in messages_of(response))
    assert Organisation.objects.filter(pk=published.pk).exists()
    # Published by `reviewer` from a curator's submission: `reviewer` may withdraw it.
    services.withdraw(record=published, user=reviewer, reason="Duplicate of another record")
    tombstone = Client().get(published.get_absolute_url())
    assert tombstone.status_code == 410
    # Mirrors learn from the tombstone that they must drop the record: it stays.
    response = client.post(f"/admin/closures/organisation/{published.pk}/delete/", {"post": "yes"})
    assert any("tombstone" in message for message in messages_of(response))
    assert Organisation.objects.filter(pk=published.pk).exists()
    assert Client().get(published.get_absolute_url()).status_code == 410


def test_an_operator_erases_a_tombstone_and_every_public_channel_is_told(
    client, reviewer, published, admin_user, staff_login
):
    services.withdraw(record=published, user=reviewer, reason="Duplicate of another record")
    reader = Client()
    withdrawn = reader.get("/api/v1/withdrawn/")
    assert published.slug in withdrawn.content.decode()
    staff_login(client, admin_user)
    response = client.post(f"/admin/closures/organisation/{published.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Organisation.objects.filter(pk=published.pk).exists()
    # Not the cached list of before: the data version moved with the tombstone.
    again = reader.get("/api/v1/withdrawn/", HTTP_IF_NONE_MATCH=withdrawn["ETag"])
    assert again.status_code == 200
    assert published.slug not in again.content.decode()
    assert reader.get(published.get_absolute_url()).status_code == 404


def test_a_never_public_draft_is_deleted_by_a_reviewer(client, reviewer, scenario, staff_login):
    draft = Organisation.objects.get(slug="draft-union")
    staff_login(client, reviewer)
    response = client.post(f"/admin/closures/organisation/{draft.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Organisation.objects.filter(pk=draft.pk).exists()


def test_a_withdrawn_event_is_deleted_and_nothing_public_moves(
    client, reviewer, scenario, staff_login
):
    event = Event.objects.get(uid="hkctu-disbanded")
    services.withdraw(record=event, user=reviewer, reason="Wrong record")
    before = public_channels(scenario.ctu)
    staff_login(client, reviewer)
    response = client.post(f"/admin/closures/event/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Event.objects.filter(pk=event.pk).exists()
    assert public_channels(scenario.ctu) == before

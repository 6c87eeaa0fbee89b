"""A change to a published record waits for a second person before the public sees it."""

import pytest
from django.test import Client

from closures import services
from closures.models import (
    Event,
    EventType,
    Organisation,
    PendingChange,
    PendingChangeState,
    RegistryVersion,
    Source,
)
from closures.services.public_view import public_representation

from .scenario import AMNESTY, spreadsheet_row
from .test_history import change_data

pytestmark = pytest.mark.django_db


def public_channels(organisation, event=None) -> dict:
    """Everything the public sees of a record: API detail, record page, times and version."""
    client = Client()
    organisation = Organisation.objects.get(pk=organisation.pk)
    channels = {
        "api": client.get(f"/api/v1/organisations/{organisation.slug}/").json(),
        "page": client.get(f"/en/organisations/{organisation.slug}/").content.decode(),
        "view": public_representation(organisation.pk),
        "public_changed_at": organisation.public_changed_at,
        "version": RegistryVersion.objects.values_list("pk", "changed_at").first(),
    }
    if event is not None:
        channels["event"] = client.get(f"/api/v1/events/{event.uid}/").json()
    return channels


def event_data(event, **overrides):
    data = {
        "uid": event.uid,
        "event_type": event.event_type,
        "confidence": event.confidence,
        "effective_on": event.effective_on.isoformat() if event.effective_on else "",
        "effective_precision": event.effective_precision,
        "announced_on": "",
        "announced_precision": "",
        "destination_country": event.destination_country.code or "",
        "destination_city": event.destination_city,
        "stated_reason_en": event.stated_reason_en,
        "stated_reason_zh": event.stated_reason_zh,
        "reasons": [reason.pk for reason in event.reasons.all()],
        "public_note": event.public_note,
        "public_note_zh": event.public_note_zh,
        "curator_note": event.curator_note,
        "change_reason": "",
        "citations-TOTAL_FORMS": "0",
        "citations-INITIAL_FORMS": "0",
    }
    citations = list(event.citations.order_by("pk"))
    data["citations-TOTAL_FORMS"] = data["citations-INITIAL_FORMS"] = str(len(citations))
    for index, citation in enumerate(citations):
        data.update(
            {
                f"citations-{index}-id": citation.pk,
                f"citations-{index}-event": event.pk,
                f"citations-{index}-source": citation.source_id,
                f"citations-{index}-quote": citation.quote,
                f"citations-{index}-claims": citation.claims,
            }
        )
    data.update(overrides)
    return data


def post_organisation(client, organisation, **overrides):
    return client.post(
        f"/admin/closures/organisation/{organisation.pk}/change/",
        change_data(organisation, **overrides),
    )


def post_event(client, event, **overrides):
    return client.post(f"/admin/closures/event/{event.pk}/change/", event_data(event, **overrides))


def decide(client, change, decision, reason=""):
    record = change.record
    return client.post(
        f"/admin/closures/{record._meta.model_name}/{record.pk}/pending/{change.pk}/{decision}/",
        {"reason": reason},
    )


@pytest.fixture
def published(scenario):
    return scenario.amnesty


def test_curator_edit_of_a_published_organisation_changes_nothing_public(
    client, curator, published, staff_login
):
    before = public_channels(published)
    staff_login(client, curator)
    response = post_organisation(
        client, published, name_en="Renamed by a curator", change_reason="Per its website"
    )
    assert response.status_code == 302, response.context and response.context["errors"]
    assert public_channels(published) == before
    published.refresh_from_db()
    assert published.name_en == "Amnesty International regional office"
    change = PendingChange.objects.get(organisation=published)
    assert change.proposed == {"name_en": "Renamed by a curator"}
    assert change.proposed_by == curator and change.reason == "Per its website"
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("waits for a reviewer" in message for message in messages)
    assert not any("changed successfully" in message for message in messages)


def test_curator_edit_of_a_published_event_changes_nothing_public(
    client, curator, published, staff_login
):
    event = published.events.get()
    before = public_channels(published, event)
    staff_login(client, curator)
    response = post_event(client, event, stated_reason_en="A new reason, unreviewed.")
    assert response.status_code == 302, response.context and response.context["errors"]
    assert public_channels(published, event) == before
    assert Event.objects.get(pk=event.pk).stated_reason_en == event.stated_reason_en
    assert PendingChange.objects.get(event=event).proposed == {
        "stated_reason_en": "A new reason, unreviewed."
    }


def test_adding_a_citation_to_a_published_event_waits_for_a_reviewer(
    client, curator, published, staff_login
):
    event = published.events.get()
    source = Source.objects.create(url="https://news.example.org/new-evidence", title="New")
    before = public_channels(published, event)
    staff_login(client, curator)
    data = event_data(event)
    data.update(
        {
            "citations-TOTAL_FORMS": "2",
            "citations-1-source": source.pk,
            "citations-1-quote": "A new quotation.",
            "citations-1-claims": ["event"],
        }
    )
    response = client.post(f"/admin/closures/event/{event.pk}/change/", data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert public_channels(published, event) == before
    assert event.citations.count() == 1
    proposed = PendingChange.objects.get(event=event).proposed["citations"]
    assert [value["source"] for value in proposed] == sorted(
        [event.citations.get().source_id, source.pk]
    )


def test_curator_note_on_a_published_record_is_saved_at_once_and_moves_nothing_public(
    client, curator, published, staff_login
):
    before = public_channels(published)
    staff_login(client, curator)
    response = post_organisation(client, published, curator_note="Check the Taipei address.")
    assert response.status_code == 302
    published.refresh_from_db()
    assert published.curator_note == "Check the Taipei address."
    assert not PendingChange.objects.exists()
    assert public_channels(published) == before


def test_the_admin_shows_the_diff_and_the_proposer_sees_their_values(
    client, curator, reviewer, published, staff_login
):
    staff_login(client, curator)
    post_organisation(client, published, description_en="A long description " * 5)
    page = client.get(f"/admin/closures/organisation/{published.pk}/change/")
    text = page.content.decode()
    assert "A change waits for a reviewer" in text
    assert "description (English)" in text
    assert "<ins>A long description" in text
    # The proposer edits on from what they proposed, not from the live value.
    assert page.context["adminform"].form.initial["description_en"].startswith("A long")
    assert "Approve: publish this change" not in text
    staff_login(client, reviewer)
    text = client.get(f"/admin/closures/organisation/{published.pk}/change/").content.decode()
    assert "Approve: publish this change" in text
    listing = client.get("/admin/closures/organisation/?pending=yes").content.decode()
    # The changelist names records and links their change pages (no ID column at 1280 px).
    other = Organisation.objects.get(slug="hkctu")
    assert f"/organisation/{published.pk}/change/" in listing
    assert f"/organisation/{other.pk}/change/" not in listing


def test_the_proposer_cannot_approve_their_own_change(reviewer, second_reviewer, published):
    change = services.propose_change(
        record=published, user=reviewer, values={"acronym": "AI"}, reason="Known as AI"
    )
    with pytest.raises(services.WorkflowRefused, match="four-eyes"):
        services.approve_change(change=change, user=reviewer)
    with pytest.raises(services.WorkflowRefused, match="Only reviewers"):
        services.approve_change(change=change, user=published.submitted_by or _curator())
    services.approve_change(change=change, user=second_reviewer)
    assert Organisation.objects.get(pk=published.pk).acronym == "AI"


def _curator():
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("another-curator", is_staff=True)
    user.groups.add(Group.objects.get(name="Curators"))
    return user


def test_approval_by_another_reviewer_publishes_the_change(
    client, curator, reviewer, published, staff_login
):
    event = published.events.get()
    staff_login(client, curator)
    post_organisation(client, published, name_en="Amnesty International HK")
    post_event(client, event, event_type=EventType.SUSPENDED, destination_country="TW")
    before = public_channels(published, event)
    staff_login(client, reviewer)
    for change in PendingChange.objects.all():
        response = decide(client, change, "approve")
        assert response.status_code == 302
    after = public_channels(published, event)
    assert after["api"]["name_en"] == "Amnesty International HK"
    assert after["event"]["event_type"] == EventType.SUSPENDED
    assert after["public_changed_at"] > before["public_changed_at"]
    assert after["version"] != before["version"]
    assert set(PendingChange.objects.values_list("state", flat=True)) == {"approved"}
    latest = Organisation.objects.get(pk=published.pk).history.first()
    assert latest.history_user == reviewer
    assert latest.history_change_reason == "Approved change proposed by curator"


def test_rejection_changes_nothing_public_and_keeps_the_proposal(
    client, curator, reviewer, published, staff_login
):
    staff_login(client, curator)
    post_organisation(client, published, name_en="Wrong name")
    before = public_channels(published)
    change = PendingChange.objects.get()
    staff_login(client, reviewer)
    decide(client, change, "reject")  # a reason is required
    assert PendingChange.objects.get().state == PendingChangeState.OPEN
    decide(client, change, "reject", reason="Not its name.")
    change.refresh_from_db()
    assert (change.state, change.decided_by, change.decision_reason) == (
        PendingChangeState.REJECTED,
        reviewer,
        "Not its name.",
    )
    assert change.proposed == {"name_en": "Wrong name"}
    assert public_channels(published) == before


def test_a_second_edit_by_the_proposer_continues_their_proposal(curator, published):
    services.propose_change(record=published, user=curator, values={"acronym": "AI"})
    services.propose_change(record=published, user=curator, values={"name_zh": "國際特赦組織"})
    change = PendingChange.objects.get()
    assert change.proposed == {"acronym": "AI", "name_zh": "國際特赦組織"}
    # Setting a field back to its live value takes it out; an empty proposal is dropped.
    services.propose_change(record=published, user=curator, values={"acronym": "", "name_zh": ""})
    assert not PendingChange.objects.exists()


def test_another_persons_edit_is_refused_while_a_proposal_waits_and_their_input_stays(
    client, curator, reviewer, published, staff_login
):
    services.propose_change(record=published, user=curator, values={"acronym": "AI"})
    staff_login(client, reviewer)
    response = post_organisation(client, published, name_en="Someone else's edit")
    assert response.status_code == 200
    assert "waits for a reviewer" in str(response.context["errors"])
    assert response.context["adminform"].form.data["name_en"] == "Someone else's edit"
    assert PendingChange.objects.get().proposed == {"acronym": "AI"}


def test_an_approval_that_conflicts_with_the_live_record_is_refused(
    curator, reviewer, published, admin_user
):
    change = services.propose_change(record=published, user=curator, values={"acronym": "AI"})
    # A superuser edits the live record directly in the meantime.
    organisation = Organisation.objects.get(pk=published.pk)
    organisation.acronym = "AIRO"
    organisation.save()
    with pytest.raises(services.WorkflowRefused, match="changed since this change was proposed"):
        services.approve_change(change=change, user=reviewer)
    assert Organisation.objects.get(pk=published.pk).acronym == "AIRO"
    assert PendingChange.objects.get().state == PendingChangeState.OPEN


def test_an_invalid_proposal_is_refused_before_review(curator, published):
    with pytest.raises(services.WorkflowRefused, match="Wikidata"):
        services.propose_change(record=published, user=curator, values={"wikidata_id": "42"})
    assert not PendingChange.objects.exists()


def test_reviewers_edits_of_published_records_also_wait_but_superusers_do_not(
    client, reviewer, admin_user, published, staff_login
):
    staff_login(client, reviewer)
    post_organisation(client, published, acronym="AI")
    assert Organisation.objects.get(pk=published.pk).acronym == ""
    assert PendingChange.objects.get().proposed_by == reviewer
    services.reject_change(change=PendingChange.objects.get(), user=reviewer, reason="Withdrawn")
    staff_login(client, admin_user)
    before = public_channels(published)
    post_organisation(client, published, acronym="AI")
    assert Organisation.objects.get(pk=published.pk).acronym == "AI"
    assert public_channels(published)["public_changed_at"] > before["public_changed_at"]


def test_edits_of_drafts_are_saved_directly(client, curator, scenario, staff_login):
    staff_login(client, curator)
    response = post_organisation(client, scenario.draft, acronym="DU")
    assert response.status_code == 302
    assert Organisation.objects.get(pk=scenario.draft.pk).acronym == "DU"
    assert not PendingChange.objects.exists()


# --- Imports ----------------------------------------------------------------------------------


def amnesty_row(**overrides):
    row = spreadsheet_row(
        AMNESTY,
        "amnesty-relocated",
        event_type="relocated",
        destination_country="TW",
        destination_city="Taipei",
        effective_date="2021-12",
        stated_reason="The security law made free work impossible.",
        reason_category="nsl_pressure",
    )
    row.update(overrides)
    return row


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"name_en": "Amnesty renamed by import"}, "organisation_id"),
        ({"stated_reason": "Another reason."}, "id"),
        ({"aliases": "AI Hong Kong"}, "aliases"),
        ({"source2_url": "https://news.example.org/more", "source2_title": "More"}, "source2_url"),
        # The cited source's details are public too (tests/test_four_eyes_paths.py).
        ({"source_title": "A report, retitled by import"}, "source_url"),
    ],
)
def test_a_curators_import_cannot_change_a_published_record(curator, published, change, column):
    before = public_channels(published)
    with pytest.raises(services.ImportFailed) as failure:
        services.import_registry(rows=[amnesty_row(**change)], user=curator)
    [problem] = failure.value.problems
    assert (problem.row, problem.column) == (2, column)
    assert "waits for a reviewer" in problem.message
    assert public_channels(published) == before


def test_a_curators_import_may_change_a_published_events_curator_note(curator, published):
    before = public_channels(published)
    services.import_registry(rows=[amnesty_row(curator_note="Checked again.")], user=curator)
    assert published.events.get().curator_note == "Checked again."
    assert public_channels(published) == before


def test_the_operators_import_changes_published_records_directly(published):
    services.import_registry(rows=[amnesty_row(name_en="Amnesty International HK")])
    assert Organisation.objects.public().get(pk=published.pk).name_en == "Amnesty International HK"


# --- Inlines -----------------------------------------------------------------------------------


def with_inline_event(data: dict, organisation, event=None, index=0, **overrides) -> dict:
    """The organisation form's data with one event inline (an existing one, or a new one)."""
    fields = event_data(event, **overrides) if event is not None else overrides
    data.update(
        {
            "events-TOTAL_FORMS": str(index + 1),
            "events-INITIAL_FORMS": "1" if event is not None else "0",
            f"events-{index}-id": event.pk if event is not None else "",
            f"events-{index}-organisation": organisation.pk,
        }
    )
    for name, value in fields.items():
        if name != "change_reason":
            data[f"events-{index}-{name}"] = value
    return data


def test_a_published_event_edited_inline_waits_and_a_new_draft_event_is_saved(
    client, curator, published, staff_login
):
    event = published.events.get()
    before = public_channels(published, event)
    data = with_inline_event(
        change_data(published), published, event, stated_reason_en="Changed inline."
    )
    data = with_inline_event(
        data,
        published,
        index=1,
        uid="amnesty-new-draft",
        event_type=EventType.SUSPENDED,
        confidence="medium",
        effective_on="2022-01-01",
        effective_precision="day",
        **{"citations-TOTAL_FORMS": "0", "citations-INITIAL_FORMS": "0"},
    )
    data["events-INITIAL_FORMS"] = "1"
    staff_login(client, curator)
    response = client.post(f"/admin/closures/organisation/{published.pk}/change/", data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert public_channels(published, event) == before
    assert PendingChange.objects.get(event=event).proposed == {
        "stated_reason_en": "Changed inline."
    }
    assert Event.objects.get(pk=event.pk).stated_reason_en == event.stated_reason_en
    assert Event.objects.get(uid="amnesty-new-draft").review_state == "draft"


def test_an_alias_added_to_a_published_organisation_waits_for_a_reviewer(
    client, curator, reviewer, published, staff_login
):
    before = public_channels(published)
    data = change_data(published)
    data.update(
        {
            "aliases-TOTAL_FORMS": "1",
            "aliases-0-name": "AI Hong Kong",
            "aliases-0-language": "en",
            "aliases-0-kind": "alias",
        }
    )
    staff_login(client, curator)
    response = client.post(f"/admin/closures/organisation/{published.pk}/change/", data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert public_channels(published) == before
    assert not published.aliases.exists()
    change = PendingChange.objects.get()
    assert change.proposed == {"aliases": [["AI Hong Kong", "en", "alias"]]}
    services.approve_change(change=change, user=reviewer)
    assert public_channels(published)["api"]["aliases"] == [
        {"name": "AI Hong Kong", "language": "en", "kind": "alias"}
    ]


def test_approving_a_citation_proposal_changes_the_events_citations(curator, reviewer, published):
    event = published.events.get()
    [citation] = event.citations.all()
    source = Source.objects.create(url="https://news.example.org/evidence-2", title="Second")
    proposed = [
        {"source": citation.source_id, "quote": "Quoted better.", "claims": ["date", "event"]},
        {"source": source.pk, "quote": "", "claims": ["reason"]},
    ]
    change = services.propose_change(record=event, user=curator, values={"citations": proposed})
    assert event.citations.get().quote == citation.quote
    services.approve_change(change=change, user=reviewer)
    shown = Client().get(f"/api/v1/events/{event.uid}/").json()["citations"]
    assert sorted((c["source"], c["quote"]) for c in shown) == sorted(
        [(citation.source.uid, "Quoted better."), (source.uid, "")]
    )


def test_curators_and_reviewers_list_the_changes_waiting(
    client, curator, reviewer, published, staff_login
):
    services.propose_change(record=published, user=curator, values={"acronym": "AI"})
    for person in (curator, reviewer):
        staff_login(client, person)
        listing = client.get("/admin/closures/pendingchange/?state=open")
        assert listing.status_code == 200
        assert f"/admin/closures/organisation/{published.pk}/change/" in listing.content.decode()

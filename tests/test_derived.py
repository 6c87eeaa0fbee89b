"""Every path that changes events refreshes its organisation's derived fields (issue 12.3).

Each test changes the one closure step of a public organisation through one path and checks
the status the curators and the public see right after, in the same request or call.
"""

import datetime as dt

import pytest

from closures import services
from closures.models import Event, EventType, Organisation, ReviewState, Status
from closures.services import import_registry

from .test_services import valid_row


@pytest.fixture
def disbanded(make_public_organisation, make_event):
    """A public organisation that disbanded after a police investigation."""
    organisation = make_public_organisation(
        event={"uid": "disbanding", "stated_reason_en": "Dissolved under pressure"}
    )
    make_event(organisation, uid="investigation", event_type=EventType.POLICE_INVESTIGATION)
    services.refresh_organisation(organisation_id=organisation.pk)
    organisation.refresh_from_db()
    assert (organisation.current_status, organisation.public_status) == ("disbanded", "disbanded")
    return organisation


def test_refresh_recomputes_status_and_latest_date_without_history(
    make_public_organisation, make_event
):
    organisation = make_public_organisation(event={"effective_on": dt.date(2021, 6, 1)})
    make_event(organisation, event_type=EventType.LIQUIDATED, effective_on=dt.date(2022, 3, 1))
    history_before = organisation.history.count()
    for _ in range(2):  # safe to run twice
        services.refresh_organisation(organisation_id=organisation.pk)
    organisation.refresh_from_db()
    assert organisation.current_status == organisation.public_status == Status.LIQUIDATED
    assert organisation.public_latest_event_on == dt.date(2022, 3, 1)
    assert organisation.history.count() == history_before


def statuses(organisation):
    organisation.refresh_from_db()
    return organisation.current_status, organisation.public_status


# A reviewer withdraws a published event rather than delete it (tests/test_four_eyes_paths.py);
# a superuser deletes directly, and so do reviewers once it is withdrawn.


def test_admin_delete_of_an_event_refreshes_the_status(client, admin_user, disbanded, staff_login):
    event = disbanded.events.get(uid="disbanding")
    staff_login(client, admin_user)
    response = client.post(f"/admin/closures/event/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert statuses(disbanded) == (Status.ACTIVE, Status.ACTIVE)
    assert "Dissolved under pressure" not in disbanded.search_text


def test_admin_bulk_delete_of_events_refreshes_every_organisation(
    client, admin_user, disbanded, make_public_organisation, staff_login
):
    other = make_public_organisation()
    staff_login(client, admin_user)
    events = [disbanded.events.get(uid="disbanding"), other.events.get()]
    response = client.post(
        "/admin/closures/event/",
        {"action": "delete_selected", "_selected_action": [e.pk for e in events], "post": "yes"},
    )
    assert response.status_code == 302
    assert statuses(disbanded) == (Status.ACTIVE, Status.ACTIVE)
    assert statuses(other) == (Status.UNKNOWN, Status.UNKNOWN)


def test_deleting_an_event_in_the_organisation_form_refreshes_the_status(
    client, admin_user, disbanded, staff_login
):
    from .test_history import change_data

    events = list(disbanded.events.order_by("uid"))
    data = change_data(disbanded, **{"events-TOTAL_FORMS": "2", "events-INITIAL_FORMS": "2"})
    for index, event in enumerate(events):
        data.update(
            {
                f"events-{index}-id": event.pk,
                f"events-{index}-organisation": disbanded.pk,
                f"events-{index}-uid": event.uid,
                f"events-{index}-event_type": event.event_type,
                f"events-{index}-confidence": event.confidence,
                f"events-{index}-effective_on": event.effective_on.isoformat(),
                f"events-{index}-effective_precision": event.effective_precision,
                f"events-{index}-DELETE": "on" if event.uid == "disbanding" else "",
                f"events-{index}-citations-TOTAL_FORMS": "0",
                f"events-{index}-citations-INITIAL_FORMS": "0",
            }
        )
    staff_login(client, admin_user)
    response = client.post(f"/admin/closures/organisation/{disbanded.pk}/change/", data)
    assert response.status_code == 302, response.context["errors"]
    assert not Event.objects.filter(uid="disbanding").exists()
    assert statuses(disbanded) == (Status.ACTIVE, Status.ACTIVE)


def test_admin_edit_of_an_event_refreshes_the_status_in_the_same_request(
    client, admin_user, disbanded, staff_login
):
    # A superuser's edit of a published event goes live at once; anyone else's waits for a
    # reviewer (tests/test_pending_changes.py), and the approval refreshes it.
    event = disbanded.events.get(uid="disbanding")
    staff_login(client, admin_user)
    response = client.post(
        f"/admin/closures/event/{event.pk}/change/",
        {
            "uid": event.uid,
            "event_type": EventType.SUSPENDED,
            "confidence": event.confidence,
            "effective_on": event.effective_on.isoformat(),
            "effective_precision": "day",
            "citations-TOTAL_FORMS": "0",
            "citations-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["errors"]
    assert statuses(disbanded) == (Status.SUSPENDED, Status.SUSPENDED)


def test_import_changing_an_event_refreshes_the_status(db):
    import_registry(rows=[valid_row()], review_state=ReviewState.PUBLISHED)
    import_registry(rows=[valid_row(event_type="suspended")])
    organisation = Organisation.objects.get(slug="test-org")
    assert statuses(organisation) == (Status.SUSPENDED, Status.SUSPENDED)


def test_revert_of_an_event_refreshes_the_status(reviewer, second_reviewer, disbanded):
    event = disbanded.events.get(uid="disbanding")
    version = event.history.first()
    event.event_type = EventType.LIQUIDATED
    event.save()
    services.refresh_organisation(organisation_id=disbanded.pk)
    assert statuses(disbanded) == (Status.LIQUIDATED, Status.LIQUIDATED)
    # Published: the revert is a proposal, and its approval refreshes the status.
    change = services.revert_to_version(historical_record=version, user=reviewer)
    assert statuses(disbanded) == (Status.LIQUIDATED, Status.LIQUIDATED)
    services.approve_change(change=change, user=second_reviewer)
    assert statuses(disbanded) == (Status.DISBANDED, Status.DISBANDED)


def test_revert_of_a_deleted_citation_refreshes_the_status(admin_user, disbanded):
    citation = disbanded.events.get(uid="disbanding").citations.get()
    version = citation.history.first()
    citation.delete()
    services.refresh_organisation(organisation_id=disbanded.pk)
    assert statuses(disbanded) == (Status.DISBANDED, Status.ACTIVE)
    # A superuser's: a reviewer's is refused for a published event's citation (it would be
    # public at once), which goes through the event's form instead.
    services.revert_to_version(historical_record=version, user=admin_user)
    assert statuses(disbanded) == (Status.DISBANDED, Status.DISBANDED)


def test_every_workflow_step_on_an_event_refreshes_the_status(
    disbanded, curator, reviewer, second_reviewer
):
    event = disbanded.events.get(uid="disbanding")
    services.withdraw(record=event, user=reviewer, reason="Duplicate")
    assert statuses(disbanded) == (Status.ACTIVE, Status.ACTIVE)
    services.return_to_draft(record=event, user=reviewer, reason="Rework")
    assert statuses(disbanded) == (Status.DISBANDED, Status.ACTIVE)
    services.submit_for_review(record=event, user=curator)
    services.publish(record=event, user=reviewer)
    assert statuses(disbanded) == (Status.DISBANDED, Status.DISBANDED)
    services.set_embargo(record=event, user=second_reviewer, reason="Safety")
    assert statuses(disbanded) == (Status.DISBANDED, Status.ACTIVE)
    services.lift_embargo(record=event, user=second_reviewer)
    assert statuses(disbanded) == (Status.DISBANDED, Status.DISBANDED)


def test_moving_an_event_refreshes_both_organisations(
    reviewer, disbanded, make_public_organisation
):
    target = make_public_organisation(event={"event_type": EventType.RAID})
    event = disbanded.events.get(uid="disbanding")
    services.move_event(record=event, organisation=target, user=reviewer, reason="Wrong record")
    assert statuses(disbanded) == (Status.ACTIVE, Status.ACTIVE)
    assert statuses(target) == (Status.DISBANDED, Status.ACTIVE)

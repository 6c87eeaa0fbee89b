import datetime as dt

import pytest

from closures import services
from closures.models import Event, Organisation, ReviewState
from closures.services import WorkflowRefused


@pytest.fixture
def draft(make_organisation, make_event):
    """A draft organisation with one cited draft event: ready to go through review."""
    organisation = make_organisation(name_en="Draft Union", notes="Named a member.")
    make_event(organisation, review_state=ReviewState.DRAFT)
    return organisation


def submitted(draft, curator):
    return services.submit_for_review(record=draft, user=curator)


def test_submitting_moves_the_record_and_its_draft_events_into_review(draft, curator):
    organisation = submitted(draft, curator)
    assert organisation.review_state == ReviewState.IN_REVIEW
    assert organisation.submitted_by == curator
    assert set(organisation.events.values_list("review_state", flat=True)) == {"in_review"}


def test_curators_cannot_publish(draft, curator):
    submitted(draft, curator)
    with pytest.raises(WorkflowRefused, match="Only reviewers"):
        services.publish(record=draft, user=curator)


def test_reviewer_publishes_another_curators_submission_and_it_becomes_public(
    draft, curator, reviewer
):
    submitted(draft, curator)
    organisation = services.publish(record=draft, user=reviewer, reason="Checked both sources")
    assert organisation.review_state == ReviewState.PUBLISHED
    assert organisation.first_published_at is not None
    assert Organisation.objects.public().filter(pk=draft.pk).exists()
    assert Event.objects.public().filter(organisation=draft).count() == 1
    latest = organisation.history.first()
    assert (latest.history_user, latest.history_change_reason) == (
        reviewer,
        "Checked both sources",
    )


def test_four_eyes_reviewer_cannot_publish_own_submission(draft, reviewer, second_reviewer):
    services.submit_for_review(record=draft, user=reviewer)
    with pytest.raises(WorkflowRefused, match="four-eyes"):
        services.publish(record=draft, user=reviewer)
    draft.refresh_from_db()
    assert draft.review_state == ReviewState.IN_REVIEW
    assert services.publish(record=draft, user=second_reviewer).review_state == "published"


def test_superuser_may_publish_own_submission(draft, admin_user):
    services.submit_for_review(record=draft, user=admin_user)
    assert services.publish(record=draft, user=admin_user).review_state == "published"


def test_publishing_without_a_cited_event_is_refused(make_organisation, curator, reviewer):
    organisation = make_organisation()
    services.submit_for_review(record=organisation, user=curator)
    with pytest.raises(WorkflowRefused, match="cited source"):
        services.publish(record=organisation, user=reviewer)
    organisation.refresh_from_db()
    assert organisation.review_state == ReviewState.IN_REVIEW


def test_publishing_a_draft_directly_is_refused(draft, reviewer):
    with pytest.raises(WorkflowRefused, match="in review"):
        services.publish(record=draft, user=reviewer)


def test_return_to_draft_needs_a_reason_and_brings_events_back(draft, curator, reviewer):
    submitted(draft, curator)
    with pytest.raises(WorkflowRefused, match="Say why"):
        services.return_to_draft(record=draft, user=reviewer, reason=" ")
    organisation = services.return_to_draft(record=draft, user=reviewer, reason="Dates unclear")
    assert organisation.review_state == ReviewState.DRAFT
    assert set(organisation.events.values_list("review_state", flat=True)) == {"draft"}


def test_withdrawal_needs_a_public_reason_and_hides_the_record(make_public_organisation, reviewer):
    organisation = make_public_organisation()
    with pytest.raises(WorkflowRefused, match="public reason"):
        services.withdraw(record=organisation, user=reviewer, reason="")
    services.withdraw(record=organisation, user=reviewer, reason="Merged into another record.")
    organisation.refresh_from_db()
    assert organisation.review_state == ReviewState.WITHDRAWN
    assert organisation.withdrawn_reason == "Merged into another record."
    assert not Organisation.objects.public().filter(pk=organisation.pk).exists()


def test_reviewer_cannot_withdraw_own_submission(draft, reviewer, second_reviewer):
    services.submit_for_review(record=draft, user=reviewer)
    services.publish(record=draft, user=second_reviewer)
    with pytest.raises(WorkflowRefused, match="four-eyes"):
        services.withdraw(record=draft, user=reviewer, reason="Duplicate")


def test_curators_cannot_withdraw_or_embargo(make_public_organisation, curator):
    organisation = make_public_organisation()
    with pytest.raises(WorkflowRefused):
        services.withdraw(record=organisation, user=curator, reason="Duplicate")
    with pytest.raises(WorkflowRefused):
        services.set_embargo(record=organisation, user=curator, reason="Safety")


def test_embargo_hides_a_published_record_until_lifted(make_public_organisation, reviewer):
    organisation = make_public_organisation()
    with pytest.raises(WorkflowRefused, match="reason"):
        services.set_embargo(record=organisation, user=reviewer, reason="")
    services.set_embargo(
        record=organisation, user=reviewer, reason="Names a detainee", review_on=dt.date(2027, 1, 1)
    )
    organisation.refresh_from_db()
    assert organisation.embargo_review_on == dt.date(2027, 1, 1)
    assert not Organisation.objects.public().filter(pk=organisation.pk).exists()
    services.lift_embargo(record=organisation, user=reviewer)
    organisation.refresh_from_db()
    assert not organisation.embargoed and organisation.embargo_reason == ""
    assert Organisation.objects.public().filter(pk=organisation.pk).exists()


def test_embargoing_an_event_hides_it_and_refreshes_the_public_status(
    make_public_organisation, reviewer
):
    organisation = make_public_organisation()
    event = organisation.events.get()
    services.set_embargo(record=event, user=reviewer, reason="Source at risk")
    organisation.refresh_from_db()
    assert organisation.public_status == "unknown"
    assert not Event.objects.public().filter(pk=event.pk).exists()


# --- Public pages ----------------------------------------------------------------------


def test_withdrawn_record_answers_410_with_the_public_reason(
    client, make_public_organisation, reviewer
):
    organisation = make_public_organisation(name_en="Gone Union")
    organisation.first_published_at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    organisation.save()
    services.withdraw(record=organisation, user=reviewer, reason="Found to be a duplicate.")
    response = client.get(organisation.get_absolute_url())
    assert response.status_code == 410
    assert "Found to be a duplicate." in response.content.decode()
    assert "Gone Union" in response.content.decode()


def test_withdrawn_record_that_is_also_embargoed_is_a_plain_404(
    client, make_public_organisation, reviewer
):
    organisation = make_public_organisation(name_en="Hidden Union")
    organisation.first_published_at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    organisation.save()
    services.withdraw(record=organisation, user=reviewer, reason="Unsafe")
    services.set_embargo(record=organisation, user=reviewer, reason="Safety")
    response = client.get(organisation.get_absolute_url())
    assert response.status_code == 404
    assert "Hidden Union" not in response.content.decode()


def test_draft_record_url_is_404(client, draft):
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_sensitive_notes_never_reach_the_public_page(client, make_public_organisation):
    organisation = make_public_organisation(
        notes="Secretary Chan was arrested", notes_sensitive=True
    )
    assert organisation.public_notes == ""
    page = client.get(organisation.get_absolute_url()).content.decode()
    assert "Secretary Chan" not in page


# --- Admin actions ----------------------------------------------------------------------


def post_action(client, action, records, **data):
    return client.post(
        "/admin/closures/organisation/",
        {"action": action, "_selected_action": [record.pk for record in records], **data},
        follow=True,
    )


def test_admin_action_asks_for_a_reason_before_withdrawing(
    client, make_public_organisation, reviewer, staff_login
):
    organisation = make_public_organisation()
    staff_login(client, reviewer)
    page = post_action(client, "withdraw", [organisation])
    assert page.status_code == 200
    assert "public reason for the withdrawal" in page.content.decode()
    organisation.refresh_from_db()
    assert organisation.review_state == ReviewState.PUBLISHED
    post_action(client, "withdraw", [organisation], apply="1", reason="Duplicate record")
    organisation.refresh_from_db()
    assert organisation.review_state == ReviewState.WITHDRAWN


def test_admin_publish_action_reports_the_four_eyes_refusal(client, draft, reviewer, staff_login):
    services.submit_for_review(record=draft, user=reviewer)
    staff_login(client, reviewer)
    response = post_action(client, "publish", [draft], apply="1")
    assert "four-eyes" in response.content.decode()
    draft.refresh_from_db()
    assert draft.review_state == ReviewState.IN_REVIEW


def test_curators_are_not_offered_reviewer_actions(client, curator, staff_login):
    staff_login(client, curator)
    response = client.get("/admin/closures/organisation/")
    actions = {choice[0] for choice in response.context["action_form"].fields["action"].choices}
    assert {"submit_for_review", "return_to_draft"} <= actions
    assert not {"publish", "withdraw", "set_embargo", "lift_embargo"} & actions


def test_admin_embargo_action_sets_reason_and_review_date(
    client, make_public_organisation, reviewer, staff_login
):
    organisation = make_public_organisation()
    staff_login(client, reviewer)
    post_action(
        client,
        "set_embargo",
        [organisation],
        apply="1",
        reason="Names a detainee",
        review_on="2027-03-01",
    )
    organisation.refresh_from_db()
    assert organisation.embargoed
    assert organisation.embargo_review_on == dt.date(2027, 3, 1)


def test_embargoed_record_shows_a_banner_in_the_admin(
    client, make_organisation, admin_user, staff_login
):
    organisation = make_organisation(embargoed=True, embargo_reason="Names a detainee")
    staff_login(client, admin_user)
    page = client.get(f"/admin/closures/organisation/{organisation.pk}/change/").content.decode()
    assert "EMBARGOED" in page and "Names a detainee" in page


def test_changelist_shows_state_and_who_has_it(client, draft, curator, admin_user, staff_login):
    services.submit_for_review(record=draft, user=curator)
    staff_login(client, admin_user)
    page = client.get("/admin/closures/organisation/").content.decode()
    assert "in review" in page
    assert "curator" in page


def test_event_actions_publish_a_single_event(
    client, make_public_organisation, make_event, curator, reviewer, staff_login
):
    organisation = make_public_organisation()
    event = make_event(organisation, review_state=ReviewState.DRAFT)
    services.submit_for_review(record=event, user=curator)
    staff_login(client, reviewer)
    client.post(
        "/admin/closures/event/",
        {"action": "publish", "_selected_action": [event.pk], "apply": "1"},
    )
    event.refresh_from_db()
    assert event.review_state == ReviewState.PUBLISHED


def test_changelist_queries_do_not_grow_with_records(
    client, admin_user, make_organisation, curator, django_assert_max_num_queries, staff_login
):
    for _ in range(30):
        services.submit_for_review(record=make_organisation(), user=curator)
    staff_login(client, admin_user)
    with django_assert_max_num_queries(12):
        assert client.get("/admin/closures/organisation/").status_code == 200

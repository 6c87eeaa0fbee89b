import datetime as dt
import importlib

import pytest
from django.utils import timezone

from closures import services
from closures.models import Event, Organisation, ReviewState
from closures.services import WorkflowRefused


@pytest.fixture
def draft(make_organisation, make_event):
    """A draft organisation with one cited draft event: ready to go through review."""
    organisation = make_organisation(name_en="Draft Union", curator_note="Named a member.")
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


def test_withdrawal_needs_a_reason_and_hides_the_record(make_public_organisation, reviewer):
    organisation = make_public_organisation()
    with pytest.raises(WorkflowRefused, match="reason for the withdrawal"):
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
    services.withdraw(
        record=organisation, user=reviewer, reason="Found to be a duplicate.", reason_public=True
    )
    response = client.get(organisation.get_absolute_url())
    assert response.status_code == 410
    assert "Found to be a duplicate." in response.content.decode()
    assert "Gone Union" in response.content.decode()


def test_the_410_page_gives_the_public_reason_in_both_languages_and_the_date(
    client, make_public_organisation, reviewer
):
    organisation = make_public_organisation(name_en="Gone Union", name_zh="離開工會")
    services.withdraw(
        record=organisation,
        user=reviewer,
        reason="Found to be a duplicate.",
        reason_zh="發現與另一紀錄重複。",
        reason_public=True,
    )
    today = timezone.localdate().isoformat()
    english = client.get(organisation.get_absolute_url()).content.decode()
    chinese = client.get(f"/zh-hant/organisations/{organisation.slug}/").content.decode()
    for page in (english, chinese):
        assert "Found to be a duplicate." in page
        assert "發現與另一紀錄重複。" in page
        assert today in page
    # Each reason sits in the part of its own language; the other part is marked.
    assert english.index("Found to be a duplicate.") < english.index("發現與另一紀錄重複。")
    assert chinese.index("發現與另一紀錄重複。") < chinese.index("Found to be a duplicate.")
    assert '<section class="withdrawn-notice" lang="zh-Hant">' in english
    assert '<section class="withdrawn-notice" lang="en">' in chinese
    withdrawn = client.get("/api/v1/withdrawn/").json()["results"]
    assert withdrawn[0]["reason_zh"] == "發現與另一紀錄重複。"


def test_without_a_chinese_reason_the_chinese_part_gives_the_english_one_marked_english(
    client, make_public_organisation, reviewer
):
    organisation = make_public_organisation()
    services.withdraw(record=organisation, user=reviewer, reason="Duplicate.", reason_public=True)
    page = client.get(f"/zh-hant/organisations/{organisation.slug}/").content.decode()
    assert '<span lang="en">Duplicate.</span>' in page


def test_once_public_record_withdrawn_then_embargoed_says_only_no_longer_public(
    client, make_public_organisation, reviewer
):
    organisation = make_public_organisation(name_en="Hidden Union")
    services.withdraw(record=organisation, user=reviewer, reason="Unsafe", reason_public=True)
    services.set_embargo(record=organisation, user=reviewer, reason="Safety")
    response = client.get(organisation.get_absolute_url())
    assert response.status_code == 410
    page = response.content.decode()
    assert "no longer public" in page
    assert "Hidden Union" not in page and "Unsafe" not in page and "Safety" not in page


def test_embargoed_and_quietly_withdrawn_records_answer_alike(
    client, make_public_organisation, reviewer
):
    """A safety embargo must not be told apart from a withdrawal without a public reason."""
    embargoed = make_public_organisation(slug="embargoed-one", name_en="First Union")
    withdrawn = make_public_organisation(slug="withdrawn-one", name_en="Second Union")
    services.set_embargo(record=embargoed, user=reviewer, reason="Staff at risk")
    services.withdraw(record=withdrawn, user=reviewer, reason="Duplicate of another record")
    first = client.get(embargoed.get_absolute_url())
    second = client.get(withdrawn.get_absolute_url())
    assert first.status_code == second.status_code == 410
    # The page's links repeat the address the visitor asked for, nothing else differs.
    assert first.content.replace(b"embargoed-one", b"SLUG") == second.content.replace(
        b"withdrawn-one", b"SLUG"
    )


def test_never_public_withdrawn_record_is_a_plain_404(client, draft, curator, reviewer):
    """Published while every event was embargoed, then withdrawn: the public never saw it."""
    services.set_embargo(record=draft.events.get(), user=reviewer, reason="Source at risk")
    submitted(draft, curator)
    services.publish(record=draft, user=reviewer)
    services.withdraw(record=draft, user=reviewer, reason="Wrong record", reason_public=True)
    draft.refresh_from_db()
    assert draft.first_published_at is None and draft.public_changed_at is None
    response = client.get(draft.get_absolute_url())
    assert response.status_code == 404
    assert "Wrong record" not in response.content.decode()
    assert client.get("/api/v1/withdrawn/").json()["results"] == []


def test_draft_record_url_is_404(client, draft):
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_curator_notes_never_reach_the_public_page(client, make_public_organisation):
    organisation = make_public_organisation(curator_note="Secretary Chan was arrested")
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
    assert "reason for the withdrawal" in page.content.decode()
    assert "the reason may be shown publicly" in page.content.decode()
    organisation.refresh_from_db()
    assert organisation.review_state == ReviewState.PUBLISHED
    post_action(client, "withdraw", [organisation], apply="1", reason="Duplicate record")
    organisation.refresh_from_db()
    assert organisation.review_state == ReviewState.WITHDRAWN
    assert not organisation.withdrawn_reason_public


def test_admin_withdraw_action_marks_the_reason_public_when_ticked(
    client, make_public_organisation, reviewer, staff_login
):
    organisation = make_public_organisation()
    staff_login(client, reviewer)
    post_action(
        client,
        "withdraw",
        [organisation],
        apply="1",
        reason="Duplicate",
        reason_zh="重複紀錄",
        reason_public="on",
    )
    organisation.refresh_from_db()
    assert organisation.withdrawn_reason_public
    assert organisation.withdrawn_reason_zh == "重複紀錄"
    assert "Duplicate" in client.get(organisation.get_absolute_url()).content.decode()


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


# --- Four eyes from the recorded submitter (issue 12.1, issue 13.7) -----------------------


@pytest.fixture
def public_with_draft_event(make_public_organisation, make_event):
    """A public organisation and a draft event of it, not yet submitted."""
    organisation = make_public_organisation(name_en="Public Union")
    event = make_event(organisation, review_state=ReviewState.DRAFT, uid="new-step")
    return organisation, event


def test_submitting_an_event_records_its_submitter(public_with_draft_event, curator):
    _, event = public_with_draft_event
    event = services.submit_for_review(record=event, user=curator)
    event.refresh_from_db()
    assert event.submitted_by == curator


def test_submitting_an_organisation_records_the_submitter_on_its_events(draft, curator):
    submitted(draft, curator)
    assert {event.submitted_by for event in draft.events.all()} == {curator}


def test_four_eyes_holds_for_an_event_edited_after_its_submission(
    public_with_draft_event, reviewer, second_reviewer
):
    """Reviewer A submits, B edits, and A still may not publish: the rule reads the submitter."""
    _, event = public_with_draft_event
    services.submit_for_review(record=event, user=reviewer)
    event.refresh_from_db()
    event.stated_reason_en = "Reworded by another reviewer."
    event._history_user = second_reviewer
    event.save()
    with pytest.raises(WorkflowRefused, match="four-eyes"):
        services.publish(record=event, user=reviewer)
    event.refresh_from_db()
    assert event.review_state == ReviewState.IN_REVIEW
    assert services.publish(record=event, user=second_reviewer).review_state == "published"


def test_four_eyes_for_withdrawing_an_event_reads_its_submitter(
    public_with_draft_event, reviewer, second_reviewer
):
    _, event = public_with_draft_event
    services.submit_for_review(record=event, user=reviewer)
    services.publish(record=event, user=second_reviewer)
    event.refresh_from_db()
    event.confidence = "high"
    event._history_user = second_reviewer
    event.save()
    with pytest.raises(WorkflowRefused, match="four-eyes"):
        services.withdraw(record=event, user=reviewer, reason="Duplicate")


def test_publishing_an_organisation_refuses_events_the_reviewer_submitted(
    draft, make_event, curator, reviewer, second_reviewer
):
    """Events carried by a publish obey the same rule as a direct publish: nothing goes out."""
    own = make_event(draft, review_state=ReviewState.DRAFT, uid="reviewers-own-step")
    services.submit_for_review(record=own, user=reviewer)
    submitted(draft, curator)
    with pytest.raises(WorkflowRefused, match="reviewers-own-step") as refusal:
        services.publish(record=draft, user=reviewer)
    assert "four-eyes" in str(refusal.value)
    draft.refresh_from_db()
    assert draft.review_state == ReviewState.IN_REVIEW
    assert set(draft.events.values_list("review_state", flat=True)) == {"in_review"}
    assert not Organisation.objects.public().filter(pk=draft.pk).exists()
    services.publish(record=draft, user=second_reviewer)
    assert set(draft.events.values_list("review_state", flat=True)) == {"published"}


def test_returning_to_draft_forgets_the_submitter(draft, curator, reviewer):
    submitted(draft, curator)
    services.return_to_draft(record=draft, user=reviewer, reason="Dates unclear")
    draft.refresh_from_db()
    assert draft.submitted_by is None
    assert {event.submitted_by for event in draft.events.all()} == {None}


def test_curator_returns_own_event_submission_to_draft(public_with_draft_event, curator, reviewer):
    _, event = public_with_draft_event
    services.submit_for_review(record=event, user=curator)
    event.refresh_from_db()
    event._history_user = reviewer
    event.notes = "Reviewer looked at it."
    event.save()
    services.return_to_draft(record=event, user=curator, reason="Found a better source")
    event.refresh_from_db()
    assert event.review_state == ReviewState.DRAFT


# --- Invalid records are refused with a message, never a crash (issue 12.6) ---------------


@pytest.fixture
def invalid_draft(make_organisation, make_event):
    """A record saved past validation (as old data or a bulk load may be): bad Wikidata ID."""
    organisation = make_organisation(name_en="Invalid Union", wikidata_id="not-a-q-number")
    make_event(organisation, review_state=ReviewState.DRAFT)
    return organisation


def test_submitting_an_invalid_record_is_refused_with_the_field_to_fix(invalid_draft, curator):
    with pytest.raises(WorkflowRefused, match="Wikidata ID: A Wikidata ID looks like Q42"):
        services.submit_for_review(record=invalid_draft, user=curator)
    invalid_draft.refresh_from_db()
    assert invalid_draft.review_state == ReviewState.DRAFT


def test_submitting_a_record_with_an_invalid_event_names_the_event(
    make_organisation, make_event, curator
):
    organisation = make_organisation()
    make_event(organisation, review_state=ReviewState.DRAFT, uid="cityless", destination_city="X")
    with pytest.raises(
        WorkflowRefused, match="cityless.*Destination country: A destination city needs its country"
    ):
        services.submit_for_review(record=organisation, user=curator)
    organisation.refresh_from_db()
    assert organisation.review_state == ReviewState.DRAFT
    assert organisation.events.get().review_state == ReviewState.DRAFT


def test_lifting_an_embargo_of_an_invalid_record_is_refused(invalid_draft, reviewer):
    services.set_embargo(record=invalid_draft, user=reviewer, reason="Safety")
    with pytest.raises(WorkflowRefused, match="Wikidata ID"):
        services.lift_embargo(record=invalid_draft, user=reviewer)
    invalid_draft.refresh_from_db()
    assert invalid_draft.embargoed


def test_hiding_steps_are_never_blocked_by_an_unrelated_invalid_field(
    make_public_organisation, reviewer, second_reviewer
):
    """Safety first: an embargo, a withdrawal or a return to draft hides even a flawed record."""
    organisation = make_public_organisation(wikidata_id="bad")
    services.set_embargo(record=organisation, user=reviewer, reason="Names a detainee")
    organisation.refresh_from_db()
    assert organisation.embargoed
    services.withdraw(record=organisation, user=second_reviewer, reason="Merged")
    services.return_to_draft(record=organisation, user=second_reviewer, reason="Rework")
    organisation.refresh_from_db()
    assert organisation.review_state == ReviewState.DRAFT


@pytest.mark.parametrize("action", ["submit_for_review", "lift_embargo"])
def test_admin_action_on_an_invalid_record_shows_the_refusal(
    client, invalid_draft, admin_user, action, staff_login
):
    if action == "lift_embargo":
        services.set_embargo(record=invalid_draft, user=admin_user, reason="Safety")
    staff_login(client, admin_user)
    response = post_action(client, action, [invalid_draft], apply="1")
    assert response.status_code == 200
    assert "A Wikidata ID looks like Q42" in response.content.decode()


def test_admin_event_action_on_an_invalid_event_shows_the_refusal(
    client, make_public_organisation, make_event, admin_user, staff_login
):
    event = make_event(
        make_public_organisation(), review_state=ReviewState.DRAFT, destination_city="Taipei"
    )
    staff_login(client, admin_user)
    response = client.post(
        "/admin/closures/event/",
        {"action": "submit_for_review", "_selected_action": [event.pk], "apply": "1"},
        follow=True,
    )
    assert response.status_code == 200
    assert "A destination city needs its country" in response.content.decode()
    event.refresh_from_db()
    assert event.review_state == ReviewState.DRAFT


# --- Moving an event to another organisation (issue 13.2) ---------------------------------


@pytest.fixture
def embargoed_and_public(make_public_organisation):
    """An embargoed organisation whose own event is not embargoed, and a public one."""
    hidden = make_public_organisation(
        name_en="Hidden Union",
        embargoed=True,
        embargo_reason="Members at risk",
        event={"uid": "hidden-step", "stated_reason_en": "Leaders named in a raid warrant"},
    )
    public = make_public_organisation(
        name_en="Open Union", event={"event_type": "police_investigation"}
    )
    return hidden, public


def test_curators_cannot_move_an_event(embargoed_and_public, curator):
    hidden, public = embargoed_and_public
    with pytest.raises(WorkflowRefused, match="Only reviewers"):
        services.move_event(
            record=hidden.events.get(), organisation=public, user=curator, reason="Wrong record"
        )
    assert hidden.events.count() == 1


def test_a_moved_event_arrives_in_review_and_both_organisations_are_refreshed(
    embargoed_and_public, reviewer, second_reviewer
):
    hidden, public = embargoed_and_public
    event = hidden.events.get()
    services.move_event(record=event, organisation=public, user=reviewer, reason="Wrong record")
    event.refresh_from_db()
    hidden.refresh_from_db()
    public.refresh_from_db()
    assert event.organisation == public
    assert (event.review_state, event.submitted_by) == (ReviewState.IN_REVIEW, reviewer)
    assert not Event.objects.public().filter(pk=event.pk).exists()
    assert "raid warrant" not in public.search_text
    assert "raid warrant" not in hidden.search_text
    assert (hidden.current_status, hidden.public_status) == ("unknown", "unknown")
    assert (public.current_status, public.public_status) == ("disbanded", "active")
    assert event.history.first().history_change_reason.startswith("Moved from")
    with pytest.raises(WorkflowRefused, match="four-eyes"):
        services.publish(record=event, user=reviewer)
    services.publish(record=event, user=second_reviewer)
    public.refresh_from_db()
    assert public.public_status == "disbanded"
    assert "raid warrant" in public.search_text


def test_moving_needs_a_reason_and_another_organisation(embargoed_and_public, reviewer):
    hidden, _ = embargoed_and_public
    event = hidden.events.get()
    with pytest.raises(WorkflowRefused, match="already belongs"):
        services.move_event(record=event, organisation=hidden, user=reviewer, reason="x")
    with pytest.raises(WorkflowRefused, match="Say why"):
        services.move_event(record=event, organisation=hidden, user=reviewer, reason=" ")


def test_event_form_does_not_let_anyone_change_its_organisation(
    client, embargoed_and_public, curator, staff_login
):
    hidden, public = embargoed_and_public
    event = hidden.events.get()
    staff_login(client, curator)
    response = client.get(f"/admin/closures/event/{event.pk}/change/")
    assert "organisation" not in response.context["adminform"].form.fields


def test_admin_move_action_takes_the_target_by_its_id(
    client, embargoed_and_public, reviewer, curator, staff_login
):
    hidden, public = embargoed_and_public
    event = hidden.events.get()
    staff_login(client, curator)
    response = client.get("/admin/closures/event/")
    actions = {choice[0] for choice in response.context["action_form"].fields["action"].choices}
    assert "move_event" not in actions
    staff_login(client, reviewer)
    data = {"action": "move_event", "_selected_action": [event.pk], "apply": "1"}
    page = client.post("/admin/closures/event/", {**data, "organisation": "no-such-record"})
    assert "No organisation has the ID" in page.content.decode()
    client.post(
        "/admin/closures/event/", {**data, "organisation": public.slug, "reason": "Wrong record"}
    )
    event.refresh_from_db()
    assert (event.organisation, event.review_state) == (public, ReviewState.IN_REVIEW)


def test_migration_fills_event_submitters_from_history(
    public_with_draft_event, make_event, curator, reviewer
):
    """Records submitted before `submitted_by` existed on events get it from their history."""
    from django.apps import apps

    migration = importlib.import_module("closures.migrations.0010_event_submitter")
    organisation, event = public_with_draft_event
    services.submit_for_review(record=event, user=curator)
    event.refresh_from_db()
    event._history_user = reviewer  # a later edit by someone else is not a submission
    event.save()
    imported = make_event(organisation, review_state=ReviewState.PUBLISHED)
    Event.objects.update(submitted_by=None)
    migration.fill_submitters(apps, schema_editor=None)
    assert Event.objects.get(pk=event.pk).submitted_by == curator
    assert Event.objects.get(pk=imported.pk).submitted_by is None


def test_events_imported_into_review_name_the_importer_as_submitter(reviewer, second_reviewer):
    from .test_services import valid_row

    services.import_registry(rows=[valid_row()], review_state=ReviewState.IN_REVIEW, user=reviewer)
    organisation = Organisation.objects.get(slug="test-org")
    event = organisation.events.get()
    assert event.submitted_by == organisation.submitted_by == reviewer
    with pytest.raises(WorkflowRefused, match="four-eyes"):
        services.publish(record=event, user=reviewer)
    services.publish(record=organisation, user=second_reviewer)
    assert Organisation.objects.public().filter(pk=organisation.pk).exists()


def test_a_long_public_reason_is_kept_whole_and_the_history_reason_shortened(
    make_public_organisation, reviewer
):
    """simple-history keeps 100 characters of a reason; PostgreSQL refused longer ones."""
    organisation = make_public_organisation()
    reason = "The record merged two organisations that sources treat separately. " * 5
    services.withdraw(record=organisation, user=reviewer, reason=reason)
    organisation.refresh_from_db()
    assert organisation.withdrawn_reason == reason
    recorded = organisation.history.first().history_change_reason
    assert len(recorded) == 100 and recorded.startswith("Withdrawn: The record merged")

import re

import pytest

from closures import services
from closures.models import Event, Organisation, Reason, ReviewState


def change_data(organisation, **overrides):
    data = {
        "slug": organisation.slug,
        "name_en": organisation.name_en,
        "name_zh": organisation.name_zh,
        "acronym": organisation.acronym,
        "org_type": organisation.org_type,
        "founded_year": "",
        "description_en": "",
        "description_zh": "",
        "website": "",
        "wikidata_id": "",
        "curator_note": "",
        "change_reason": "",
        "aliases-TOTAL_FORMS": "0",
        "aliases-INITIAL_FORMS": "0",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_admin_edit_records_who_and_the_reason(client, curator, make_organisation, staff_login):
    organisation = make_organisation(name_en="Old Name")
    staff_login(client, curator)
    response = client.post(
        f"/admin/closures/organisation/{organisation.pk}/change/",
        change_data(organisation, name_en="New Name", change_reason="Name per the registry"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    latest = organisation.history.first()
    assert latest.name_en == "New Name"
    assert latest.history_user == curator
    assert latest.history_change_reason == "Name per the registry"


def test_admin_history_shows_a_diff_and_revert_links(
    client, reviewer, make_organisation, staff_login
):
    organisation = make_organisation(name_en="Old Name")
    organisation.name_en = "New Name"
    organisation.save()
    staff_login(client, reviewer)
    page = client.get(f"/admin/closures/organisation/{organisation.pk}/history/")
    text = page.content.decode()
    assert "English name:</strong>" in text
    assert re.search(r"Old Name\s*&nbsp;&rarr;&nbsp;&nbsp;New Name", text)
    assert "Revert to this version" in text


def test_reviewer_reverts_content_but_not_the_review_state(
    client, reviewer, second_reviewer, make_public_organisation, staff_login
):
    organisation = make_public_organisation(name_en="Original Name")
    original = organisation.history.first()
    organisation.name_en = "Vandalised"
    organisation.save()
    staff_login(client, reviewer)
    url = f"/admin/closures/organisation/{organisation.pk}/history/{original.history_id}/revert/"
    preview = client.get(url).content.decode()
    assert "Vandalised" in preview and "Original Name" in preview
    assert "wait for another reviewer" in preview
    client.post(url, {"reason": "Undo vandalism"})
    # Published: the revert waits for a second reviewer, as an edit does.
    assert Organisation.objects.get(pk=organisation.pk).name_en == "Vandalised"
    services.approve_change(change=services.open_change_for(organisation), user=second_reviewer)
    organisation.refresh_from_db()
    assert organisation.name_en == "Original Name"
    assert organisation.review_state == ReviewState.PUBLISHED
    latest = organisation.history.first()
    assert (latest.history_user, latest.history_change_reason) == (
        second_reviewer,
        "Approved change proposed by reviewer: Undo vandalism",
    )


def test_curators_cannot_revert(client, curator, make_organisation, staff_login):
    organisation = make_organisation()
    version = organisation.history.first()
    staff_login(client, curator)
    history = client.get(f"/admin/closures/organisation/{organisation.pk}/history/")
    assert "Revert to this version" not in history.content.decode()
    url = f"/admin/closures/organisation/{organisation.pk}/history/{version.history_id}/revert/"
    assert client.post(url, {"reason": "x"}).status_code == 403
    with pytest.raises(services.WorkflowRefused):
        services.revert_to_version(historical_record=version, user=curator)


def test_reverting_an_event_keeps_it_published(reviewer, second_reviewer, make_public_organisation):
    organisation = make_public_organisation()
    event = organisation.events.get()
    first = event.history.first()
    event.stated_reason_en = "Wrong reason"
    event.save()
    change = services.revert_to_version(historical_record=first, user=reviewer, reason="Back")
    services.approve_change(change=change, user=second_reviewer)
    event.refresh_from_db()
    assert event.stated_reason_en == first.stated_reason_en
    assert event.review_state == ReviewState.PUBLISHED


# --- Public change log ------------------------------------------------------------------


@pytest.fixture
def published_by_review(make_organisation, make_event, curator, reviewer):
    organisation = make_organisation(name_en="Logged Union")
    make_event(organisation, review_state=ReviewState.DRAFT)
    services.submit_for_review(record=organisation, user=curator)
    return services.publish(record=organisation, user=reviewer, reason="Verified by reviewer X")


def test_public_change_log_lists_publication_and_later_edits_without_names(
    published_by_review, curator
):
    organisation = published_by_review
    organisation.description_en = "A union of social workers."
    organisation._history_user = curator
    organisation._change_reason = "Curator Y added a description"
    organisation.save()
    log = organisation.public_change_log()
    summaries = [entry.summary for entry in log]
    assert summaries[0] == "Updated: description (English)"
    assert "Record published" in summaries
    assert any(summary.startswith("Event added") for summary in summaries)
    text = " ".join(summaries)
    for private in ("curator", "reviewer", "Verified", "Curator Y"):
        assert private not in text


def test_public_change_log_leaves_out_drafts_embargoes_and_curator_notes(
    published_by_review, make_event, reviewer
):
    organisation = published_by_review
    make_event(
        organisation, review_state=ReviewState.PUBLISHED, embargoed=True, embargo_reason="Safety"
    )
    draft_event = make_event(organisation, review_state=ReviewState.DRAFT)
    draft_event.stated_reason_en = "Changed in draft"
    draft_event.save()
    organisation.curator_note = "Names a member"
    organisation.save()
    services.set_embargo(record=organisation, user=reviewer, reason="Safety")
    organisation.refresh_from_db()
    organisation.name_en = "Renamed under embargo"
    organisation.save()
    summaries = [entry.summary for entry in organisation.public_change_log()]
    assert summaries.count("Event added: disbanded") == 1
    assert not any("notes" in summary or "name" in summary.lower() for summary in summaries)


def test_public_page_shows_last_updated_and_the_change_log(client, published_by_review):
    page = client.get(published_by_review.get_absolute_url()).content.decode()
    assert "Last updated:" in page
    assert "Record published" in page
    assert "reviewer" not in page


# --- A revert restores content only (issue 12.4) ------------------------------------------


def test_reverting_a_deleted_embargoed_event_brings_it_back_as_an_embargoed_draft(
    reviewer, make_public_organisation
):
    organisation = make_public_organisation()
    event = organisation.events.get()
    event.reasons.set(Reason.objects.filter(code__in=["nsl_pressure", "legal_risk"]))
    published_version = event.history.first()
    services.set_embargo(record=event, user=reviewer, reason="Source at risk")
    event.delete()
    restored = services.revert_to_version(historical_record=published_version, user=reviewer)
    restored = Event.objects.get(pk=restored.pk)
    assert restored.review_state == ReviewState.DRAFT
    assert (restored.embargoed, restored.embargo_reason) == (True, "Source at risk")
    assert restored.submitted_by is None
    assert set(restored.reasons.values_list("code", flat=True)) == {"nsl_pressure", "legal_risk"}
    assert not Event.objects.public().filter(pk=restored.pk).exists()


def test_reverting_a_deleted_organisation_brings_it_back_as_a_draft(
    reviewer, make_public_organisation
):
    organisation = make_public_organisation(name_en="Deleted Union")
    version = organisation.history.first()
    assert version.review_state == ReviewState.PUBLISHED
    organisation.delete()
    restored = services.revert_to_version(historical_record=version, user=reviewer)
    restored = Organisation.objects.get(pk=restored.pk)
    assert (restored.name_en, restored.review_state) == ("Deleted Union", ReviewState.DRAFT)
    assert not restored.embargoed
    assert not Organisation.objects.public().filter(pk=restored.pk).exists()


def test_reverting_restores_an_events_reason_categories(
    reviewer, second_reviewer, make_public_organisation
):
    organisation = make_public_organisation()
    event = organisation.events.get()
    event.reasons.set(Reason.objects.filter(code="financial"))
    event.save()
    version = event.history.first()
    event.reasons.set(Reason.objects.filter(code="other"))
    event.save()
    change = services.revert_to_version(historical_record=version, user=reviewer)
    assert list(event.reasons.values_list("code", flat=True)) == ["other"]
    services.approve_change(change=change, user=second_reviewer)
    assert list(event.reasons.values_list("code", flat=True)) == ["financial"]


def test_reverting_an_event_keeps_its_embargo_and_its_organisation(
    reviewer, make_public_organisation
):
    old_home = make_public_organisation()
    new_home = make_public_organisation()
    event = old_home.events.get()
    version = event.history.first()
    services.move_event(record=event, organisation=new_home, user=reviewer, reason="Wrong record")
    services.set_embargo(record=event, user=reviewer, reason="Safety")
    services.revert_to_version(historical_record=version, user=reviewer)
    event.refresh_from_db()
    assert event.organisation == new_home
    assert (event.review_state, event.embargoed) == (ReviewState.IN_REVIEW, True)


def test_reverting_an_invalid_version_is_refused_with_a_message(reviewer, make_organisation):
    organisation = make_organisation(wikidata_id="Q1")
    Organisation.objects.filter(pk=organisation.pk).update(wikidata_id="bad")
    organisation.refresh_from_db()
    organisation.save()
    with pytest.raises(services.WorkflowRefused, match="Wikidata ID"):
        services.revert_to_version(historical_record=organisation.history.first(), user=reviewer)


def test_admin_revert_of_a_deleted_event_shows_it_as_a_draft(
    client, reviewer, make_public_organisation, staff_login
):
    organisation = make_public_organisation()
    event = organisation.events.get()
    version = event.history.first()
    event.delete()
    staff_login(client, reviewer)
    url = f"/admin/closures/event/{version.id}/history/{version.history_id}/revert/"
    assert client.get(url).status_code == 200
    client.post(url, {"reason": "Deleted by mistake"})
    assert Event.objects.get(pk=version.id).review_state == ReviewState.DRAFT

import re

import pytest

from closures import services
from closures.models import ReviewState


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
        "notes": "",
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
    client, reviewer, make_public_organisation, staff_login
):
    organisation = make_public_organisation(name_en="Original Name")
    original = organisation.history.first()
    organisation.name_en = "Vandalised"
    organisation.save()
    staff_login(client, reviewer)
    url = f"/admin/closures/organisation/{organisation.pk}/history/{original.history_id}/revert/"
    preview = client.get(url).content.decode()
    assert "Vandalised" in preview and "Original Name" in preview
    client.post(url, {"reason": "Undo vandalism"})
    organisation.refresh_from_db()
    assert organisation.name_en == "Original Name"
    assert organisation.review_state == ReviewState.PUBLISHED
    latest = organisation.history.first()
    assert (latest.history_user, latest.history_change_reason) == (reviewer, "Undo vandalism")


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


def test_reverting_an_event_keeps_it_published(reviewer, make_public_organisation):
    organisation = make_public_organisation()
    event = organisation.events.get()
    first = event.history.first()
    event.stated_reason_en = "Wrong reason"
    event.save()
    services.revert_to_version(historical_record=first, user=reviewer, reason="Back")
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


def test_public_change_log_leaves_out_drafts_embargoes_and_sensitive_notes(
    published_by_review, make_event, reviewer
):
    organisation = published_by_review
    make_event(
        organisation, review_state=ReviewState.PUBLISHED, embargoed=True, embargo_reason="Safety"
    )
    draft_event = make_event(organisation, review_state=ReviewState.DRAFT)
    draft_event.stated_reason_en = "Changed in draft"
    draft_event.save()
    organisation.notes = "Names a member"
    organisation.notes_sensitive = True
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

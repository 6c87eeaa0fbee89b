"""The issue's "done means", end to end through the admin, as curators and reviewers do it."""

from closures import services, sources, tasks
from closures.models import Organisation, ReviewState, Source

from .test_import_admin import IMPORT_URL, csv_upload, row


def test_import_review_publish_history_revert_and_sources(
    client, curator, reviewer, second_reviewer, archive_service, settings, staff_login
):
    settings.SOURCE_BROKEN_AFTER_FAILURES = 1
    good = row(source_url=archive_service.url("/ok/ptu"))
    bad = row(id="ptu-2", event_type="vanished", source_url=archive_service.url("/gone/ptu"))

    # A spreadsheet with a good and a bad row: the preview names the row and column.
    staff_login(client, curator)
    preview = client.post(IMPORT_URL, {"spreadsheet": csv_upload([good, bad])}).context["preview"]
    assert [(p.row, p.column) for p in preview.problems] == [(3, "event_type")]
    assert Organisation.objects.count() == 0

    # Fixed and re-imported: drafts, recorded in the history as an import.
    fixed = {**bad, "event_type": "liquidated"}
    response = client.post(IMPORT_URL, {"spreadsheet": csv_upload([good, fixed])})
    client.post(IMPORT_URL, {"token": response.context["token"]})
    organisation = Organisation.objects.get(slug="teachers")
    assert organisation.review_state == ReviewState.DRAFT

    # The curator sends it to review; a reviewer who submitted nothing publishes it.
    client.post(
        "/admin/closures/organisation/",
        {"action": "submit_for_review", "_selected_action": [organisation.pk], "apply": "1"},
    )
    staff_login(client, reviewer)
    client.post(
        "/admin/closures/organisation/",
        {
            "action": "publish",
            "_selected_action": [organisation.pk],
            "apply": "1",
            "reason": "Two sources agree",
        },
    )
    organisation.refresh_from_db()
    assert organisation.review_state == ReviewState.PUBLISHED
    assert client.get(organisation.get_absolute_url()).status_code == 200

    # History shows each step: who and why.
    steps = [
        (version.review_state, version.history_user.username, version.history_change_reason)
        for version in organisation.history.order_by("history_date")
    ]
    assert steps == [
        ("draft", "curator", "Imported from closures.csv"),
        ("in_review", "curator", "Submitted for review"),
        ("published", "reviewer", "Two sources agree"),
    ]
    history_page = client.get(f"/admin/closures/organisation/{organisation.pk}/history/")
    assert "Two sources agree" in history_page.content.decode()

    # A bad edit is reverted by a reviewer.
    imported = organisation.history.earliest("history_date")
    organisation.name_en = "Wrong name"
    organisation._history_user = second_reviewer
    organisation.save()
    change = services.revert_to_version(
        historical_record=imported, user=reviewer, reason="Undo rename"
    )
    # Published, so the revert waits for another reviewer, as an edit does.
    assert Organisation.objects.get(pk=organisation.pk).name_en == "Wrong name"
    services.approve_change(change=change, user=second_reviewer)
    organisation.refresh_from_db()
    assert organisation.name_en == "Professional Teachers' Union"
    assert organisation.review_state == ReviewState.PUBLISHED

    # The daily check finds the dead link; the archiver keeps the live one.
    tasks.check_all_sources.delay()
    assert list(Source.objects.broken().values_list("url", flat=True)) == [
        archive_service.url("/gone/ptu")
    ]
    tasks.archive_missing_sources.delay()
    live = Source.objects.get(url=archive_service.url("/ok/ptu"))
    assert live.archived_url
    page = client.get(organisation.get_absolute_url()).content.decode()
    assert live.archived_url in page
    assert "Record published" in page
    assert "reviewer" not in page and "curator" not in page
    assert sources.archive_configured()

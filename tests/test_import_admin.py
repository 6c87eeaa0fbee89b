import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from closures.models import Event, Organisation, ReviewState

IMPORT_URL = "/admin/closures/organisation/import/"
COLUMNS = [
    "id",
    "organisation_id",
    "name_en",
    "name_zh",
    "acronym",
    "org_type",
    "event_type",
    "effective_date",
    "source_url",
    "source_publisher",
    "confidence",
]


def row(**overrides):
    values = {
        "id": "teachers-disbanded",
        "organisation_id": "teachers",
        "name_en": "Professional Teachers' Union",
        "name_zh": "教協",
        "acronym": "PTU",
        "org_type": "union",
        "event_type": "disbanded",
        "effective_date": "2021-08-10",
        "source_url": "https://news.example.org/ptu",
        "source_publisher": "Example News",
        "confidence": "high",
    }
    values.update(overrides)
    return values


def csv_upload(rows, name="closures.csv"):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(), content_type="text/csv")


def xlsx_upload(rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    for values in rows:
        sheet.append([values[column] for column in COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("closures.xlsx", buffer.getvalue())


GOOD_AND_BAD = [
    row(),
    row(
        id="bad-date",
        organisation_id="bad",
        name_en="Bad One",
        acronym="",
        effective_date="2021-02-30",
    ),
    row(
        id="bad-type",
        organisation_id="worse",
        name_en="Worse One",
        acronym="",
        event_type="vanished",
    ),
]


def upload(client, file, **data):
    return client.post(IMPORT_URL, {"spreadsheet": file, **data})


def test_import_page_is_linked_from_the_changelist(client, curator, staff_login):
    staff_login(client, curator)
    assert IMPORT_URL in client.get("/admin/closures/organisation/").content.decode()
    assert client.get(IMPORT_URL).status_code == 200


def test_preview_lists_every_invalid_row_by_row_and_column_and_writes_nothing(
    client, curator, staff_login
):
    staff_login(client, curator)
    response = upload(client, csv_upload(GOOD_AND_BAD))
    assert response.status_code == 200
    problems = [(p.row, p.column) for p in response.context["preview"].problems]
    assert (3, "effective_date") in problems
    assert (4, "event_type") in problems
    page = response.content.decode()
    assert "nothing will be imported" in page
    assert "Confirm import" not in page
    assert Organisation.objects.count() == 0


def test_preview_then_confirm_imports_drafts_with_history(client, curator, staff_login):
    staff_login(client, curator)
    # A curator cannot make an import arrive published, whatever the form says.
    response = upload(client, csv_upload([row()]), review_state="published", reason="batch 1")
    preview = response.context["preview"]
    assert [outcome.organisation_slug for outcome in preview.rows_by_action()["created"]] == [
        "teachers"
    ]
    assert Organisation.objects.count() == 0
    response = client.post(IMPORT_URL, {"token": response.context["token"]})
    assert response.status_code == 302
    organisation = Organisation.objects.get(slug="teachers")
    assert organisation.review_state == ReviewState.DRAFT
    assert Event.objects.get().review_state == ReviewState.DRAFT
    version = organisation.history.first()
    assert version.history_user == curator
    assert version.history_change_reason == "Imported from closures.csv: batch 1"


def test_reimport_preview_shows_unchanged_and_updated_rows(client, curator, staff_login):
    staff_login(client, curator)
    first = upload(client, csv_upload([row()]))
    client.post(IMPORT_URL, {"token": first.context["token"]})
    second = upload(client, csv_upload([row(), row(id="teachers-2", event_type="liquidated")]))
    grouped = second.context["preview"].rows_by_action()
    assert {outcome.event_uid for outcome in grouped["updated"]} == {
        "teachers-disbanded",
        "teachers-2",
    }
    same = upload(client, csv_upload([row()]))
    assert [o.event_uid for o in same.context["preview"].rows_by_action()["unchanged"]] == [
        "teachers-disbanded"
    ]


def test_reviewer_import_can_arrive_in_review_but_not_published(client, reviewer, staff_login):
    staff_login(client, reviewer)
    refused = upload(client, csv_upload([row()]), review_state="published")
    assert "review_state" in refused.context["form"].errors
    response = upload(client, csv_upload([row()]), review_state="in_review")
    client.post(IMPORT_URL, {"token": response.context["token"]})
    organisation = Organisation.objects.get(slug="teachers")
    assert organisation.review_state == ReviewState.IN_REVIEW
    assert organisation.submitted_by == reviewer


def test_superuser_import_can_arrive_published(client, admin_user, staff_login):
    staff_login(client, admin_user)
    response = upload(client, xlsx_upload([row()]), review_state="published")
    client.post(IMPORT_URL, {"token": response.context["token"]})
    assert Organisation.objects.public().filter(slug="teachers").exists()


def test_upload_rejects_other_file_types_and_oversized_files(
    client, curator, settings, staff_login
):
    staff_login(client, curator)
    response = upload(client, SimpleUploadedFile("notes.txt", b"hello"))
    assert "Upload a .csv or .xlsx spreadsheet." in response.content.decode()
    settings.IMPORT_MAX_UPLOAD_BYTES = 10
    response = upload(client, csv_upload([row()]))
    assert "larger than 10 bytes" in response.content.decode()
    assert Organisation.objects.count() == 0


def test_a_token_from_another_session_cannot_be_confirmed(client, curator, reviewer, staff_login):
    staff_login(client, curator)
    token = upload(client, csv_upload([row()])).context["token"]
    staff_login(client, reviewer)
    assert client.post(IMPORT_URL, {"token": token}).status_code == 404
    assert client.post(IMPORT_URL, {"token": "../../etc/passwd"}).status_code == 404
    assert Organisation.objects.count() == 0


def test_failure_at_confirmation_writes_nothing(
    client, curator, make_organisation, make_event, staff_login
):
    staff_login(client, curator)
    token = upload(client, csv_upload([row()])).context["token"]
    # Between preview and confirmation the event ID is taken by another organisation.
    other = make_organisation(slug="other")
    make_event(other, uid="teachers-disbanded")
    response = client.post(IMPORT_URL, {"token": token})
    assert response.status_code == 200
    assert response.context["preview"].problems
    assert not Organisation.objects.filter(slug="teachers").exists()


def test_preview_flags_likely_duplicates(client, curator, make_organisation, staff_login):
    existing = make_organisation(name_en="Hong Kong Professional Teachers Union", acronym="PTU")
    similar = make_organisation(name_en="Professional Teachers’ Union.", acronym="")
    make_organisation(name_en="Hong Kong Journalists Association", acronym="HKJA")
    staff_login(client, curator)
    response = upload(client, csv_upload([row()]))
    assert set(response.context["preview"].duplicates["teachers"]) == {existing, similar}
    assert "Likely duplicates" in response.content.decode()


@pytest.mark.parametrize(
    "values",
    [
        {"name_en": "HK Journalists Association!"},
        {"name_en": "Something else", "name_zh": "香港記者協會"},
        {"name_en": "Something else", "acronym": "hkja"},
        {"name_en": "HK Journalist Association"},
    ],
)
def test_likely_duplicates_match_names_chinese_names_acronyms_and_near_misses(
    make_organisation, values
):
    existing = make_organisation(
        name_en="HK Journalists Association", name_zh="香港記者協會", acronym="HKJA"
    )
    make_organisation(name_en="Hong Kong Confederation of Trade Unions", acronym="HKCTU")
    assert Organisation.objects.likely_duplicates(**values) == [existing]


def test_likely_duplicates_match_aliases(make_organisation):
    existing = make_organisation(name_en="Civil Human Rights Front")
    existing.aliases.create(name="民陣", language="zh-hant")
    assert Organisation.objects.likely_duplicates(name_zh="民陣") == [existing]
    assert Organisation.objects.likely_duplicates(name_en="Unrelated Group") == []


def test_adding_a_likely_duplicate_by_hand_warns_the_curator(
    client, curator, make_organisation, staff_login
):
    make_organisation(name_en="Hong Kong Alliance", slug="hk-alliance")
    staff_login(client, curator)
    response = client.post(
        "/admin/closures/organisation/add/",
        {
            "slug": "hk-alliance-2",
            "name_en": "Hong Kong Alliance.",
            "name_zh": "",
            "acronym": "",
            "org_type": "ngo",
            "aliases-TOTAL_FORMS": "0",
            "aliases-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    messages = [str(message) for message in response.context["messages"]]
    assert any("Possible duplicate" in message and "hk-alliance" in message for message in messages)

import csv
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from closures.models import (
    Alias,
    Citation,
    Event,
    Organisation,
    ReviewState,
    Source,
    Status,
)
from closures.services import ImportFailed, import_registry, read_spreadsheet

CURATED = Path(__file__).resolve().parent.parent / "fixtures" / "registry.csv"


def curated_rows():
    return read_spreadsheet(CURATED)


def counts():
    return tuple(
        model.objects.count() for model in (Organisation, Event, Source, Citation, Alias)
    ) + tuple(model.history.count() for model in (Organisation, Event, Source, Citation))


def valid_row(**overrides):
    row = {
        "id": "test-org-disbanded",
        "organisation_id": "test-org",
        "name_en": "Test Organisation",
        "name_zh": "測試組織",
        "acronym": "",
        "org_type": "union",
        "event_type": "disbanded",
        "announced_date": "2021-10",
        "effective_date": "",
        "destination_country": "",
        "destination_city": "",
        "stated_reason": "Cited pressure under the security law.",
        "reason_category": "nsl_pressure|legal_risk",
        "source_url": "https://news.example.org/test-org",
        "source_publisher": "Example News",
        "source_date": "2021-10-03",
        "source_title": "Test organisation disbands",
        "source_quote": "The union voted to disband.",
        "confidence": "medium",
        "notes": "",
    }
    row.update(overrides)
    return row


def test_curated_data_loads_and_is_public(db):
    rows = curated_rows()
    report = import_registry(rows=rows, review_state=ReviewState.PUBLISHED)
    organisation_ids = {row["organisation_id"] for row in rows}
    assert report.counts["organisations"]["created"] == len(organisation_ids)
    assert report.counts["events"]["created"] == len(rows)
    assert Organisation.objects.public().count() == len(organisation_ids)
    assert Event.objects.public().count() == len(rows)
    chrf = Organisation.objects.get(slug="chrf")
    assert chrf.name_en == "Civil Human Rights Front"
    assert chrf.name_zh == "民間人權陣線"
    assert chrf.current_status == Status.DISBANDED
    assert chrf.first_published_at is not None


def test_curated_month_only_date_stays_month_only(db):
    import_registry(rows=curated_rows(), review_state=ReviewState.PUBLISHED)
    event = Event.objects.get(uid="amnesty-hk-regional")
    assert event.effective_precision == "month"
    assert event.effective_display() == "Dec 2021"


def test_organisation_named_differently_by_its_rows_keeps_the_others_as_aliases(db):
    qualified = "Test Organisation (executive committee)"
    import_registry(rows=[valid_row(), valid_row(id="second", name_en=qualified)])
    organisation = Organisation.objects.get()
    assert organisation.name_en == "Test Organisation"
    assert list(organisation.aliases.values_list("name", "kind")) == [(qualified, "other_form")]


def test_curated_organisation_keeps_the_names_people_use_as_aliases(db):
    import_registry(rows=curated_rows(), review_state=ReviewState.PUBLISHED)
    cusu = Organisation.objects.get(slug="cusu")
    assert cusu.name_en == "The Chinese University of Hong Kong Student Union"
    assert list(cusu.aliases.values_list("name", "language", "kind")) == [
        ("中大學生會", "zh-hant", "alias")
    ]


def test_curated_citations_carry_quotes_from_the_sources_file(db):
    import_registry(rows=curated_rows(), review_state=ReviewState.PUBLISHED)
    citation = Citation.objects.get(event__uid="demosisto", source__publisher__startswith="Sing")
    assert "宣佈即日起解散" in citation.quote
    assert set(citation.claims) == {"event", "date", "reason"}


def test_import_twice_changes_nothing(db):
    import_registry(rows=curated_rows(), review_state=ReviewState.PUBLISHED)
    before = counts()
    updated_at = dict(Organisation.objects.values_list("slug", "updated_at"))
    report = import_registry(rows=curated_rows(), review_state=ReviewState.PUBLISHED)
    assert not report.changed
    assert counts() == before
    assert dict(Organisation.objects.values_list("slug", "updated_at")) == updated_at


def test_one_bad_row_writes_nothing_and_names_row_and_column(db):
    rows = [valid_row(), valid_row(id="second", effective_date="2021-02-30")]
    with pytest.raises(ImportFailed) as failure:
        import_registry(rows=rows)
    assert [str(problem) for problem in failure.value.problems] == [
        "row 3, column effective_date: '2021-02-30' is not a real date (day is out of range "
        "for month)"
    ]
    assert counts() == (0,) * 9


@pytest.mark.parametrize(
    ("overrides", "column"),
    [
        ({"org_type": "club"}, "org_type"),
        ({"event_type": "vanished"}, "event_type"),
        ({"confidence": "certain"}, "confidence"),
        ({"reason_category": "nsl_pressure|boredom"}, "reason_category"),
        ({"source_url": "not a url"}, "source_url"),
        ({"source_url": ""}, "source_url"),
        ({"source2_url": "ftp:/broken", "source2_publisher": "X"}, "source2_url"),
        ({"source_date": "yesterday"}, "source_date"),
        ({"event_type": "relocated"}, "destination_country"),
        ({"destination_country": "XQ", "event_type": "relocated"}, "destination_country"),
        ({"name_en": "", "name_zh": ""}, "name_en"),
        ({"organisation_id": "not a slug!"}, "organisation_id"),
        ({"founded_year": "nineteen"}, "founded_year"),
        ({"wikidata_id": "42"}, "wikidata_id"),
        ({"announced_date": "Oct 2021"}, "announced_date"),
    ],
)
def test_invalid_values_are_reported_by_row_and_column(db, overrides, column):
    with pytest.raises(ImportFailed) as failure:
        import_registry(rows=[valid_row(), valid_row(id="row-three", **overrides)])
    assert {(problem.row, problem.column) for problem in failure.value.problems} == {(3, column)}
    assert Organisation.objects.count() == 0


def test_duplicate_event_id_names_both_rows(db):
    with pytest.raises(ImportFailed, match="row 3, column id: .*already used in row 2"):
        import_registry(rows=[valid_row(), valid_row()])


def test_conflicting_organisation_types_are_reported(db):
    rows = [valid_row(), valid_row(id="second", org_type="media")]
    with pytest.raises(ImportFailed, match="row 3, column org_type"):
        import_registry(rows=rows)


def test_missing_required_column_is_reported_on_the_header_row(db):
    row = valid_row()
    del row["event_type"]
    with pytest.raises(ImportFailed, match="row 1, column event_type"):
        import_registry(rows=[row])


def test_dry_run_reports_without_writing(db):
    report = import_registry(rows=[valid_row()], dry_run=True)
    assert report.counts["organisations"]["created"] == 1
    assert report.counts["events"]["created"] == 1
    assert report.rows[0].action == "created"
    assert counts() == (0,) * 9


def test_import_updates_changed_fields_and_counts_them(db):
    import_registry(rows=[valid_row()])
    report = import_registry(rows=[valid_row(stated_reason="A corrected reason.")])
    assert report.counts["events"]["updated"] == 1
    assert report.counts["organisations"]["unchanged"] == 1
    assert Event.objects.get().stated_reason_en == "A corrected reason."


def test_import_never_changes_an_existing_review_state(db):
    import_registry(rows=[valid_row()], review_state=ReviewState.PUBLISHED)
    Organisation.objects.update(review_state=ReviewState.WITHDRAWN)
    import_registry(rows=[valid_row(notes="new note")], review_state=ReviewState.PUBLISHED)
    assert Organisation.objects.get().review_state == ReviewState.WITHDRAWN


def test_imported_records_default_to_draft(db):
    import_registry(rows=[valid_row()])
    assert Organisation.objects.get().review_state == ReviewState.DRAFT
    assert Event.objects.get().review_state == ReviewState.DRAFT
    assert not Organisation.objects.public().exists()


def test_import_records_the_reason_in_history(db, django_user_model):
    curator = django_user_model.objects.create_user("curator")
    import_registry(rows=[valid_row()], user=curator, reason="Spring batch")
    record = Organisation.history.get()
    assert record.history_change_reason == "Spring batch"
    assert record.history_user == curator


def test_xlsx_and_csv_give_the_same_rows(db):
    rows = [valid_row()]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(rows[0]))
    sheet.append(list(rows[0].values()))
    xlsx = io.BytesIO()
    workbook.save(xlsx)
    xlsx.seek(0)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    from_csv = read_spreadsheet(io.BytesIO(text.getvalue().encode("utf-8-sig")), filename="a.csv")
    from_xlsx = read_spreadsheet(xlsx, filename="a.xlsx")
    assert from_csv == from_xlsx == rows


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"id,organisation_id\n", "a.pdf", "Upload a .csv or .xlsx"),
        (b"\xff\xfe\x00broken", "a.csv", "not UTF-8"),
        (b"PK\x03\x04 not really a workbook", "a.xlsx", "Not a readable XLSX"),
    ],
)
def test_unreadable_files_get_a_clear_error(content, filename, message):
    with pytest.raises(ImportFailed, match=message):
        read_spreadsheet(io.BytesIO(content), filename=filename)


def test_command_dry_run_then_import(db):
    out = io.StringIO()
    call_command("import_registry", str(CURATED), "--dry-run", stdout=out)
    assert "Dry run: nothing was written." in out.getvalue()
    assert "events: 146 would be created" in out.getvalue()
    assert Organisation.objects.count() == 0
    call_command("import_registry", str(CURATED), "--publish", stdout=io.StringIO())
    assert Organisation.objects.public().count() == 117


def test_command_reports_problems_and_fails(db, tmp_path):
    path = tmp_path / "bad.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(valid_row()))
        writer.writeheader()
        writer.writerow(valid_row(confidence="sure"))
    with pytest.raises(CommandError, match="row 2, column confidence"):
        call_command("import_registry", str(path))
    assert Organisation.objects.count() == 0


def test_nul_character_in_a_cell_is_reported_not_stored(db):
    row = {**curated_rows()[0], "name_en": "Demo\x00sisto"}
    before = counts()
    with pytest.raises(ImportFailed) as failure:
        import_registry(rows=[row])
    assert [(problem.row, problem.column) for problem in failure.value.problems] == [(2, "name_en")]
    assert counts() == before


def test_spreadsheet_over_the_size_limit_is_refused_before_parsing(db, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(ImportFailed) as failure:
        read_spreadsheet(io.BytesIO(b"id," * 400), filename="events.csv")
    assert [(problem.row, problem.column) for problem in failure.value.problems] == [(1, "file")]
    assert "larger than" in failure.value.problems[0].message


def test_spreadsheet_of_another_type_is_refused(db):
    with pytest.raises(ImportFailed) as failure:
        read_spreadsheet(io.BytesIO(b"<html>"), filename="events.html")
    assert [(problem.row, problem.column) for problem in failure.value.problems] == [(1, "file")]

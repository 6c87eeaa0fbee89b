"""Hostile spreadsheets are refused early, and uploads never linger on the server."""

import io
import os
import time
import zipfile

import pytest
from django.core.management import call_command
from openpyxl import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from closures.services import ImportFailed, import_uploads, read_spreadsheet
from tests.test_import_admin import IMPORT_URL, csv_upload, row, upload

SHEET = "xl/worksheets/sheet1.xml"


def workbook_with_sheet(sheet_xml: bytes) -> bytes:
    """A valid workbook whose first sheet's XML is replaced by `sheet_xml`."""
    workbook = Workbook()
    workbook.active.append(["id"])
    plain = io.BytesIO()
    workbook.save(plain)
    crafted = io.BytesIO()
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in source.infolist():
            out.writestr(info.filename, sheet_xml if info.filename == SHEET else source.read(info))
    return crafted.getvalue()


def sheet_xml(dimension: str, rows: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    ).encode()


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


@pytest.fixture
def rows_read(monkeypatch):
    """Count the rows openpyxl hands out, to show that reading stopped early."""
    counter = {"rows": 0}
    original = ReadOnlyWorksheet._cells_by_row

    def counting(self, *args, **kwargs):
        for produced in original(self, *args, **kwargs):
            counter["rows"] += 1
            yield produced

    monkeypatch.setattr(ReadOnlyWorksheet, "_cells_by_row", counting)
    return counter


def refusal(content: bytes, filename: str) -> str:
    with pytest.raises(ImportFailed) as refused:
        read_spreadsheet(io.BytesIO(content), filename=filename)
    return str(refused.value)


def test_a_sheet_claiming_every_row_and_column_is_refused_after_reading_past_the_limit(
    settings, rows_read
):
    """The audit's bomb shape: tiny XML, a dimension of A1:XFD1048576, data in the last row."""
    settings.IMPORT_MAX_ROWS = 100
    content = workbook_with_sheet(
        sheet_xml(
            "A1:XFD1048576",
            f'<row r="1">{inline("A1", "id")}</row>'
            f'<row r="1048576">{inline("XFD1048576", "boom")}</row>',
        )
    )
    assert len(content) < 10_000
    message = refusal(content, "bomb.xlsx")
    assert "more than 100 rows below the header (IMPORT_MAX_ROWS)" in message
    # One header read, then at most the header, 100 rows and the one that crossed the limit.
    assert rows_read["rows"] <= 1 + 102


def test_a_compressed_sheet_of_many_real_rows_stops_at_the_row_limit(settings, rows_read):
    settings.IMPORT_MAX_ROWS = 50
    body = "".join(f'<row r="{n}">{inline(f"A{n}", "x" * 20)}</row>' for n in range(1, 100_001))
    content = workbook_with_sheet(sheet_xml("A1:A100000", body))
    assert len(content) < settings.IMPORT_MAX_UPLOAD_BYTES
    assert "more than 50 rows" in refusal(content, "rows.xlsx")
    assert rows_read["rows"] <= 1 + 52


def test_a_workbook_that_inflates_past_the_limit_is_refused_before_it_is_opened(
    settings, monkeypatch
):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 1_000_000
    content = workbook_with_sheet(sheet_xml("A1", "<!--" + " " * 3_000_000 + "-->"))
    assert len(content) < 50_000

    def never(*args, **kwargs):
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr("openpyxl.load_workbook", never)
    message = refusal(content, "bomb.xlsx")
    assert "more than the limit of 1,000,000 (IMPORT_MAX_UNCOMPRESSED_BYTES)" in message


def xlsx_of(rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    for values in rows:
        workbook.active.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_of(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(values) for values in rows).encode()


@pytest.mark.parametrize(("make", "filename"), [(xlsx_of, "wide.xlsx"), (csv_of, "wide.csv")])
def test_a_header_wider_than_the_column_limit_is_refused(settings, make, filename):
    settings.IMPORT_MAX_COLUMNS = 10
    message = refusal(make([[f"c{n}" for n in range(11)], ["x"] * 11]), filename)
    assert "11 columns, more than the limit of 10 (IMPORT_MAX_COLUMNS)" in message


@pytest.mark.parametrize(("make", "filename"), [(xlsx_of, "long.xlsx"), (csv_of, "long.csv")])
def test_a_cell_longer_than_the_limit_is_refused_naming_where(settings, make, filename):
    settings.IMPORT_MAX_CELL_CHARS = 100
    with pytest.raises(ImportFailed) as refused:
        read_spreadsheet(io.BytesIO(make([["id", "notes"], ["a", "y" * 101]])), filename=filename)
    (problem,) = refused.value.problems
    assert "(IMPORT_MAX_CELL_CHARS)" in problem.message
    assert problem.row == 2
    if filename.endswith(".xlsx"):
        assert problem.column == "notes"


def test_a_csv_longer_than_the_row_limit_is_refused(settings):
    settings.IMPORT_MAX_ROWS = 100
    message = refusal(csv_of([["id"]] + [[str(n)] for n in range(101)]), "long.csv")
    assert "row 102" in message and "(IMPORT_MAX_ROWS)" in message
    assert (
        len(read_spreadsheet(io.BytesIO(csv_of([["id"]] + [["1"]] * 100)), filename="a.csv")) == 100
    )


def waiting_files(settings) -> list:
    directory = settings.IMPORT_PREVIEW_DIR
    return sorted(directory.glob("*.upload")) if directory.exists() else []


def test_a_preview_with_problems_keeps_no_upload(client, curator, settings, staff_login):
    staff_login(client, curator)
    response = upload(client, csv_upload([row(event_type="vanished")]))
    assert response.context["preview"].problems
    assert waiting_files(settings) == []


def test_cancel_deletes_the_upload_and_the_token(client, curator, settings, staff_login):
    staff_login(client, curator)
    token = upload(client, csv_upload([row()])).context["token"]
    assert len(waiting_files(settings)) == 1
    response = client.post(IMPORT_URL, {"token": token, "cancel": "Cancel"})
    assert response.status_code == 302
    assert waiting_files(settings) == []
    assert client.post(IMPORT_URL, {"token": token}).status_code == 404


def test_a_newer_upload_replaces_the_waiting_one(client, curator, settings, staff_login):
    staff_login(client, curator)
    first = upload(client, csv_upload([row()])).context["token"]
    second = upload(client, csv_upload([row()])).context["token"]
    assert waiting_files(settings) == [import_uploads.upload_path(second)]
    assert client.post(IMPORT_URL, {"token": first}).status_code == 404


def test_an_upload_older_than_the_limit_can_no_longer_be_confirmed(
    client, curator, settings, staff_login
):
    staff_login(client, curator)
    token = upload(client, csv_upload([row()])).context["token"]
    old = time.time() - settings.IMPORT_PREVIEW_MAX_AGE_SECONDS - 1
    os.utime(import_uploads.upload_path(token), (old, old))
    assert client.post(IMPORT_URL, {"token": token}).status_code == 404
    assert waiting_files(settings) == []


def test_cleanup_deletes_only_uploads_older_than_the_limit(settings):
    fresh = import_uploads.store_upload([b"fresh"])
    stale = import_uploads.store_upload([b"stale"])
    old = time.time() - settings.IMPORT_PREVIEW_MAX_AGE_SECONDS - 1
    os.utime(import_uploads.upload_path(stale), (old, old))
    out = io.StringIO()
    call_command("clean_import_uploads", stdout=out)
    assert "Deleted 1 waiting upload(s)." in out.getvalue()
    assert waiting_files(settings) == [import_uploads.upload_path(fresh)]


def test_the_cleanup_runs_from_beat(settings):
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "closures.tasks.clean_import_uploads" in schedule

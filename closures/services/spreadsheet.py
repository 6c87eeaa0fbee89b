"""Reading an uploaded CSV or XLSX file into row dicts, and the problems an import reports.

Reading is bounded before and while parsing, so a hostile file (an XLSX "decompression bomb"
whose few kilobytes claim a million rows, or a CSV of one endless cell) is refused early with
a problem that names the limit, instead of filling memory: the upload's size
(IMPORT_MAX_UPLOAD_BYTES), an XLSX's declared uncompressed size (IMPORT_MAX_UNCOMPRESSED_BYTES;
zipfile never inflates an entry past its declared size), the rows below the header
(IMPORT_MAX_ROWS), the header's columns (IMPORT_MAX_COLUMNS) and each cell's length
(IMPORT_MAX_CELL_CHARS).
"""

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from openpyxl.utils import get_column_letter


@dataclass(frozen=True)
class ImportProblem:
    row: int
    column: str
    message: str

    def __str__(self):
        return f"row {self.row}, column {self.column}: {self.message}"


class ImportFailed(Exception):
    """Raised when any row is invalid; nothing has been written."""

    def __init__(self, problems: list[ImportProblem]):
        self.problems = sorted(problems, key=lambda problem: (problem.row, problem.column))
        super().__init__("\n".join(str(problem) for problem in self.problems))


def _refuse(message: str, *, row: int = 1, column: str = "file") -> ImportFailed:
    return ImportFailed([ImportProblem(row, column, message)])


def read_spreadsheet(file: IO[bytes] | Path | str, *, filename: str | None = None) -> list[dict]:
    """Read a CSV (UTF-8, with or without BOM) or XLSX file into a list of row dicts."""
    if isinstance(file, str | Path):
        filename = filename or str(file)
        with open(file, "rb") as handle:
            return read_spreadsheet(handle, filename=filename)
    name = (filename or getattr(file, "name", "") or "").lower()
    if not name.endswith((".xlsx", ".csv")):
        raise _refuse("Upload a .csv or .xlsx spreadsheet.")
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    content = file.read(limit + 1)
    if len(content) > limit:
        raise _refuse(f"The file is larger than the limit of {limit:,} bytes.")
    if name.endswith(".xlsx"):
        return _read_xlsx(content)
    return _read_csv(content)


def _read_csv(content: bytes) -> list[dict]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _refuse(f"The CSV file is not UTF-8 text ({error.reason}).") from None
    # The csv module refuses a longer field itself, so one endless cell is never built.
    previous_limit = csv.field_size_limit(settings.IMPORT_MAX_CELL_CHARS + 1)
    try:
        return _bounded_rows(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise _refuse(_cell_too_long_message()) from None
        raise _refuse(f"Unreadable CSV: {error}") from None
    finally:
        csv.field_size_limit(previous_limit)


def _read_xlsx(content: bytes) -> list[dict]:
    from openpyxl import load_workbook

    _check_uncompressed_size(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
        width = _header_width(header)
        # Bounded on both axes: openpyxl pads missing rows and cells up to what the sheet
        # claims, so an unbounded read of a sheet claiming A1:XFD1048576 never ends.
        body = sheet.iter_rows(
            min_row=1,
            max_row=settings.IMPORT_MAX_ROWS + 2,
            max_col=max(width, 1),
            values_only=True,
        )
        return _bounded_rows([_xlsx_cell_text(value) for value in row] for row in body)
    except ImportFailed:
        raise
    except Exception as error:  # openpyxl raises many unrelated types for a corrupt file
        raise _refuse(f"Not a readable XLSX workbook ({error}).") from None


def _check_uncompressed_size(content: bytes) -> None:
    """Refuse a workbook whose parts would inflate past the limit, before opening it."""
    limit = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as error:
        raise _refuse(f"Not a readable XLSX workbook ({error}).") from None
    if declared > limit:
        raise _refuse(
            f"The workbook unpacks to {declared:,} bytes, more than the limit of {limit:,} "
            "(IMPORT_MAX_UNCOMPRESSED_BYTES)."
        )


def _header_width(header: tuple) -> int:
    """The number of columns up to the last named one, refused past IMPORT_MAX_COLUMNS."""
    width = max(
        (index + 1 for index, value in enumerate(header) if value not in (None, "")), default=0
    )
    limit = settings.IMPORT_MAX_COLUMNS
    if width > limit:
        raise _refuse(
            f"The header row has {width:,} columns, more than the limit of {limit:,} "
            "(IMPORT_MAX_COLUMNS)."
        )
    return width


def _bounded_rows(rows: Iterable[list[str]]) -> list[dict]:
    """Turn the header and data rows into dicts, stopping at the first row past a limit.

    Rows are counted as a spreadsheet program numbers them, blank rows included, so that
    nothing past the limit is ever dropped silently.
    """
    rows = iter(rows)
    header = [str(cell or "").strip() for cell in next(rows, [])]
    _header_width(tuple(header))
    _check_cells(header, row_number=1, header=header)
    records = []
    max_rows = settings.IMPORT_MAX_ROWS
    for row_number, row in enumerate(rows, start=2):
        if row_number > max_rows + 1:
            raise _refuse(
                f"The sheet has more than {max_rows:,} rows below the header (IMPORT_MAX_ROWS), "
                "blank rows included; split it or remove the rows past the data.",
                row=row_number,
            )
        if not any(value not in (None, "") for value in row):
            continue
        _check_cells(row, row_number=row_number, header=header)
        records.append(dict(zip(header, row, strict=False)))
    return records


def _check_cells(row: list[str], *, row_number: int, header: list[str]) -> None:
    limit = settings.IMPORT_MAX_CELL_CHARS
    for index, value in enumerate(row):
        if value is not None and len(value) > limit:
            column = (
                header[index]
                if index < len(header) and header[index]
                else get_column_letter(index + 1)
            )
            raise _refuse(_cell_too_long_message(), row=row_number, column=column)


def _cell_too_long_message() -> str:
    limit = settings.IMPORT_MAX_CELL_CHARS
    return f"A cell is longer than the limit of {limit:,} characters (IMPORT_MAX_CELL_CHARS)."


def _xlsx_cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

"""Reading an uploaded CSV or XLSX file into row dicts, and the problems an import reports."""

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings


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


def read_spreadsheet(file: IO[bytes] | Path | str, *, filename: str | None = None) -> list[dict]:
    """Read a CSV (UTF-8, with or without BOM) or XLSX file into a list of row dicts."""
    if isinstance(file, str | Path):
        filename = filename or str(file)
        with open(file, "rb") as handle:
            return read_spreadsheet(handle, filename=filename)
    name = (filename or getattr(file, "name", "") or "").lower()
    if not name.endswith((".xlsx", ".csv")):
        raise ImportFailed([ImportProblem(1, "file", "Upload a .csv or .xlsx spreadsheet.")])
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    content = file.read(limit + 1)
    if len(content) > limit:
        # Refused before parsing: a huge or decompression-bomb workbook must not fill memory.
        raise ImportFailed(
            [ImportProblem(1, "file", f"The file is larger than the limit of {limit:,} bytes.")]
        )
    if name.endswith(".xlsx"):
        return _read_xlsx(io.BytesIO(content))
    return _read_csv(io.BytesIO(content))


def _read_csv(file: IO[bytes]) -> list[dict]:
    try:
        text = file.read().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFailed(
            [ImportProblem(1, "file", f"The CSV file is not UTF-8 text ({error.reason}).")]
        ) from None
    try:
        return [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""))]
    except csv.Error as error:
        raise ImportFailed([ImportProblem(1, "file", f"Unreadable CSV: {error}")]) from None


def _read_xlsx(file: IO[bytes]) -> list[dict]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(file.read()), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many unrelated types for a corrupt file
        raise ImportFailed(
            [ImportProblem(1, "file", f"Not a readable XLSX workbook ({error}).")]
        ) from None
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    header = [str(cell or "").strip() for cell in next(rows, ())]
    return [
        {column: _xlsx_cell_text(value) for column, value in zip(header, row, strict=False)}
        for row in rows
        if any(value not in (None, "") for value in row)
    ]


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

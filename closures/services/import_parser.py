"""The import spreadsheet's columns, and turning its rows into model field values."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..dates import parse_partial_date
from ..models import UNKNOWN_COUNTRY, Claim, EventType, ReasonCategory, SourceType
from .spreadsheet import ImportProblem

REQUIRED_COLUMNS = ("id", "organisation_id", "org_type", "event_type", "source_url")
MULTI_VALUE_SEPARATOR = "|"
SOURCE_PREFIXES = ("source", "source2")
# Spreadsheet rows are numbered as a spreadsheet program shows them: the header is row 1.
FIRST_DATA_ROW = 2

ORGANISATION_COLUMNS = {
    "organisation_id": "slug",
    "name_en": "name_en",
    "name_zh": "name_zh",
    "acronym": "acronym",
    "org_type": "org_type",
    "founded_year": "founded_year",
    "description_en": "description_en",
    "description_zh": "description_zh",
    "website": "website",
    "wikidata_id": "wikidata_id",
}
EVENT_COLUMNS = {
    "id": "uid",
    "event_type": "event_type",
    "announced_date": "announced_on",
    "effective_date": "effective_on",
    "destination_country": "destination_country",
    "destination_city": "destination_city",
    "stated_reason": "stated_reason_en",
    "stated_reason_zh": "stated_reason_zh",
    "confidence": "confidence",
    "notes": "notes",
}
SOURCE_COLUMNS = {
    "url": "url",
    "publisher": "publisher",
    "date": "published_on",
    "title": "title",
    "type": "source_type",
    "language": "language",
}


@dataclass
class ParsedSource:
    column_prefix: str
    values: dict[str, Any]
    quote: str


@dataclass
class ParsedRow:
    number: int
    organisation: dict[str, Any]
    event: dict[str, Any]
    reasons: list[str]
    sources: list[ParsedSource]


class _RowParser:
    """Turn one spreadsheet row into model field values, collecting every problem found."""

    def __init__(self, number: int, row: dict[str, str]):
        self.number = number
        self.row = {(key or "").strip(): (value or "").strip() for key, value in row.items()}
        self.problems: list[ImportProblem] = []

    def problem(self, column: str, message: str) -> None:
        self.problems.append(ImportProblem(self.number, column, message))

    def get(self, column: str) -> str:
        return self.row.get(column, "")

    def parse(self) -> ParsedRow:
        for column, value in self.row.items():
            # PostgreSQL cannot store NUL in text; without this the whole import would crash.
            # A column without a header is never read, so its cells cannot do harm.
            if column and "\x00" in value:
                self.problem(column, "Contains a NUL character; remove it and save again.")
        for column in REQUIRED_COLUMNS:
            if not self.get(column):
                self.problem(column, "This column is required.")
        if not (self.get("name_en") or self.get("name_zh")):
            self.problem("name_en", "Give an English or a Chinese name (name_en or name_zh).")
        organisation = {name: self.get(column) for column, name in ORGANISATION_COLUMNS.items()}
        organisation["founded_year"] = self.integer("founded_year")
        event = {name: self.get(column) for column, name in EVENT_COLUMNS.items()}
        for column, name in (("announced_date", "announced"), ("effective_date", "effective")):
            event[f"{name}_on"], event[f"{name}_precision"] = self.partial_date(column)
        if event["destination_country"].lower() == "unknown":
            event["destination_country"] = UNKNOWN_COUNTRY
        event["destination_country"] = event["destination_country"].upper()
        if not event["confidence"]:
            self.problem("confidence", "This column is required: high, medium or low.")
        return ParsedRow(
            number=self.number,
            organisation=organisation,
            event=event,
            reasons=self.reasons(),
            sources=self.sources(event["event_type"]),
        )

    def integer(self, column: str) -> int | None:
        text = self.get(column)
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            self.problem(column, f"{text!r} is not a whole number.")
            return None

    def partial_date(self, column: str) -> tuple[dt.date | None, str]:
        text = self.get(column)
        if not text:
            return None, ""
        try:
            return parse_partial_date(text)
        except ValueError as error:
            self.problem(column, str(error))
            return None, ""

    def full_date(self, column: str) -> dt.date | None:
        text = self.get(column)
        if not text:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.problem(column, f"{text!r} is not a date in the form YYYY-MM-DD.")
            return None

    def reasons(self) -> list[str]:
        codes = [code.strip() for code in self.get("reason_category").split(MULTI_VALUE_SEPARATOR)]
        codes = [code for code in codes if code]
        unknown = [code for code in codes if code not in ReasonCategory.values]
        if unknown:
            self.problem(
                "reason_category",
                f"Unknown reason categories {', '.join(unknown)}; use any of "
                f"{', '.join(ReasonCategory.values)} separated by '{MULTI_VALUE_SEPARATOR}'.",
            )
        return list(dict.fromkeys(code for code in codes if code in ReasonCategory.values))

    def sources(self, event_type: str) -> list[ParsedSource]:
        claims = [Claim.EVENT, Claim.DATE, Claim.REASON]
        if event_type == EventType.RELOCATED:
            claims.append(Claim.DESTINATION)
        sources = []
        for prefix in SOURCE_PREFIXES:
            if not self.get(f"{prefix}_url"):
                continue
            values = {
                name: self.get(f"{prefix}_{column}") for column, name in SOURCE_COLUMNS.items()
            }
            values["published_on"] = self.full_date(f"{prefix}_date")
            values["source_type"] = values["source_type"] or SourceType.OTHER
            values["claims"] = [str(claim) for claim in claims]
            sources.append(ParsedSource(prefix, values, self.get(f"{prefix}_quote")))
        return sources


def parse_rows(rows: list[dict]) -> tuple[list[ParsedRow], list[ImportProblem]]:
    """Parse every row, collecting every problem, so one pass reports them all."""
    problems: list[ImportProblem] = []
    if not rows:
        return [], [ImportProblem(1, "file", "The spreadsheet has no data rows.")]
    missing = [column for column in REQUIRED_COLUMNS if column not in rows[0]]
    if missing:
        return [], [
            ImportProblem(1, column, "The header row lacks this required column.")
            for column in missing
        ]
    parsed = []
    first_row_of_event: dict[str, int] = {}
    for number, row in enumerate(rows, start=FIRST_DATA_ROW):
        parser = _RowParser(number, row)
        result = parser.parse()
        problems.extend(parser.problems)
        uid = result.event["uid"]
        if uid in first_row_of_event:
            problems.append(
                ImportProblem(
                    number, "id", f"Event ID {uid!r} already used in row {first_row_of_event[uid]}."
                )
            )
        first_row_of_event.setdefault(uid, number)
        parsed.append(result)
    for slug, organisation_rows in group_by_organisation(parsed).items():
        org_types = {row.organisation["org_type"] for row in organisation_rows}
        if len(org_types) > 1:
            for row in organisation_rows[1:]:
                if row.organisation["org_type"] != organisation_rows[0].organisation["org_type"]:
                    problems.append(
                        ImportProblem(
                            row.number,
                            "org_type",
                            f"Organisation {slug!r} has org_type "
                            f"{organisation_rows[0].organisation['org_type']!r} in row "
                            f"{organisation_rows[0].number}.",
                        )
                    )
    return parsed, problems


def group_by_organisation(parsed: list[ParsedRow]) -> dict[str, list[ParsedRow]]:
    """Rows naming one organisation are written together: its names come from all of them."""
    groups: dict[str, list[ParsedRow]] = defaultdict(list)
    for row in parsed:
        groups[row.organisation["slug"]].append(row)
    return groups

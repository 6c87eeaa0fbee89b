"""The import spreadsheet's columns, and turning its rows into model field values."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..dates import parse_partial_date
from ..models import (
    UNKNOWN_COUNTRY,
    Claim,
    EventType,
    LibraryProxyURL,
    ReasonCategory,
    clean_source_url,
    normalise_text,
)
from .spreadsheet import ImportProblem

REQUIRED_COLUMNS = ("id", "organisation_id", "org_type", "event_type", "source_url")
MULTI_VALUE_SEPARATOR = "|"
SOURCE_PREFIXES = ("source", "source2")
REASONS_COLUMN = "reason_category"
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
    "public_note": "public_note",
    "public_note_zh": "public_note_zh",
    "curator_note": "curator_note",
}
# The first import format had one `notes` column; its notes become curator notes, the safe
# direction, unless the file also has the new column.
LEGACY_NOTES_COLUMN = "notes"
ALIASES_COLUMN = "aliases"
PARENT_COLUMN = "parent_organisation_id"
SOURCE_COLUMNS = {
    "url": "url",
    "publisher": "publisher",
    "date": "published_on",
    "title": "title",
    "type": "source_type",
    "language": "language",
}
KNOWN_COLUMNS = frozenset(
    {
        *ORGANISATION_COLUMNS,
        *EVENT_COLUMNS,
        "reason_category",
        LEGACY_NOTES_COLUMN,
        ALIASES_COLUMN,
        PARENT_COLUMN,
        *(
            f"{prefix}_{column}"
            for prefix in SOURCE_PREFIXES
            for column in (*SOURCE_COLUMNS, "quote")
        ),
    }
)


def unknown_columns(rows: list[dict]) -> list[str]:
    """Header names the import does not read, so a report can name them: nothing is dropped
    without a word."""
    header = [(name or "").strip() for name in (rows[0] if rows else {})]
    return [name for name in header if name and name not in KNOWN_COLUMNS]


@dataclass
class ParsedSource:
    column_prefix: str
    values: dict[str, Any]
    quote: str
    columns: frozenset[str] = frozenset()


@dataclass
class ParsedRow:
    number: int
    organisation: dict[str, Any]
    event: dict[str, Any]
    reasons: list[str]
    sources: list[ParsedSource]
    # The header's column names: a column absent from the file leaves its field untouched.
    columns: frozenset[str] = frozenset()
    # None when the file has no such column: the organisation's aliases or parent stay as
    # they are.
    aliases: list[str] | None = None
    parent_slug: str | None = None


class _RowParser:
    """Turn one spreadsheet row into model field values, collecting every problem found."""

    def __init__(self, number: int, row: dict[str, str]):
        self.number = number
        # NFC, so text copied from archives in compatibility characters matches a search.
        self.row = {
            (key or "").strip(): normalise_text(value or "").strip() for key, value in row.items()
        }
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
        if "curator_note" not in self.row:
            event["curator_note"] = self.get(LEGACY_NOTES_COLUMN)
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
            columns=frozenset(self.row),
            aliases=self.aliases() if ALIASES_COLUMN in self.row else None,
            parent_slug=self.get(PARENT_COLUMN) if PARENT_COLUMN in self.row else None,
        )

    def aliases(self) -> list[str]:
        names = (name.strip() for name in self.get(ALIASES_COLUMN).split(MULTI_VALUE_SEPARATOR))
        return list(dict.fromkeys(name for name in names if name))

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
            try:
                values["url"] = clean_source_url(values["url"])
            except LibraryProxyURL as error:
                self.problem(f"{prefix}_url", str(error))
            values["published_on"] = self.full_date(f"{prefix}_date")
            values["claims"] = [str(claim) for claim in claims]
            sources.append(
                ParsedSource(prefix, values, self.get(f"{prefix}_quote"), frozenset(self.row))
            )
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
    problems.extend(_parent_cycles(group_by_organisation(parsed)))
    return parsed, problems


def _parent_cycles(groups: dict[str, list[ParsedRow]]) -> list[ImportProblem]:
    """Name every organisation that the file makes part of itself, directly or not."""
    parent_of = {
        slug: next((row for row in rows if row.parent_slug), None) for slug, rows in groups.items()
    }
    problems = []
    for slug, row in parent_of.items():
        chain = [slug]
        while row is not None and row.parent_slug not in chain:
            chain.append(row.parent_slug)
            row = parent_of.get(row.parent_slug)
        if row is not None and row.parent_slug == slug:
            first = parent_of[slug]
            problems.append(
                ImportProblem(
                    first.number,
                    PARENT_COLUMN,
                    f"Organisation {slug!r} would be part of itself: "
                    + " → ".join([*chain, row.parent_slug])
                    + ".",
                )
            )
    return problems


def group_by_organisation(parsed: list[ParsedRow]) -> dict[str, list[ParsedRow]]:
    """Rows naming one organisation are written together: its names come from all of them."""
    groups: dict[str, list[ParsedRow]] = defaultdict(list)
    for row in parsed:
        groups[row.organisation["slug"]].append(row)
    return groups


def parents_first(groups: dict[str, list[ParsedRow]]) -> dict[str, list[ParsedRow]]:
    """Order organisations so that a parent named in the file is written before its sub-bodies.

    A cycle is left in file order: the model's validation then names it.
    """
    parent_of = {
        slug: next((row.parent_slug for row in rows if row.parent_slug), None)
        for slug, rows in groups.items()
    }
    ordered: dict[str, list[ParsedRow]] = {}

    def visit(slug: str, path: tuple[str, ...]) -> None:
        if slug in ordered or slug in path:
            return
        parent = parent_of.get(slug)
        if parent in groups:
            visit(parent, (*path, slug))
        ordered[slug] = groups[slug]

    for slug in groups:
        visit(slug, ())
    return ordered

"""Multi-step writes: importing spreadsheets of events and keeping derived fields current.

The admin, the management commands and the Celery tasks all call these functions, so the same
validation guards every way data enters the registry.
"""

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .dates import parse_partial_date
from .models import (
    UNKNOWN_COUNTRY,
    Alias,
    AliasKind,
    Citation,
    Claim,
    DuplicateFinder,
    Event,
    EventType,
    Language,
    Organisation,
    Reason,
    ReasonCategory,
    RegistryVersion,
    Reviewable,
    ReviewState,
    Source,
    SourceType,
    source_uid_for,
)

# --- Spreadsheet format -----------------------------------------------------------------

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


@dataclass
class RowOutcome:
    row: int
    event_uid: str
    organisation_slug: str
    action: str


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[RowOutcome] = field(default_factory=list)
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def count(self, kind: str, action: str) -> None:
        self.counts[kind][action] += 1

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        lines = []
        for kind in ("organisations", "events", "sources", "citations"):
            counts = self.counts.get(kind, Counter())
            lines.append(
                f"{kind}: {counts['created']} {verb} created, {counts['updated']} {verb} "
                f"updated, {counts['unchanged']} unchanged"
            )
        return "\n".join(lines)

    @property
    def changed(self) -> bool:
        return any(counts["created"] or counts["updated"] for counts in self.counts.values())


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


# --- Parsing rows -----------------------------------------------------------------------


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


# --- Import -----------------------------------------------------------------------------


def import_registry(
    *,
    rows: list[dict],
    dry_run: bool = False,
    review_state: str = ReviewState.DRAFT,
    user: AbstractBaseUser | None = None,
    reason: str = "Imported from a spreadsheet",
) -> ImportReport:
    """Create or update organisations, events, sources and citations from spreadsheet rows.

    All or nothing: any invalid row raises `ImportFailed` naming every problem by row and
    column, and nothing is written. Running the same rows twice changes nothing. New records
    take `review_state`; an existing record's review state is never changed by an import, so
    re-importing cannot publish or re-publish anything.
    """
    if review_state not in (ReviewState.DRAFT, ReviewState.IN_REVIEW, ReviewState.PUBLISHED):
        raise ValueError(f"Imported records cannot start as {review_state!r}.")
    parsed, problems = _parse_rows(rows)
    report = ImportReport(dry_run=dry_run)
    # Rows that parsed are still validated against the models (in a transaction that a
    # problem rolls back), so one pass reports every invalid row, not just the first kind.
    bad_rows = {problem.row for problem in problems}
    with transaction.atomic():
        writer = _RegistryWriter(report=report, review_state=review_state, user=user, reason=reason)
        for slug, organisation_rows in _group_by_organisation(parsed).items():
            good_rows = [row for row in organisation_rows if row.number not in bad_rows]
            if good_rows:
                writer.write_organisation(slug, good_rows)
        if problems or writer.problems:
            raise ImportFailed(problems + writer.problems)
        if dry_run:
            transaction.set_rollback(True)
        elif writer.changed_public_data:
            bump_public_data_version()
    return report


def _parse_rows(rows: list[dict]) -> tuple[list[ParsedRow], list[ImportProblem]]:
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
    for slug, organisation_rows in _group_by_organisation(parsed).items():
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


def _group_by_organisation(parsed: list[ParsedRow]) -> dict[str, list[ParsedRow]]:
    groups: dict[str, list[ParsedRow]] = defaultdict(list)
    for row in parsed:
        groups[row.organisation["slug"]].append(row)
    return groups


def _primary_row(rows: list[ParsedRow]) -> ParsedRow:
    """Pick the row whose names become the organisation's own; the others become aliases.

    Rows of one organisation may name it differently ("… Student Union (executive
    committee)"); the shortest English name is the one without a qualifier.
    """
    return min(
        rows,
        key=lambda row: (
            not row.organisation["name_en"],
            len(row.organisation["name_en"]),
            len(row.organisation["name_zh"]),
        ),
    )


def _field_problems(error: ValidationError, row: int, columns: dict[str, str], rows: dict):
    for name, messages in error.message_dict.items():
        column = columns.get(name, name if name != "__all__" else "row")
        for message in messages:
            yield ImportProblem(rows.get(name, row), column, message)


class _RegistryWriter:
    def __init__(self, *, report: ImportReport, review_state: str, user, reason: str):
        self.report = report
        self.review_state = review_state
        self.user = user
        self.reason = reason
        self.problems: list[ImportProblem] = []
        self.sources_seen: dict[str, Source] = {}
        # Whether a written change touched an organisation the public saw or now sees.
        self.changed_public_data = False
        self.aliases_written = 0

    def save(self, instance, kind: str, changed: bool, created: bool) -> None:
        if not (created or changed):
            self.report.count(kind, "unchanged")
            return
        instance._change_reason = self.reason
        if self.user is not None:
            instance._history_user = self.user
        instance.save()
        self.report.count(kind, "created" if created else "updated")

    def validate(self, instance, row: int, columns: dict[str, str], exclude=(), rows=None) -> bool:
        """Run the model's own validation; `rows` says which row gave each field's value."""
        try:
            # The database enforces the check constraints; clean() and the field choices
            # already state each of them with a clearer message, without a query apiece.
            instance.full_clean(
                exclude=list(exclude), validate_unique=False, validate_constraints=False
            )
        except ValidationError as error:
            self.problems.extend(_field_problems(error, row, columns, rows or {}))
            return False
        return True

    def write_organisation(self, slug: str, rows: list[ParsedRow]) -> None:
        organisation = Organisation.objects.filter(slug=slug).first()
        was_public = organisation is not None and is_public(organisation.pk)
        writes_before = self.writes()
        self.write_organisation_rows(slug, organisation, rows)
        if self.writes() != writes_before and (
            was_public or Organisation.objects.public().filter(slug=slug).exists()
        ):
            self.changed_public_data = True

    def writes(self) -> int:
        counts = self.report.counts.values()
        return self.aliases_written + sum(count["created"] + count["updated"] for count in counts)

    def write_organisation_rows(self, slug: str, organisation, rows: list[ParsedRow]) -> None:
        primary = _primary_row(rows)
        created = organisation is None
        if created:
            organisation = Organisation(slug=slug, review_state=ReviewState.DRAFT)
        values = dict(primary.organisation)
        row_of_value = dict.fromkeys(values, primary.number)
        for row in rows:  # Fill what the primary row leaves blank, e.g. a Chinese name.
            for name, value in row.organisation.items():
                if value not in ("", None) and values.get(name) in ("", None):
                    values[name], row_of_value[name] = value, row.number
        changed = _assign(organisation, values)
        columns = {name: column for column, name in ORGANISATION_COLUMNS.items()}
        if not self.validate(
            organisation, primary.number, columns, exclude=["review_state"], rows=row_of_value
        ):
            return
        self.save(organisation, "organisations", changed, created)
        self.write_aliases(organisation, rows)
        any_event_changed = False
        for row in rows:
            any_event_changed |= self.write_event(organisation, row)
        if created and self.review_state != ReviewState.DRAFT:
            self.set_state_of_new_organisation(organisation, primary)
        if created or any_event_changed:
            organisation.refresh_derived_fields()
            organisation.save_without_historical_record()
        status = (
            "created" if created else "updated" if changed or any_event_changed else "unchanged"
        )
        for row in rows:
            self.report.rows.append(RowOutcome(row.number, row.event["uid"], slug, status))

    def set_state_of_new_organisation(self, organisation: Organisation, primary: ParsedRow):
        organisation.review_state = self.review_state
        if self.review_state == ReviewState.PUBLISHED:
            organisation.first_published_at = timezone.now()
        elif self.review_state == ReviewState.IN_REVIEW:
            organisation.submitted_by = self.user
        if self.validate(organisation, primary.number, {}):
            organisation._change_reason = self.reason
            organisation.save()

    def write_aliases(self, organisation: Organisation, rows: list[ParsedRow]) -> None:
        own_names = {organisation.name_en, organisation.name_zh}
        wanted = {}
        for row in rows:
            for name, language in (
                (row.organisation["name_en"], Language.ENGLISH),
                (row.organisation["name_zh"], Language.CHINESE_TRADITIONAL),
            ):
                if name and name not in own_names:
                    wanted.setdefault(name, language)
        existing = set(organisation.aliases.values_list("name", flat=True))
        for name, language in wanted.items():
            if name not in existing:
                alias = Alias(
                    organisation=organisation,
                    name=name,
                    language=language,
                    kind=AliasKind.OTHER_FORM,
                )
                alias._change_reason = self.reason
                alias.save()
                self.aliases_written += 1

    def write_event(self, organisation: Organisation, row: ParsedRow) -> bool:
        event = Event.objects.filter(uid=row.event["uid"]).first()
        created = event is None
        if created:
            event = Event(uid=row.event["uid"], review_state=self.review_state)
        elif event.organisation_id != organisation.pk:
            self.problems.append(
                ImportProblem(
                    row.number,
                    "organisation_id",
                    f"Event {event.uid!r} belongs to organisation {event.organisation.slug!r}; "
                    "an event cannot move between organisations by import.",
                )
            )
            return False
        changed = _assign(event, {"organisation": organisation, **row.event})
        columns = {name: column for column, name in EVENT_COLUMNS.items()}
        columns.update(announced_precision="announced_date", effective_precision="effective_date")
        if not self.validate(event, row.number, columns):
            return False
        # Dates of partial precision are stored as the first day of their period.
        self.save(event, "events", changed, created)
        reasons_changed = set(event.reasons.values_list("code", flat=True)) != set(row.reasons)
        if reasons_changed:
            event.reasons.set(Reason.objects.filter(code__in=row.reasons))
            if not (created or changed):
                self.report.counts["events"]["unchanged"] -= 1
                self.report.count("events", "updated")
        citations_changed = False
        for parsed_source in row.sources:
            citations_changed |= self.write_citation(event, row.number, parsed_source)
        return created or changed or reasons_changed or citations_changed

    def write_citation(self, event: Event, row: int, parsed: ParsedSource) -> bool:
        source = self.write_source(row, parsed)
        if source is None:
            return False
        citation = Citation.objects.filter(event=event, source=source).first()
        created = citation is None
        if created:
            citation = Citation(event=event, source=source)
        changed = _assign(citation, {"quote": parsed.quote, "claims": parsed.values["claims"]})
        if not self.validate(
            citation, row, {"quote": f"{parsed.column_prefix}_quote"}, exclude=["event", "source"]
        ):
            return False
        self.save(citation, "citations", changed, created)
        return created or changed

    def write_source(self, row: int, parsed: ParsedSource) -> Source | None:
        values = {key: value for key, value in parsed.values.items() if key != "claims"}
        url = values["url"]
        if url in self.sources_seen:
            # A source cited by several rows takes its details from the first row naming it.
            return self.sources_seen[url]
        source = Source.objects.filter(url=url).first()
        created = source is None
        if created:
            source = Source(url=url, uid=source_uid_for(url))
        # Details a curator filled in are kept when the spreadsheet leaves them blank.
        changed = _assign(source, {k: v for k, v in values.items() if v not in ("", None)})
        columns = {
            name: f"{parsed.column_prefix}_{column}" for column, name in SOURCE_COLUMNS.items()
        }
        if not self.validate(source, row, columns):
            return None
        self.save(source, "sources", changed, created)
        self.sources_seen[url] = source
        return source


def _assign(instance, values: dict[str, Any]) -> bool:
    """Set field values on a model instance and say whether any of them changed."""
    changed = False
    for name, value in values.items():
        if name == "organisation":
            if instance.organisation_id != value.pk:
                instance.organisation = value
                changed = True
            continue
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    return changed


# --- Import with preview ---------------------------------------------------------------


@dataclass
class ImportPreview:
    """What a confirmed import would do, from a dry run that wrote nothing."""

    report: ImportReport | None = None
    problems: list[ImportProblem] = field(default_factory=list)
    duplicates: dict[str, list[Organisation]] = field(default_factory=dict)

    def rows_by_action(self) -> dict[str, list[RowOutcome]]:
        grouped: dict[str, list[RowOutcome]] = {"created": [], "updated": [], "unchanged": []}
        for row in self.report.rows if self.report else []:
            grouped[row.action].append(row)
        return grouped


def preview_import(
    *, file: Path, filename: str, review_state: str, user, reason: str
) -> ImportPreview:
    """Dry-run an uploaded spreadsheet and flag new organisations that look like existing ones."""
    try:
        rows = read_spreadsheet(file, filename=filename)
        report = import_registry(
            rows=rows, dry_run=True, review_state=review_state, user=user, reason=reason
        )
    except ImportFailed as failure:
        return ImportPreview(problems=failure.problems)
    created = {outcome.organisation_slug for outcome in report.rows if outcome.action == "created"}
    duplicates = {}
    finder = DuplicateFinder(Organisation.objects.all()) if created else None
    for row in rows:
        slug = (row.get("organisation_id") or "").strip()
        if slug not in created or slug in duplicates:
            continue
        duplicates[slug] = finder.find(
            name_en=(row.get("name_en") or "").strip(),
            name_zh=(row.get("name_zh") or "").strip(),
            acronym=(row.get("acronym") or "").strip(),
        )
    return ImportPreview(
        report=report, duplicates={slug: found for slug, found in duplicates.items() if found}
    )


def import_spreadsheet(
    *, file: Path, filename: str, review_state: str, user, reason: str
) -> ImportReport:
    """Import a confirmed upload; all or nothing, like `import_registry`."""
    rows = read_spreadsheet(file, filename=filename)
    return import_registry(rows=rows, review_state=review_state, user=user, reason=reason)


# --- Derived fields ---------------------------------------------------------------------


def refresh_organisation(*, organisation_id: int) -> Organisation:
    """Recompute an organisation's derived status, dates and search text after a change."""
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        before = [getattr(organisation, name) for name in Organisation.DERIVED_FIELDS]
        organisation.refresh_derived_fields()
        after = [getattr(organisation, name) for name in Organisation.DERIVED_FIELDS]
        if before != after:
            # Derived fields are not a curator's change: keep them out of the history.
            organisation.save_without_historical_record(update_fields=Organisation.DERIVED_FIELDS)
            if is_public(organisation_id):
                bump_public_data_version()
    return organisation


# --- Public data version ----------------------------------------------------------------


def bump_public_data_version() -> None:
    """Move the version every public cache and validator is keyed by, in this transaction.

    Every service that changes what the public sees calls it, and only then: its time is
    the registry's public Last-Modified, so a change to a draft or an embargoed record must
    not move it.
    """
    RegistryVersion.bump()


def is_public(organisation_id: int) -> bool:
    return Organisation.objects.public().filter(pk=organisation_id).exists()


def delete_records(*, records) -> None:
    """Delete records (the admin's delete); the public sees it at once if any was public."""
    with transaction.atomic():
        records = list(records)
        was_public = any(shows_publicly(record) for record in records)
        organisations_left = {
            record.organisation_id for record in records if isinstance(record, Event)
        }
        for record in records:
            record.delete()
        for organisation_id in organisations_left:
            if Organisation.objects.filter(pk=organisation_id).exists():
                refresh_organisation(organisation_id=organisation_id)
        if was_public:
            bump_public_data_version()


def shows_publicly(instance) -> bool:
    """Whether a record, or a source through its citations, is part of the public registry."""
    if isinstance(instance, Reviewable):
        return is_public(organisation_id_of(instance))
    if isinstance(instance, Source):
        return Source.objects.public().filter(pk=instance.pk).exists()
    return False


def organisation_id_of(record) -> int:
    return record.pk if isinstance(record, Organisation) else record.organisation_id


# --- Review workflow --------------------------------------------------------------------


class WorkflowRefused(Exception):
    """Raised when a workflow step is not allowed; nothing has been written."""


def is_reviewer(user) -> bool:
    return bool(user and user.has_perm("closures.publish_organisation"))


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise WorkflowRefused(message)


def _require_state(record: Reviewable, *states: str) -> None:
    if record.review_state not in states:
        allowed = " or ".join(str(ReviewState(state).label) for state in states)
        raise WorkflowRefused(
            f"{record} is {record.get_review_state_display()}; this step needs it {allowed}."
        )


def _author(record: Reviewable):
    """Who submitted the record: the four-eyes rule keeps them from publishing it themselves."""
    if isinstance(record, Organisation):
        return record.submitted_by
    latest = record.history.order_by("-history_date").first()
    return latest.history_user if latest else None


def _require_four_eyes(record: Reviewable, user, verb: str) -> None:
    author = _author(record)
    if user.is_superuser or author is None or author.pk != user.pk:
        return
    raise WorkflowRefused(
        f"{record} was submitted by you; another reviewer must {verb} it (four-eyes rule)."
    )


def _save_step(record: Reviewable, *, user, reason: str) -> None:
    record.full_clean()
    record._change_reason = reason
    record._history_user = user
    record.save()


def _locked(record: Reviewable) -> Reviewable:
    return type(record).objects.select_for_update().get(pk=record.pk)


def _events_to_carry(organisation: Organisation, *states: str):
    """Events move with their organisation through review, unless withdrawn on their own."""
    return organisation.events.filter(review_state__in=states)


def submit_for_review(*, record: Reviewable, user, reason: str = "") -> Reviewable:
    """Hand a draft to the reviewers; an organisation takes its draft events with it."""
    _require(user.has_perm("closures.change_organisation"), "You cannot edit records.")
    with transaction.atomic():
        record = _locked(record)
        _require_state(record, ReviewState.DRAFT)
        record.review_state = ReviewState.IN_REVIEW
        if isinstance(record, Organisation):
            record.submitted_by = user
            for event in _events_to_carry(record, ReviewState.DRAFT):
                event.review_state = ReviewState.IN_REVIEW
                _save_step(event, user=user, reason=reason or "Submitted for review")
        _save_step(record, user=user, reason=reason or "Submitted for review")
    return record


def publish(*, record: Reviewable, user, reason: str = "") -> Reviewable:
    """Publish a record in review; its events in review are published with it."""
    _require(is_reviewer(user), "Only reviewers can publish.")
    with transaction.atomic():
        record = _locked(record)
        was_public = is_public(organisation_id_of(record))
        _require_state(record, ReviewState.IN_REVIEW)
        _require_four_eyes(record, user, "publish")
        if isinstance(record, Organisation):
            for event in _events_to_carry(record, ReviewState.IN_REVIEW):
                event.review_state = ReviewState.PUBLISHED
                _save_step(event, user=user, reason=reason or "Published")
            record.first_published_at = record.first_published_at or timezone.now()
        record.review_state = ReviewState.PUBLISHED
        try:
            _save_step(record, user=user, reason=reason or "Published")
        except ValidationError as error:
            raise WorkflowRefused(" ".join(error.messages)) from None
        _refresh_after_step(record, was_public=was_public)
    return record


def return_to_draft(*, record: Reviewable, user, reason: str) -> Reviewable:
    """Send a record in review (or a withdrawn one, by a reviewer) back to its curators."""
    _require(bool(reason.strip()), "Say why the record goes back to draft.")
    with transaction.atomic():
        record = _locked(record)
        was_public = is_public(organisation_id_of(record))
        _require_state(record, ReviewState.IN_REVIEW, ReviewState.WITHDRAWN)
        author = _author(record)
        own_submission = author is not None and author.pk == user.pk
        _require(
            is_reviewer(user) or (own_submission and record.review_state == ReviewState.IN_REVIEW),
            "Only reviewers, or the curator who submitted it, can return a record to draft.",
        )
        record.review_state = ReviewState.DRAFT
        if isinstance(record, Organisation):
            for event in _events_to_carry(record, ReviewState.IN_REVIEW):
                event.review_state = ReviewState.DRAFT
                _save_step(event, user=user, reason=reason)
        _save_step(record, user=user, reason=reason)
        _refresh_after_step(record, was_public=was_public)
    return record


def withdraw(*, record: Reviewable, user, reason: str) -> Reviewable:
    """Take a published record down; its address then shows the public `reason`."""
    _require(is_reviewer(user), "Only reviewers can withdraw.")
    _require(bool(reason.strip()), "Give the public reason for the withdrawal.")
    with transaction.atomic():
        record = _locked(record)
        was_public = is_public(organisation_id_of(record))
        _require_state(record, ReviewState.PUBLISHED)
        _require_four_eyes(record, user, "withdraw")
        record.review_state = ReviewState.WITHDRAWN
        if isinstance(record, Organisation):
            record.withdrawn_reason = reason
        _save_step(record, user=user, reason=f"Withdrawn: {reason}")
        _refresh_after_step(record, was_public=was_public)
    return record


def set_embargo(
    *, record: Reviewable, user, reason: str, review_on: dt.date | None = None
) -> Reviewable:
    """Hide a record from every public channel, whatever its review state."""
    _require(user.has_perm("closures.embargo_organisation"), "Only reviewers can embargo.")
    _require(bool(reason.strip()), "Give the reason for the embargo.")
    with transaction.atomic():
        record = _locked(record)
        was_public = is_public(organisation_id_of(record))
        record.embargoed = True
        record.embargo_reason = reason
        record.embargo_review_on = review_on
        _save_step(record, user=user, reason="Embargo set")
        _refresh_after_step(record, was_public=was_public)
    return record


def lift_embargo(*, record: Reviewable, user, reason: str = "") -> Reviewable:
    _require(user.has_perm("closures.embargo_organisation"), "Only reviewers can lift an embargo.")
    with transaction.atomic():
        record = _locked(record)
        was_public = is_public(organisation_id_of(record))
        _require(record.embargoed, f"{record} is not embargoed.")
        record.embargoed = False
        record.embargo_reason = ""
        record.embargo_review_on = None
        _save_step(record, user=user, reason=reason or "Embargo lifted")
        _refresh_after_step(record, was_public=was_public)
    return record


def _refresh_after_step(record: Reviewable, *, was_public: bool) -> None:
    """Refresh derived fields; move the data version if the record was or is now public."""
    organisation_id = organisation_id_of(record)
    refresh_organisation(organisation_id=organisation_id)
    if was_public or is_public(organisation_id):
        bump_public_data_version()


# Review state and embargo change only through the steps above, never by a revert.
WORKFLOW_FIELDS = frozenset(
    {
        "review_state",
        "embargoed",
        "embargo_reason",
        "embargo_review_on",
        "withdrawn_reason",
        "submitted_by",
        "first_published_at",
    }
)


def revert_to_version(*, historical_record, user, reason: str = ""):
    """Restore the content of an earlier version; the review state and embargo stay as they are."""
    _require(is_reviewer(user), "Only reviewers can revert to an earlier version.")
    model = historical_record.instance_type
    with transaction.atomic():
        current = model.objects.select_for_update().filter(pk=historical_record.instance.pk)
        current = current.first()
        was_public = current is not None and shows_publicly(current)
        restored = historical_record.instance
        if current is not None:
            for name in WORKFLOW_FIELDS:
                if hasattr(current, name):
                    setattr(restored, name, getattr(current, name))
        version = historical_record.history_date.strftime("%Y-%m-%d %H:%M")
        try:
            restored.full_clean(validate_unique=False)
        except ValidationError as error:
            raise WorkflowRefused(" ".join(error.messages)) from None
        restored._change_reason = reason or f"Reverted to the version of {version}"
        restored._history_user = user
        restored.save()
        if isinstance(restored, Reviewable):
            _refresh_after_step(restored, was_public=was_public)
        elif was_public or shows_publicly(restored):
            bump_public_data_version()
    return restored

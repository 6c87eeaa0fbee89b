"""Entry points for importing: rows, a previewed upload, a confirmed upload."""

from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from ..models import DuplicateFinder, Organisation, ReviewState
from .import_merge import ImportConflict, MergeRules
from .import_parser import group_by_organisation, parents_first, parse_rows, unknown_columns
from .import_writer import ImportReport, RegistryWriter, RowOutcome
from .spreadsheet import ImportFailed, ImportProblem, read_spreadsheet


def import_registry(
    *,
    rows: list[dict],
    dry_run: bool = False,
    review_state: str = ReviewState.DRAFT,
    user: AbstractBaseUser | None = None,
    reason: str = "Imported from a spreadsheet",
    rules: MergeRules | None = None,
) -> ImportReport:
    """Create or update organisations, events, sources and citations from spreadsheet rows.

    All or nothing: any invalid row raises `ImportFailed` naming every problem by row and
    column, and nothing is written. Running the same rows twice changes nothing. New records
    take `review_state`; an existing record's review state is never changed by an import, so
    re-importing cannot publish or re-publish anything.

    An existing record is merged with the file by `rules` (see `import_merge`): absent
    columns and blank cells leave fields untouched, and a value a person changed since the
    last import is kept and reported in `report.conflicts` unless the rules overwrite it. A
    dry run runs the same code and rolls back, so it reports exactly what the import does.
    """
    if review_state not in (ReviewState.DRAFT, ReviewState.IN_REVIEW, ReviewState.PUBLISHED):
        raise ValueError(f"Imported records cannot start as {review_state!r}.")
    parsed, problems = parse_rows(rows)
    report = ImportReport(dry_run=dry_run, unknown_columns=unknown_columns(rows))
    # Rows that parsed are still validated against the models (in a transaction that a
    # problem rolls back), so one pass reports every invalid row, not just the first kind.
    bad_rows = {problem.row for problem in problems}
    with transaction.atomic():
        writer = RegistryWriter(
            report=report, review_state=review_state, user=user, reason=reason, rules=rules
        )
        for slug, organisation_rows in parents_first(group_by_organisation(parsed)).items():
            good_rows = [row for row in organisation_rows if row.number not in bad_rows]
            if good_rows:
                writer.write_organisation(slug, good_rows)
        if problems or writer.problems:
            raise ImportFailed(problems + writer.problems)
        if dry_run:
            transaction.set_rollback(True)
    return report


@dataclass
class ImportPreview:
    """What a confirmed import would do, from a dry run that wrote nothing."""

    report: ImportReport | None = None
    problems: list[ImportProblem] = field(default_factory=list)
    duplicates: dict[str, list[Organisation]] = field(default_factory=dict)
    # Header names the import does not read: shown whether or not the rows are valid.
    unknown_columns: list[str] = field(default_factory=list)

    @property
    def conflicts(self) -> list[ImportConflict]:
        return self.report.conflicts if self.report else []

    def rows_by_action(self) -> dict[str, list[RowOutcome]]:
        grouped: dict[str, list[RowOutcome]] = {"created": [], "updated": [], "unchanged": []}
        for row in self.report.rows if self.report else []:
            grouped[row.action].append(row)
        return grouped


def preview_import(
    *, file: Path, filename: str, review_state: str, user, reason: str, rules: MergeRules
) -> ImportPreview:
    """Dry-run an uploaded spreadsheet and flag new organisations that look like existing ones."""
    rows = []
    try:
        rows = read_spreadsheet(file, filename=filename)
        report = import_registry(
            rows=rows,
            dry_run=True,
            review_state=review_state,
            user=user,
            reason=reason,
            rules=rules,
        )
    except ImportFailed as failure:
        return ImportPreview(problems=failure.problems, unknown_columns=unknown_columns(rows))
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
        report=report,
        duplicates={slug: found for slug, found in duplicates.items() if found},
        unknown_columns=report.unknown_columns,
    )


def import_spreadsheet(
    *, file: Path, filename: str, review_state: str, user, reason: str, rules: MergeRules
) -> ImportReport:
    """Import a confirmed upload; all or nothing, like `import_registry`."""
    rows = read_spreadsheet(file, filename=filename)
    return import_registry(
        rows=rows, review_state=review_state, user=user, reason=reason, rules=rules
    )

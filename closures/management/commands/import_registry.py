from django.core.management.base import BaseCommand, CommandError

from closures.models import ReviewState
from closures.services import (
    ImportFailed,
    MergeRules,
    import_registry,
    read_spreadsheet,
    unknown_columns,
)


class Command(BaseCommand):
    help = (
        "Import organisations, events and sources from a CSV or XLSX spreadsheet in the "
        "registry's import format. All or nothing; running it twice changes nothing. Absent "
        "columns and empty cells leave fields as they are; values changed since the last "
        "import are kept and listed as conflicts."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV or XLSX file, e.g. fixtures/registry.csv")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write nothing."
        )
        parser.add_argument(
            "--publish",
            action="store_true",
            help="Publish new records (for the curated data); otherwise they arrive as drafts. "
            "Existing records keep their review state either way.",
        )
        parser.add_argument(
            "--clear-blanks",
            action="store_true",
            help="Empty cells clear their fields; otherwise an empty cell leaves a field as it is.",
        )
        parser.add_argument(
            "--prefer-file",
            action="store_true",
            help="Overwrite values a person changed since the last import (the conflicts a "
            "dry run lists); otherwise they are kept.",
        )

    def handle(self, *args, path, dry_run, publish, clear_blanks, prefer_file, **options):
        rows = []
        try:
            rows = read_spreadsheet(path)
            report = import_registry(
                rows=rows,
                dry_run=dry_run,
                review_state=ReviewState.PUBLISHED if publish else ReviewState.DRAFT,
                reason=f"Imported from {path}",
                rules=MergeRules(clear_blanks=clear_blanks, prefer_file=prefer_file),
            )
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except ImportFailed as error:
            unknown = unknown_columns(rows)
            ignored = f"\ncolumns not recognised: {', '.join(unknown)}" if unknown else ""
            raise CommandError(
                f"Nothing was imported: {len(error.problems)} problem(s) in {path}:\n{error}"
                + ignored
            ) from None
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
        self.stdout.write(report.summary())

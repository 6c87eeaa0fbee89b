from django.core.management.base import BaseCommand, CommandError

from closures.tracker_import import TrackerImportFailed, import_trackers


class Command(BaseCommand):
    help = (
        "Import other trackers' lists from a directory holding trackers.csv and one CSV per "
        "tracker, and match their entries to registry records. All or nothing; running it "
        "twice changes nothing; a curator's decision on an entry is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="e.g. fixtures/trackers")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write nothing."
        )

    def handle(self, *args, directory, dry_run, **options):
        try:
            report = import_trackers(directory=directory, dry_run=dry_run)
        except TrackerImportFailed as error:
            raise CommandError(
                f"Nothing was imported: {len(error.problems)} problem(s) in {directory}:\n{error}"
            ) from None
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
        self.stdout.write(report.summary())

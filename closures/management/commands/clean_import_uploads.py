from django.core.management.base import BaseCommand

from closures.services.import_uploads import delete_stale_uploads


class Command(BaseCommand):
    help = (
        "Delete spreadsheets left waiting between an import's preview and its confirmation "
        "for longer than IMPORT_PREVIEW_MAX_AGE_SECONDS (beat runs this every 10 minutes)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-age", type=float, default=None, help="Seconds; default the setting."
        )

    def handle(self, *args, max_age, **options):
        deleted = delete_stale_uploads(max_age_seconds=max_age)
        self.stdout.write(f"Deleted {deleted} waiting upload(s).")

from django.core.management.base import BaseCommand, CommandError

from closures.models import Release
from closures.redaction import redact_release
from closures.releases import ReleaseRefused


class Command(BaseCommand):
    help = (
        "Replace a release's file with a redacted rebuild (VERSION-rN) without the given "
        "organisations (default: every one in it that is no longer public); the original is "
        "deleted, or moved to RELEASES_REDACTED_ORIGINALS_DIR, and never served again."
    )

    def add_arguments(self, parser):
        parser.add_argument("version", help="The release, e.g. 2026.11.0.")
        parser.add_argument(
            "--reason", required=True, help="Why (kept for reviewers, never published)."
        )
        parser.add_argument(
            "--organisation",
            action="append",
            dest="organisations",
            metavar="SLUG",
            help="An organisation to remove; repeat for several.",
        )

    def handle(self, *args, **options):
        release = Release.objects.filter(version=options["version"]).first()
        if release is None:
            raise CommandError(f"No release {options['version']}.")
        try:
            release = redact_release(
                release=release,
                reason=options["reason"],
                organisations=options["organisations"],
            )
        except ReleaseRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        removed = release.redaction_log[-1]["organisations"]
        self.stdout.write(
            f"Release {release.version} is now {release.filename}, sha256 {release.sha256}; "
            f"{len(removed)} organisation(s) removed."
        )

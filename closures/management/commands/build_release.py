from django.core.management.base import BaseCommand, CommandError

from closures.releases import ReleaseRefused, build_release


class Command(BaseCommand):
    help = "Build a new immutable, numbered release of the public registry in RELEASES_DIR."

    def add_arguments(self, parser):
        parser.add_argument("--release-version", help="Version to give it; default YEAR.MONTH.N.")
        parser.add_argument(
            "--if-changed",
            action="store_true",
            help="Do nothing when no public record changed since the previous release.",
        )

    def handle(self, *args, **options):
        try:
            release = build_release(
                version=options["release_version"], only_if_changed=options["if_changed"]
            )
        except ReleaseRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        if release is None:
            self.stdout.write("Nothing changed since the previous release; none built.")
            return
        counts = ", ".join(f"{count} {name}" for name, count in release.counts.items())
        self.stdout.write(
            f"Release {release.version}: {release.filename}, {release.size:,} bytes, "
            f"sha256 {release.sha256} ({counts})."
        )

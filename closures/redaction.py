"""Redacting a release: safety outranks immutability (issue 13.3).

A release keeps what was public on its day. When a record in it is embargoed or withdrawn
later, a reviewer replaces the release's file with a redacted rebuild: the same version with
a suffix (`2026.11.0-r1`), without the removed organisations' rows and without the events,
citations and sources only they used, with its own checksums. The original is never served
again: it is deleted, or moved where the operator chose (`RELEASES_REDACTED_ORIGINALS_DIR`).
The public learns only that the release was redacted, and when.
"""

import csv
import datetime as dt
import hashlib
import io
import re
import shutil
import zipfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import columns, services
from .models import Organisation, Release
from .releases import ReleaseRefused, Snapshot, fingerprints_of, package_bytes, read_tables


def release_files(release: Release) -> dict[str, bytes]:
    """The members of the file a release serves now, by their path inside the package."""
    path = Path(settings.RELEASES_DIR) / release.filename
    if not path.is_file():
        raise ReleaseRefused(f"{path} is missing; there is nothing to redact.")
    with zipfile.ZipFile(path) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    """Rows as the exports write them (every cell quoted, `\\n`); the cells are already safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def without_organisations(files: dict[str, bytes], removed: set[str]) -> dict[str, bytes]:
    """The data files without `removed`'s rows and the events, citations and sources that
    only they used."""
    tables = read_tables(files)

    def column(table: str, name: str) -> int:
        return tables[table][0].index(name)

    organisations = [
        row
        for row in tables["organisations"][1]
        if row[column("organisations", "organisation_id")] not in removed
    ]
    events = [
        row
        for row in tables["events"][1]
        if row[column("events", "organisation_id")] not in removed
    ]
    kept_events = {row[column("events", "event_id")] for row in events}
    citations = [
        row for row in tables["citations"][1] if row[column("citations", "event_id")] in kept_events
    ]
    cited = {row[column("citations", "source_id")] for row in citations}
    sources = [row for row in tables["sources"][1] if row[column("sources", "source_id")] in cited]
    kept = {
        "organisations": organisations,
        "events": events,
        "citations": citations,
        "sources": sources,
    }
    return {f"data/{name}.csv": _csv_bytes(tables[name][0], kept[name]) for name in columns.TABLES}


def counts_of(files: dict[str, bytes]) -> dict[str, int]:
    tables = read_tables(files)
    aliases = tables["organisations"][0].index("aliases")
    return {
        "organisations": len(tables["organisations"][1]),
        "events": len(tables["events"][1]),
        "sources": len(tables["sources"][1]),
        "citations": len(tables["citations"][1]),
        "aliases": sum(
            len(row[aliases].split(columns.MULTI_VALUE_SEPARATOR))
            for row in tables["organisations"][1]
            if row[aliases]
        ),
    }


SECTION = re.compile(r"^## (?P<kind>.+) \(\d+\)$")


def redacted_changes(text: str, removed: set[str], *, on: dt.date) -> str:
    """CHANGES.md without the removed organisations, its counts recounted, and one line that
    says the file was redacted on a date (never what)."""
    lines = text.splitlines()
    output: list[str] = []
    section: list[str] | None = None

    def close_section():
        if section is not None:
            heading, entries = section[0], section[1:]
            kind = SECTION.match(heading)["kind"]
            output.append(f"## {kind} ({len(entries)})")
            output.extend(entries or ["- none"])
            output.append("")

    for line in lines:
        if SECTION.match(line):
            close_section()
            section = [line]
        elif section is None:
            output.append(line)
        elif line.startswith("- ") and line != "- none" and line[2:] not in removed:
            section.append(line)
    close_section()
    heading_end = 1 if output and output[0].startswith("# ") else 0
    note = f"This file was redacted on {on.isoformat()}: records no longer public were removed."
    output[heading_end:heading_end] = ["", note]
    return "\n".join(output)


def organisations_to_remove(release_slugs: set[str], requested: list[str] | None) -> set[str]:
    """By default, every organisation in the release that is no longer public."""
    if not requested:
        public = set(
            Organisation.objects.public()
            .filter(slug__in=release_slugs)
            .values_list("slug", flat=True)
        )
        return release_slugs - public
    unknown = sorted(set(requested) - release_slugs)
    if unknown:
        raise ReleaseRefused(f"Not in this release: {', '.join(unknown)}.")
    return set(requested)


def redact_release(
    *,
    release: Release,
    reason: str,
    user=None,
    organisations: list[str] | None = None,
    today: dt.date | None = None,
) -> Release:
    """Replace `release`'s file with a redacted rebuild and stop serving the original."""
    if not reason.strip():
        raise ReleaseRefused("Give the reason for the redaction (kept for reviewers only).")
    today = today or timezone.localdate()
    files = release_files(release)
    release_slugs = set(fingerprints_of(files))
    removed = organisations_to_remove(release_slugs, organisations)
    if not removed:
        raise ReleaseRefused(
            f"Every organisation in release {release.file_version} is still public; "
            "name the ones to remove with --organisation."
        )
    data = without_organisations(files, removed)
    snapshot = Snapshot(files=data, counts=counts_of(data), fingerprints=fingerprints_of(data))
    original = Path(settings.RELEASES_DIR) / release.filename
    redaction = release.redaction + 1
    version = f"{release.version}-r{redaction}"
    content = package_bytes(
        version=version,
        released_on=release.released_on,
        snapshot=snapshot,
        previous=None,
        changes=redacted_changes(files["CHANGES.md"].decode(), removed, on=today),
    )
    filename = f"closures-registry-{version}.zip"
    target = Path(settings.RELEASES_DIR) / filename
    written = False
    try:
        with transaction.atomic():
            locked = Release.objects.select_for_update().get(pk=release.pk)
            if locked.redaction != release.redaction:
                raise ReleaseRefused(f"Release {release.version} was redacted meanwhile.")
            with open(target, "xb") as output:  # "x": never overwrite a file
                written = True
                output.write(content)
            locked.filename = filename
            locked.size = len(content)
            locked.sha256 = hashlib.sha256(content).hexdigest()
            locked.counts = snapshot.counts
            locked.fingerprints = snapshot.fingerprints
            locked.redaction = redaction
            locked.redacted_on = today
            locked.redaction_log = [
                *locked.redaction_log,
                {
                    "version": version,
                    "on": today.isoformat(),
                    "by": getattr(user, "username", "") or "",
                    "reason": reason,
                    "organisations": sorted(removed),
                    "replaced_sha256": release.sha256,
                },
            ]
            locked.full_clean()
            locked.save()
            # The release list and data page change: no cache may keep the original's link.
            services.bump_public_data_version()
    except BaseException:
        if written:
            target.unlink(missing_ok=True)
        raise
    set_original_aside(original)
    return locked


def set_original_aside(original: Path) -> None:
    """Delete the replaced file, or move it to the operator's chosen place; never serve it."""
    keep_in = settings.RELEASES_REDACTED_ORIGINALS_DIR
    if keep_in:
        Path(keep_in).mkdir(parents=True, exist_ok=True)
        shutil.move(original, Path(keep_in) / original.name)
    else:
        original.unlink(missing_ok=True)

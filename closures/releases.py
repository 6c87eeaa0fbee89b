"""Citable, versioned bulk releases: a Frictionless Data Package in one zip.

The same data gives the same bytes: rows are sorted, JSON keys are sorted, and every zip
member carries the release date as its timestamp. So a checksum identifies the data, and a
release can be rebuilt to prove it.
"""

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from . import columns, exports, services
from .models import (
    Alias,
    Citation,
    Event,
    Organisation,
    Release,
    Source,
)

TITLE = "Hong Kong Civil Society Closures Registry"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"


def resource_schemas() -> dict:
    """Table Schemas of the package, from the data dictionary in columns.py."""
    fields = {
        name: [column.table_schema() for column in table] for name, table in columns.TABLES.items()
    }
    return {
        "organisations": {"fields": fields["organisations"], "primaryKey": ["organisation_id"]},
        "events": {
            "fields": fields["events"],
            "primaryKey": ["event_id"],
            "foreignKeys": [
                {
                    "fields": ["organisation_id"],
                    "reference": {"resource": "organisations", "fields": ["organisation_id"]},
                }
            ],
        },
        "sources": {"fields": fields["sources"], "primaryKey": ["source_id"]},
        "citations": {
            "fields": fields["citations"],
            "primaryKey": ["event_id", "source_id"],
            "foreignKeys": [
                {
                    "fields": ["event_id"],
                    "reference": {"resource": "events", "fields": ["event_id"]},
                },
                {
                    "fields": ["source_id"],
                    "reference": {"resource": "sources", "fields": ["source_id"]},
                },
            ],
        },
    }


@dataclass
class Snapshot:
    """The public registry at one moment, as the release's CSV files."""

    files: dict[str, bytes]
    counts: dict[str, int]
    fingerprints: dict[str, str]


def take_snapshot() -> Snapshot:
    organisations = Organisation.objects.public()
    events = Event.objects.public()
    sources = Source.objects.public()
    rows = {
        "organisations": exports.organisation_rows(organisations),
        "events": exports.event_rows(events),
        "sources": exports.source_rows(sources),
        "citations": exports.citation_rows(events),
    }
    files = {
        f"data/{name}.csv": b"".join(exports.csv_lines(rows[name], columns.names(table)))
        for name, table in columns.TABLES.items()
    }
    counts = {
        "organisations": organisations.count(),
        "events": events.count(),
        "sources": sources.count(),
        "citations": Citation.objects.filter(event__in=events).count(),
        "aliases": Alias.objects.filter(organisation__in=organisations).count(),
    }
    return Snapshot(files=files, counts=counts, fingerprints=fingerprints_of(files))


def read_tables(files: dict[str, bytes]) -> dict[str, tuple[list[str], list[list[str]]]]:
    """Each data file of a package as its header and its rows of cells."""
    tables = {}
    for name in columns.TABLES:
        reader = csv.reader(io.StringIO(files[f"data/{name}.csv"].decode()))
        header = next(reader)
        tables[name] = (header, list(reader))
    return tables


def fingerprints_of(files: dict[str, bytes]) -> dict[str, str]:
    """Per organisation, a SHA-256 of its rows in the data files: its organisation row, its
    events, their citations and the sources they cite (with the headers).

    Computed from the files alone, so two packages whose data files are identical have the
    same fingerprints, and nothing the files do not hold (an embargoed event, a curator note)
    can count as a change.
    """
    tables = read_tables(files)
    position = {
        name: {column: i for i, column in enumerate(header)} for name, (header, _) in tables.items()
    }
    sources = {row[position["sources"]["source_id"]]: row for row in tables["sources"][1]}
    citations = defaultdict(list)
    for row in tables["citations"][1]:
        citations[row[position["citations"]["event_id"]]].append(row)
    events = defaultdict(list)
    for row in tables["events"][1]:
        events[row[position["events"]["organisation_id"]]].append(row)
    fingerprints = {}
    for row in tables["organisations"][1]:
        slug = row[position["organisations"]["organisation_id"]]
        own_events = events[slug]
        own_citations = [
            citation
            for event in own_events
            for citation in citations[event[position["events"]["event_id"]]]
        ]
        cited = sorted({citation[position["citations"]["source_id"]] for citation in own_citations})
        rows = {
            name: [tables[name][0], *body]
            for name, body in (
                ("organisations", [row]),
                ("events", own_events),
                ("citations", own_citations),
                ("sources", [sources[uid] for uid in cited if uid in sources]),
            )
        }
        canonical = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        fingerprints[slug] = hashlib.sha256(canonical.encode()).hexdigest()
    return dict(sorted(fingerprints.items()))


def changes_since(previous: Release | None, fingerprints: dict) -> dict[str, list[str]]:
    before = previous.fingerprints if previous else {}
    return {
        "added": sorted(set(fingerprints) - set(before)),
        "changed": sorted(
            slug for slug in set(fingerprints) & set(before) if fingerprints[slug] != before[slug]
        ),
        # Embargoed, withdrawn or hidden through its events: a release says no more.
        "no longer public": sorted(set(before) - set(fingerprints)),
    }


def datapackage(version: str, released_on: dt.date, files: dict[str, bytes]) -> dict:
    schemas = resource_schemas()
    return {
        "profile": "tabular-data-package",
        "name": "hong-kong-civil-society-closures",
        "title": TITLE,
        "version": version,
        "created": f"{released_on.isoformat()}T00:00:00Z",
        "homepage": f"{settings.SITE_URL}/en/data/",
        "licenses": [{"name": "CC-BY-4.0", "path": LICENCE_URL, "title": "CC BY 4.0"}],
        "resources": [
            {
                "name": name,
                "path": f"data/{name}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": len(files[f"data/{name}.csv"]),
                "hash": "sha256:" + hashlib.sha256(files[f"data/{name}.csv"]).hexdigest(),
                "dialect": {"delimiter": ",", "quoteChar": '"', "doubleQuote": True},
                "schema": schema,
            }
            for name, schema in schemas.items()
        ],
    }


def codebook(version: str) -> str:
    lines = [
        f"# Codebook — {TITLE}, release {version}",
        "",
        "Each CSV file is UTF-8, comma-separated, every cell quoted. Cells that a spreadsheet",
        "would run as a formula (starting with =, +, - or @) carry a leading apostrophe.",
        f"Multi-valued cells are joined with `{columns.MULTI_VALUE_SEPARATOR}`.",
        "Dates known only to the month or year are written `YYYY-MM` or `YYYY`, with their",
        "precision in the column beside them. Times are in UTC, written `YYYY-MM-DDTHH:MM:SSZ`.",
        "",
        "Confidence levels:",
        "",
        *(
            f"- `{level}`: {definition}."
            for level, definition in columns.CONFIDENCE_DEFINITIONS.items()
        ),
        "",
    ]
    for name, schema in resource_schemas().items():
        lines += [f"## {name}.csv", "", "| column | type | meaning | allowed values |"]
        lines += ["|---|---|---|---|"]
        for spec in schema["fields"]:
            allowed = ", ".join(
                value or "(empty)" for value in spec.get("constraints", {}).get("enum", [])
            )
            meaning = spec["description"].replace("|", "\\|")  # a literal bar in Markdown
            lines.append(f"| `{spec['name']}` | {spec['type']} | {meaning} | {allowed} |")
        lines.append("")
    return "\n".join(lines)


def citation_cff(version: str, released_on: dt.date) -> str:
    """CITATION.cff (Citation File Format 1.2), serialised by PyYAML so every value is quoted
    as YAML requires, whatever the title or URL contains."""
    citation = {
        "cff-version": "1.2.0",
        "message": "If you use this dataset, please cite this release.",
        "type": "dataset",
        "title": TITLE,
        "version": version,
        "date-released": released_on,
        "license": "CC-BY-4.0",
        "url": f"{settings.SITE_URL}/en/data/",
        "authors": [{"name": f"{TITLE} curators"}],
        "keywords": ["Hong Kong", "civil society", "National Security Law"],
    }
    return yaml.safe_dump(citation, sort_keys=False, allow_unicode=True, width=1000)


LICENCE = f"""The data in this package is licensed under the Creative Commons Attribution 4.0
International licence (CC BY 4.0): {LICENCE_URL}

You may share and adapt it for any purpose, provided you give appropriate credit (cite the
release, see CITATION.cff), link to the licence and say whether you made changes.
"""


def changes_markdown(version, previous: Release | None, changes: dict) -> str:
    since = f"release {previous.version}" if previous else "the start (first release)"
    lines = [f"# Changes in {version} since {since}", ""]
    for kind, slugs in changes.items():
        lines.append(f"## {kind.capitalize()} ({len(slugs)})")
        lines += [f"- {slug}" for slug in slugs] or ["- none"]
        lines.append("")
    return "\n".join(lines)


def package_bytes(
    *,
    version: str,
    released_on: dt.date,
    snapshot: Snapshot,
    previous: Release | None,
    changes: str | None = None,
) -> bytes:
    """The release zip: the same inputs give the same bytes. `changes` replaces the CHANGES.md
    computed against `previous` (a redacted rebuild keeps its release's own, redacted)."""
    files = dict(snapshot.files)
    files["datapackage.json"] = (
        json.dumps(
            datapackage(version, released_on, snapshot.files),
            indent=2,
            sort_keys=True,
            ensure_ascii=False,
        )
        + "\n"
    ).encode()
    files["CODEBOOK.md"] = codebook(version).encode()
    files["CITATION.cff"] = citation_cff(version, released_on).encode()
    files["LICENSE"] = LICENCE.encode()
    if changes is None:
        changes = changes_markdown(
            version, previous, changes_since(previous, snapshot.fingerprints)
        )
    files["CHANGES.md"] = changes.encode()
    files["SHA256SUMS"] = "".join(
        f"{hashlib.sha256(content).hexdigest()}  {name}\n"
        for name, content in sorted(files.items())
    ).encode()
    buffer = io.BytesIO()
    stamp = (released_on.year, released_on.month, released_on.day, 0, 0, 0)
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"closures-registry-{version}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


class ReleaseRefused(Exception):
    pass


class VersionTaken(Exception):
    """Another build recorded (or is writing) this version first."""


def next_version(today: dt.date) -> str:
    """The next free number of the month (after the highest, so a gap is never reused)."""
    prefix = f"{today.year}.{today.month}."
    taken = [
        int(version.removeprefix(prefix))
        for version in Release.objects.filter(version__startswith=prefix).values_list(
            "version", flat=True
        )
    ]
    return f"{prefix}{max(taken, default=-1) + 1}"


def read_snapshot() -> tuple[Release | None, Snapshot]:
    """The previous release and the public registry, read as one snapshot.

    On PostgreSQL every query of a build runs in one REPEATABLE READ, READ ONLY transaction:
    at READ COMMITTED a publish committed mid-build could ship events whose organisation is
    missing from organisations.csv. SQLite serialises writers, so one transaction suffices.
    Inside a caller's transaction (the tests'), the level is the caller's to set.
    """
    outermost = not connection.in_atomic_block  # a caller's transaction keeps its own level
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        previous = Release.objects.order_by("-released_on", "-created_at").first()
        return previous, take_snapshot()


# A build that loses a race for its number takes the next one; after this many, it gives up.
VERSION_ATTEMPTS = 5


def build_release(
    *, version: str | None = None, today: dt.date | None = None, only_if_changed: bool = False
) -> Release | None:
    """Write a new immutable release to RELEASES_DIR and record it; never overwrite one.

    The version is claimed by inserting its row (unique) in the same transaction that writes
    the file: a build that loses the race for a number writes nothing for it and, unless the
    version was asked for, tries the next number.
    """
    today = today or timezone.localdate()
    previous, snapshot = read_snapshot()
    if only_if_changed and previous and previous.fingerprints == snapshot.fingerprints:
        return None
    for _attempt in range(VERSION_ATTEMPTS):
        candidate = version or next_version(today)
        try:
            return record_release(
                version=candidate, today=today, snapshot=snapshot, previous=previous
            )
        except VersionTaken:
            if version:
                break
    raise ReleaseRefused(
        f"Release {version} exists already; releases are never rebuilt."
        if version
        else "Another build kept taking the next version number; try again."
    )


def record_release(
    *, version: str, today: dt.date, snapshot: Snapshot, previous: Release | None
) -> Release:
    """Record `version` and write its file; the file exists only if the row was committed."""
    if Release.objects.filter(version=version).exists():
        raise VersionTaken(version)
    directory = Path(settings.RELEASES_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    filename = f"closures-registry-{version}.zip"
    target = directory / filename
    if target.exists():  # a build that is writing it now, or a file nobody recorded
        raise VersionTaken(version)
    content = package_bytes(
        version=version, released_on=today, snapshot=snapshot, previous=previous
    )
    written = False
    try:
        with transaction.atomic():
            release = Release(
                version=version,
                released_on=today,
                filename=filename,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                counts=snapshot.counts,
                fingerprints=snapshot.fingerprints,
            )
            release.full_clean(validate_unique=False)  # the insert is what claims the version
            release.save()
            # The data page lists every release.
            services.bump_public_data_version()
            with open(target, "xb") as output:  # "x": fail rather than overwrite
                written = True
                output.write(content)
    except BaseException as error:
        if written:
            target.unlink(missing_ok=True)  # its row was not recorded: no file either
        if isinstance(error, IntegrityError | FileExistsError):
            raise VersionTaken(version) from error
        raise
    return release


def citation_text(release: Release) -> str:
    return (
        f"{TITLE} curators ({release.released_on.year}). {TITLE}, release {release.file_version} "
        f"[Data set]. {settings.SITE_URL}/en/data/. Licence CC BY 4.0."
    )


def dataset_jsonld(release: Release | None = None) -> dict:
    """schema.org Dataset of the whole registry, for the /data/ page."""
    data = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": TITLE,
        "description": (
            "Civil-society organisations in Hong Kong that disbanded, closed, suspended work or "
            "moved abroad after the 2020 National Security Law, with dates, destinations, stated "
            "reasons and sources."
        ),
        "url": f"{settings.SITE_URL}/en/data/",
        "license": LICENCE_URL,
        "creator": {"@type": "Organization", "name": f"{TITLE} curators"},
        "isAccessibleForFree": True,
    }
    if release:
        data["version"] = release.file_version
        data["datePublished"] = release.released_on.isoformat()
        data["distribution"] = [
            {
                "@type": "DataDownload",
                "encodingFormat": "application/zip",
                "contentUrl": settings.SITE_URL + release.get_download_url(),
                "contentSize": str(release.size),
            }
        ]
    return data

"""Citable, versioned bulk releases: a Frictionless Data Package in one zip.

The same data gives the same bytes: rows are sorted, JSON keys are sorted, and every zip
member carries the release date as its timestamp. So a checksum identifies the data, and a
release can be rebuilt to prove it.
"""

import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from . import exports, services
from .models import (
    Alias,
    Citation,
    Claim,
    Confidence,
    Event,
    EventType,
    Organisation,
    OrganisationType,
    ReasonCategory,
    Release,
    Source,
    SourceType,
    Status,
)
from .models import Language as SourceLanguage

TITLE = "Hong Kong Civil Society Closures Registry"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
PARTIAL_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"


def described(model, name: str) -> str:
    field = model._meta.get_field(name)
    text = str(field.help_text or "") or str(field.verbose_name).capitalize() + "."
    return text


def field(name, description, type_="string", enum=None, pattern=None, required=False):
    spec = {"name": name, "type": type_, "description": description}
    constraints = {}
    if enum is not None:
        constraints["enum"] = list(enum)
    if pattern:
        constraints["pattern"] = pattern
    if required:
        constraints["required"] = True
    if constraints:
        spec["constraints"] = constraints
    return spec


def multi(text: str) -> str:
    return f"{text} Several values are joined with '{exports.MULTI_VALUE_SEPARATOR}'."


def resource_schemas() -> dict:
    """Table Schemas of the package, described from the models' own help texts and choices."""
    organisation_id = field("organisation_id", described(Organisation, "slug"), required=True)
    return {
        "organisations": {
            "fields": [
                organisation_id,
                field("name_en", "English name."),
                field("name_zh", described(Organisation, "name_zh")),
                field("acronym", "Acronym."),
                field("aliases", multi("Aliases and former names.")),
                field("organisation_type", "Type of organisation.", enum=OrganisationType.values),
                field(
                    "status",
                    "Current status, derived from its latest public closure step.",
                    enum=Status.values,
                ),
                field("founded_year", "Year founded.", "integer"),
                field("website", "Website."),
                field("wikidata_id", described(Organisation, "wikidata_id")),
                field("latest_event_on", described(Organisation, "public_latest_event_on"), "date"),
                field("first_published_at", "When the record was first published.", "datetime"),
                field("updated_at", "When the record last changed.", "datetime"),
            ],
            "primaryKey": ["organisation_id"],
        },
        "events": {
            "fields": [
                field("event_id", described(Event, "uid"), required=True),
                {**organisation_id, "description": "The organisation the event happened to."},
                field("organisation_name_en", "English name of the organisation."),
                field("organisation_name_zh", "Chinese name of the organisation."),
                field("organisation_acronym", "Acronym of the organisation."),
                field("organisation_type", "Type of organisation.", enum=OrganisationType.values),
                field(
                    "organisation_status", "Current status of the organisation.", enum=Status.values
                ),
                field("event_type", "What happened.", enum=EventType.values),
                field(
                    "announced",
                    "When it was announced, as YYYY, YYYY-MM or YYYY-MM-DD at its precision.",
                    pattern=PARTIAL_DATE,
                ),
                field(
                    "announced_precision",
                    described(Event, "announced_precision"),
                    enum=["day", "month", "year", ""],
                ),
                field(
                    "effective",
                    "When it took effect, as YYYY, YYYY-MM or YYYY-MM-DD at its precision.",
                    pattern=PARTIAL_DATE,
                ),
                field(
                    "effective_precision",
                    described(Event, "effective_precision"),
                    enum=["day", "month", "year", ""],
                ),
                field("destination_country", described(Event, "destination_country")),
                field("destination_city", "For relocations: the city, where known."),
                field("stated_reason_en", described(Event, "stated_reason_en")),
                field("stated_reason_zh", "The stated reason in Chinese."),
                field(
                    "reasons",
                    multi(
                        described(Event, "reasons")
                        + " Codes: "
                        + ", ".join(ReasonCategory.values)
                        + "."
                    ),
                ),
                field("confidence", described(Event, "confidence"), enum=Confidence.values),
                field("source_ids", multi("IDs of the sources cited for the event.")),
                field("source_urls", multi("URLs of those sources, in the same order.")),
                field("updated_at", "When the event last changed.", "datetime"),
            ],
            "primaryKey": ["event_id"],
            "foreignKeys": [
                {
                    "fields": ["organisation_id"],
                    "reference": {"resource": "organisations", "fields": ["organisation_id"]},
                }
            ],
        },
        "sources": {
            "fields": [
                field("source_id", described(Source, "uid"), required=True),
                field("url", "Address of the source.", required=True),
                field("title", "Title."),
                field("publisher", "Publisher."),
                field("language", "Language of the source.", enum=[*SourceLanguage.values, ""]),
                field("published_on", "Publication date.", "date"),
                field("accessed_on", "When a curator read it.", "date"),
                field("source_type", "Kind of source.", enum=SourceType.values),
                field("archived_url", described(Source, "archived_url")),
            ],
            "primaryKey": ["source_id"],
        },
        "citations": {
            "fields": [
                field("event_id", "The event the source supports.", required=True),
                field("source_id", "The source.", required=True),
                field(
                    "claims",
                    multi(
                        "Which claims the source supports. Codes: " + ", ".join(Claim.values) + "."
                    ),
                ),
                field("quote", described(Citation, "quote")),
            ],
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


def citation_rows(events):
    citations = (
        Citation.objects.filter(event__in=events)
        .order_by("event__uid", "source__uid")
        .values_list("event__uid", "source__uid", "claims", "quote")
    )
    for event_id, source_id, claims, quote in citations.iterator(exports.CHUNK_SIZE):
        yield {
            "event_id": event_id,
            "source_id": source_id,
            "claims": exports.MULTI_VALUE_SEPARATOR.join(sorted(claims or [])),
            "quote": quote,
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
    columns = {
        "organisations": exports.ORGANISATION_COLUMNS,
        "events": exports.EVENT_COLUMNS,
        "sources": exports.SOURCE_COLUMNS,
        "citations": ["event_id", "source_id", "claims", "quote"],
    }
    rows = {
        "organisations": exports.organisation_rows(organisations),
        "events": exports.event_rows(events),
        "sources": exports.source_rows(sources),
        "citations": citation_rows(events),
    }
    files = {
        f"data/{name}.csv": b"".join(exports.csv_lines(rows[name], columns[name]))
        for name in columns
    }
    fingerprints = {}
    for slug, updated, event_updated in organisations.annotate(
        latest_event_change=Max("events__updated_at")
    ).values_list("slug", "updated_at", "latest_event_change"):
        fingerprints[slug] = max(filter(None, [updated, event_updated])).isoformat()
    counts = {
        "organisations": organisations.count(),
        "events": events.count(),
        "sources": sources.count(),
        "citations": Citation.objects.filter(event__in=events).count(),
        "aliases": Alias.objects.filter(organisation__in=organisations).count(),
    }
    return Snapshot(files=files, counts=counts, fingerprints=dict(sorted(fingerprints.items())))


def changes_since(previous: Release | None, fingerprints: dict) -> dict[str, list[str]]:
    before = previous.fingerprints if previous else {}
    return {
        "added": sorted(set(fingerprints) - set(before)),
        "changed": sorted(
            slug for slug in set(fingerprints) & set(before) if fingerprints[slug] != before[slug]
        ),
        "withdrawn": sorted(set(before) - set(fingerprints)),
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
        f"Multi-valued cells are joined with `{exports.MULTI_VALUE_SEPARATOR}`.",
        "Dates known only to the month or year are written `YYYY-MM` or `YYYY`, with their",
        "precision in the column beside them. Confidence: high — stated by the organisation",
        "or an official record; medium — reported by reliable media; low — a single or",
        "indirect report.",
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
    return "\n".join(
        [
            "cff-version: 1.2.0",
            "message: If you use this dataset, please cite this release.",
            "type: dataset",
            f'title: "{TITLE}"',
            f'version: "{version}"',
            f"date-released: {released_on.isoformat()}",
            "license: CC-BY-4.0",
            f'url: "{settings.SITE_URL}/en/data/"',
            "authors:",
            f'  - name: "{TITLE} curators"',
            "keywords:",
            "  - Hong Kong",
            "  - civil society",
            "  - National Security Law",
            "",
        ]
    )


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
    *, version: str, released_on: dt.date, snapshot: Snapshot, previous: Release | None
) -> bytes:
    """The release zip: the same inputs give the same bytes."""
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
    files["CHANGES.md"] = changes_markdown(
        version, previous, changes_since(previous, snapshot.fingerprints)
    ).encode()
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


def next_version(today: dt.date) -> str:
    prefix = f"{today.year}.{today.month}."
    taken = Release.objects.filter(version__startswith=prefix).count()
    return f"{prefix}{taken}"


def build_release(
    *, version: str | None = None, today: dt.date | None = None, only_if_changed: bool = False
) -> Release | None:
    """Write a new immutable release to RELEASES_DIR and record it; never overwrite one."""
    today = today or timezone.localdate()
    previous = Release.objects.order_by("-released_on", "-created_at").first()
    snapshot = take_snapshot()
    if only_if_changed and previous and previous.fingerprints == snapshot.fingerprints:
        return None
    version = version or next_version(today)
    if Release.objects.filter(version=version).exists():
        raise ReleaseRefused(f"Release {version} exists already; releases are never rebuilt.")
    directory = Path(settings.RELEASES_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    filename = f"closures-registry-{version}.zip"
    target = directory / filename
    if target.exists():
        raise ReleaseRefused(f"{target} exists already; releases are never overwritten.")
    content = package_bytes(
        version=version, released_on=today, snapshot=snapshot, previous=previous
    )
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
        release.full_clean()
        release.save()
        # The data page lists every release.
        services.bump_public_data_version()
        with open(target, "xb") as output:  # "x": fail rather than overwrite
            output.write(content)
    return release


def citation_text(release: Release) -> str:
    return (
        f"{TITLE} curators ({release.released_on.year}). {TITLE}, release {release.version} "
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
        data["version"] = release.version
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

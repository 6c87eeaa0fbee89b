"""Bulk exports that stream: memory stays flat whatever the number of rows.

One row per event, flattened with its organisation's fields and its sources, in CSV, JSON or
NDJSON; and organisations and sources as CSV. The columns, their order and how each cell is
made are declared in columns.py. Cells that a spreadsheet would run as a formula are prefixed
with an apostrophe. On PostgreSQL the events CSV comes straight from `COPY … TO STDOUT`, which gives
the same bytes as the portable path (the tests compare them) several times faster.
"""

import csv
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models.functions import Collate

from . import columns
from .models import Alias, Citation, Event, Source

# Excel and LibreOffice run a cell starting with one of these; the full-width equals sign too,
# and a leading | starts a DDE call in older Excel.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "|")
CHUNK_SIZE = 2000
RELAY_BYTES = 1 << 18

EVENT_COLUMNS = columns.names(columns.EVENT)
ORGANISATION_COLUMNS = columns.names(columns.ORGANISATION)
SOURCE_COLUMNS = columns.names(columns.SOURCE)
CITATION_COLUMNS = columns.names(columns.CITATION)


def sql_literal(text: str) -> str:
    """A PostgreSQL string literal for `text`; control and non-ASCII characters as escapes."""
    if text.isascii() and text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return "E'" + "".join(f"\\u{ord(char):04x}" for char in text) + "'"


def neutralise(value) -> str:
    """Text of a cell, defused if Excel or LibreOffice would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


# --- Events ---------------------------------------------------------------------------------


def event_rows(events) -> Iterator[dict]:
    """Flattened public events, in a stable order, two extra queries per chunk of rows."""
    fields = ["pk", *columns.value_fields(columns.EVENT)]
    order = ["organisation__slug", "uid"]
    if events.db and connections[events.db].vendor == "postgresql":
        # Byte order, as the COPY path sorts, whatever the database's collation.
        order = [Collate(name, "C") for name in order]
    rows = events.order_by(*order).values(*fields).iterator(CHUNK_SIZE)
    for chunk in _chunks(rows):
        yield from _flatten_events(chunk)


def _flatten_events(chunk: list[dict]) -> Iterator[dict]:
    ids = [row["pk"] for row in chunk]
    reasons, sources = defaultdict(list), defaultdict(dict)
    for event_id, code in Event.reasons.through.objects.filter(event_id__in=ids).values_list(
        "event_id", "reason_id"
    ):
        reasons[event_id].append(code)
    for event_id, uid, url in Citation.objects.filter(event_id__in=ids).values_list(
        "event_id", "source__uid", "source__url"
    ):
        sources[event_id][uid] = url
    for row in chunk:
        cited = sorted(sources[row["pk"]].items())
        related = {
            "reasons": sorted(reasons[row["pk"]]),
            "source_ids": [uid for uid, _ in cited],
            "source_urls": [url for _, url in cited],
        }
        yield columns.flatten(columns.EVENT, row, related)


def event_export_sql(events=None) -> tuple[str, tuple]:
    """The flattened events as one SQL query giving exactly the CSV cells of `event_rows`.

    PostgreSQL only. The export streams `COPY (this) TO STDOUT`; the benchmark runs the same
    statement to measure how close the export comes to the database's own limit.
    """
    events = Event.objects.public() if events is None else events
    # Unordered: the events' default order would join their organisations to sort the keys.
    ids_sql, params = events.order_by().values("pk").query.sql_with_params()

    def iso(column):
        return (
            f"CASE WHEN e.{column}_on IS NULL THEN '' "
            f"WHEN e.{column}_precision = 'year' THEN to_char(e.{column}_on, 'YYYY') "
            f"WHEN e.{column}_precision = 'month' THEN to_char(e.{column}_on, 'YYYY-MM') "
            f"ELSE to_char(e.{column}_on, 'YYYY-MM-DD') END"
        )

    def precision(column):
        return f"CASE WHEN e.{column}_on IS NULL THEN '' ELSE e.{column}_precision END"

    prefixes = ", ".join(sql_literal(prefix) for prefix in FORMULA_PREFIXES)

    def cell(column):
        guarded = f"'''' || {column}"
        return f"CASE WHEN left({column}, 1) IN ({prefixes}) THEN {guarded} ELSE {column} END"

    separator = columns.MULTI_VALUE_SEPARATOR.replace("'", "''")
    distinct_sources = (
        "FROM closures_citation c JOIN closures_source s ON s.id = c.source_id "
        "WHERE c.event_id = e.id"
    )
    expressions = {
        "event_id": "e.uid",
        "organisation_id": "o.slug",
        "organisation_name_en": "o.name_en",
        "organisation_name_zh": "o.name_zh",
        "organisation_acronym": "o.acronym",
        "organisation_type": "o.org_type",
        "organisation_status": "o.public_status",
        "organisation_status_unconfirmed": "CASE WHEN o.public_status_unconfirmed "
        "THEN 'true' ELSE 'false' END",
        "event_type": "e.event_type",
        "announced": iso("announced"),
        "announced_precision": precision("announced"),
        "effective": iso("effective"),
        "effective_precision": precision("effective"),
        "destination_country": "e.destination_country",
        "destination_city": "e.destination_city",
        "stated_reason_en": "e.stated_reason_en",
        "stated_reason_zh": "e.stated_reason_zh",
        "reasons": f"(SELECT string_agg(r.reason_id, '{separator}' ORDER BY r.reason_id "
        'COLLATE "C") FROM closures_event_reasons r WHERE r.event_id = e.id)',
        "public_note": "e.public_note",
        "public_note_zh": "e.public_note_zh",
        "confidence": "e.confidence",
        "source_ids": f"(SELECT string_agg(s.uid, '{separator}' ORDER BY s.uid COLLATE \"C\") "
        f"FROM (SELECT DISTINCT s.uid {distinct_sources}) s)",
        "source_urls": f"(SELECT string_agg(s.url, '{separator}' ORDER BY s.uid COLLATE \"C\") "
        f"FROM (SELECT DISTINCT s.uid, s.url {distinct_sources}) s)",
        "updated_at": "to_char(o.public_changed_at AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\')',
    }
    if list(expressions) != EVENT_COLUMNS:
        raise ImproperlyConfigured("event_export_sql must give the columns of columns.EVENT.")
    # Each cell's text is computed once, in a subquery kept apart (OFFSET 0): written into
    # the formula guard directly, PostgreSQL would run its subqueries twice per row.
    texts = ", ".join(
        f"COALESCE(({expression})::text, '') AS c{index}"
        for index, expression in enumerate(expressions.values())
    )
    sql = (
        f"SELECT {', '.join(cell(f'c{index}') for index in range(len(expressions)))} "
        f"FROM (SELECT {texts}, o.slug AS sort_o, e.uid AS sort_e "
        "FROM closures_event e JOIN closures_organisation o ON o.id = e.organisation_id "
        f"WHERE e.id IN ({ids_sql}) OFFSET 0) AS t "
        'ORDER BY sort_o COLLATE "C", sort_e COLLATE "C"'
    )
    return sql, params


# --- Organisations and sources --------------------------------------------------------------


def organisation_rows(organisations) -> Iterator[dict]:
    fields = ["pk", *columns.value_fields(columns.ORGANISATION)]
    rows = organisations.with_public_parent().order_by("slug").values(*fields).iterator(CHUNK_SIZE)
    for chunk in _chunks(rows):
        aliases = defaultdict(list)
        for organisation_id, name in Alias.objects.filter(
            organisation_id__in=[row["pk"] for row in chunk]
        ).values_list("organisation_id", "name"):
            aliases[organisation_id].append(name)
        for row in chunk:
            related = {"aliases": sorted(aliases[row["pk"]])}
            yield columns.flatten(columns.ORGANISATION, row, related)


def source_rows(sources) -> Iterator[dict]:
    rows = sources.order_by("uid").values(*columns.value_fields(columns.SOURCE))
    for row in rows.iterator(CHUNK_SIZE):
        yield columns.flatten(columns.SOURCE, row)


def citation_rows(events) -> Iterator[dict]:
    citations = (
        Citation.objects.filter(event__in=events)
        .order_by("event__uid", "source__uid")
        .values(*columns.value_fields(columns.CITATION), "claims")
    )
    for row in citations.iterator(CHUNK_SIZE):
        yield columns.flatten(columns.CITATION, row, {"claims": sorted(row["claims"] or [])})


def public_sources_of(events):
    return Source.objects.filter(citations__event__in=events).distinct()


def _chunks(rows: Iterable) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- Encoders -------------------------------------------------------------------------------


class _Line:
    """A file-like object that hands back what csv.writer writes, for streaming."""

    def write(self, text):
        return text


def _csv_writer():
    # Every cell quoted and lines ended with \n: exactly what PostgreSQL's COPY writes.
    return csv.writer(_Line(), quoting=csv.QUOTE_ALL, lineterminator="\n")


def _header(columns: list[str], *, bom: bool) -> bytes:
    return ("\ufeff" if bom else "").encode() + _csv_writer().writerow(columns).encode()


def csv_lines(rows: Iterable[dict], columns: list[str], *, bom: bool = False) -> Iterator[bytes]:
    writer = _csv_writer()
    yield _header(columns, bom=bom)
    batch = []
    for row in rows:
        batch.append(writer.writerow([neutralise(row[column]) for column in columns]))
        if len(batch) == 500:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


def csv_lines_from_copy(events, *, bom: bool = False, using="default") -> Iterator[bytes]:
    yield _header(EVENT_COLUMNS, bom=bom)
    sql, params = event_export_sql(events)
    with connections[using].cursor() as cursor:
        statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *)"
        with cursor.cursor.copy(statement, params or None) as copy:
            # COPY hands over about a row at a time; fewer, larger chunks relay faster.
            buffer = bytearray()
            for block in copy:
                buffer += block
                if len(buffer) >= RELAY_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
            yield bytes(buffer)


def json_array(rows: Iterable[dict]) -> Iterator[bytes]:
    yield b"["
    first = True
    for row in rows:
        yield (b"" if first else b",\n") + json.dumps(row, ensure_ascii=False).encode()
        first = False
    yield b"]\n"


def ndjson_lines(rows: Iterable[dict]) -> Iterator[bytes]:
    for row in rows:
        yield json.dumps(row, ensure_ascii=False).encode() + b"\n"


def uses_copy(using="default") -> bool:
    return connections[using].vendor == "postgresql"

"""Benchmarks of the registry at two sizes, on PostgreSQL and against SQLite + Datasette.

Run with `make bench` (or `uv run python bench/scale.py --help`). For each size it builds a
fresh PostgreSQL database of synthetic organisations and measures, each in a fresh process
so peak memory is the measurement's own:

- the full CSV export of events through the project's export URL vs PostgreSQL's own
  `COPY (same query) TO STDOUT`, and the export's peak memory;
- the filtered, searched listing page and API list (page 1 and a deep page): median and p99
  latency over repeated requests, and the number of queries;
- the admin changelist (search and a deep page).

Then, on a SQLite copy of the largest size, the portable export path against Datasette
streaming the same flattened rows as CSV. It ends with one line per target.
"""

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgres://postgres@127.0.0.1:5432"
BENCH_DB = "registry_bench"
SEARCH = {"q": "Union", "org_type": "union", "status": "disbanded"}


# --- Running pieces in fresh processes --------------------------------------------------


def run_child(mode: str, env: dict, *args: str) -> dict:
    """Run one measurement in a fresh process and return its JSON, with its peak RSS."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, *args]
    process = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if process.returncode:
        raise SystemExit(f"{mode} failed with exit code {process.returncode}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def reset_postgres_database(name: str) -> str:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        # A UTF-8 LC_CTYPE makes pg_trgm index Chinese characters.
        connection.execute(
            f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' "
            "LC_CTYPE 'C.UTF-8' TEMPLATE template0"
        )
    return f"{PG_ADMIN}/{name}"


def database_env(url: str) -> dict:
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="registry.settings")
    env.pop("CELERY_BROKER_URL", None)
    env["API_ANONYMOUS_RATE"] = "off"  # the benchmark repeats requests by design
    return env


# --- Child measurements (run inside Django) ----------------------------------------------


def search_params():
    from django.http import QueryDict

    return QueryDict("&".join(f"{key}={value}" for key, value in SEARCH.items()))


def child_setup():
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def child_export(url: str) -> dict:
    from django.test import Client

    client = Client()
    started = time.perf_counter()
    response = client.get(url)
    size = rows = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"\n")
    return {
        "seconds": time.perf_counter() - started,
        "bytes": size,
        "lines": rows,
        "status": response.status_code,
    }


def child_copy() -> dict:
    from django.db import connection

    from closures.exports import event_export_sql

    sql, params = event_export_sql()
    started = time.perf_counter()
    size = 0
    with connection.cursor() as cursor:
        statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *)"
        with cursor.cursor.copy(statement, params or None) as copy:
            for block in copy:
                size += len(block)
    return {"seconds": time.perf_counter() - started, "bytes": size}


def child_pages(repeat: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from closures.filters import RegistryFilterSet
    from closures.models import Organisation

    client = Client()
    admin = get_user_model().objects.filter(username="bench-admin").first()
    if admin is None:
        admin = get_user_model().objects.create_superuser("bench-admin", password=None)
    admin_client = Client()
    admin_client.force_login(admin)
    # The admin serves only sessions verified with a second factor (registry/admin_site.py).
    device, _ = TOTPDevice.objects.get_or_create(user=admin, name="bench", confirmed=True)
    session = admin_client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    query = "&".join(f"{key}={value}" for key, value in SEARCH.items())
    filterset = RegistryFilterSet(search_params(), queryset=Organisation.objects.public())
    assert filterset.is_valid(), filterset.errors
    matching = filterset.qs.count()
    deep_page = max(1, (matching // 50) * 3 // 4)
    total = Organisation.objects.count()
    pages = {
        "listing p1": (client, f"/en/organisations/?{query}"),
        "listing deep": (client, f"/en/organisations/?{query}&page={deep_page}"),
        "api p1": (client, f"/api/v1/organisations/?{query.replace('q=', 'search=')}"),
        "api deep": (client, deep_api_url(client, query.replace("q=", "search="), deep_page)),
        "admin search": (admin_client, "/admin/closures/organisation/?q=Sha+Tin"),
        "admin deep": (admin_client, f"/admin/closures/organisation/?p={total // 100 * 3 // 4}"),
    }
    results = {}
    for name, (page_client, url) in pages.items():
        for _ in range(2):
            page_client.get(url)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = page_client.get(url)
            timings.append(time.perf_counter() - started)
        with CaptureQueriesContext(connection) as queries:
            page_client.get(url)
        timings.sort()
        results[name] = {
            "url": url,
            "status": response.status_code,
            "queries": len(queries),
            "median_ms": statistics.median(timings) * 1000,
            "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1000,
        }
    results["_matching"] = matching
    return results


def deep_api_url(client, query: str, depth: int) -> str:
    """Follow the API's `next` links `depth` times to reach a deep cursor page."""
    url = f"/api/v1/organisations/?{query}"
    for _ in range(depth - 1):
        following = client.get(url).json().get("next")
        if not following:
            break
        url = following.split("testserver", 1)[-1]
    return url


def child_explain() -> dict:
    from django.db import connection

    from closures.filters import RegistryFilterSet
    from closures.models import Organisation

    filterset = RegistryFilterSet(
        search_params(), queryset=Organisation.objects.public().for_listing()
    )
    assert filterset.is_valid(), filterset.errors
    sql, params = filterset.qs[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
        return {"plan": [row[0] for row in cursor.fetchall()]}


# The flattened events (as the export gives them) in SQLite's dialect, for Datasette.
SQLITE_FLAT_EVENTS = """
SELECT e.uid AS event_id, o.slug AS organisation_id, o.name_en AS organisation_name_en,
  o.name_zh AS organisation_name_zh, o.acronym AS organisation_acronym,
  o.org_type AS organisation_type, o.public_status AS organisation_status, e.event_type,
  e.announced_on AS announced, e.announced_precision, e.effective_on AS effective,
  e.effective_precision, e.destination_country, e.destination_city, e.stated_reason_en,
  e.stated_reason_zh,
  (SELECT group_concat(r.reason_id, ' | ') FROM closures_event_reasons r
     WHERE r.event_id = e.id) AS reasons,
  e.confidence,
  (SELECT group_concat(s.uid, ' | ') FROM closures_citation c
     JOIN closures_source s ON s.id = c.source_id WHERE c.event_id = e.id) AS source_ids,
  (SELECT group_concat(s.url, ' | ') FROM closures_citation c
     JOIN closures_source s ON s.id = c.source_id WHERE c.event_id = e.id) AS source_urls,
  e.updated_at
FROM closures_event e JOIN closures_organisation o ON o.id = e.organisation_id
WHERE e.review_state = 'published' AND NOT e.embargoed
  AND o.review_state = 'published' AND NOT o.embargoed
ORDER BY o.slug, e.uid
"""


CHILDREN = {
    "export": lambda args: child_export(args[0]),
    "copy": lambda args: child_copy(),
    "pages": lambda args: child_pages(int(args[0])),
    "explain": lambda args: child_explain(),
}


# --- Datasette ----------------------------------------------------------------------------


def datasette_export_seconds(sqlite_path: Path, flat_sql: str) -> tuple[float, int]:
    import sqlite3

    with sqlite3.connect(sqlite_path) as connection:
        connection.execute("DROP VIEW IF EXISTS bench_events_flat")
        connection.execute(f"CREATE VIEW bench_events_flat AS {flat_sql}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            shutil.which("datasette") or "datasette",
            "serve",
            str(sqlite_path),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--setting",
            "sql_time_limit_ms",
            "600000",
            "--setting",
            "max_csv_mb",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        url = f"{base}/{sqlite_path.stem}/bench_events_flat.csv?_stream=on&_size=max"
        started = time.perf_counter()
        size = 0
        with urllib.request.urlopen(url, timeout=3600) as response:
            while block := response.read(1 << 16):
                size += len(block)
        return time.perf_counter() - started, size
    finally:
        server.terminate()
        server.wait()


# --- Main ---------------------------------------------------------------------------------


def line(label: str, value: str) -> None:
    print(f"{label}: {value}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1_000, 100_000])
    parser.add_argument("--repeat", type=int, default=40, help="requests per page timing")
    parser.add_argument("--skip-datasette", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child_setup()
        mode, *args = options.child
        result = CHILDREN[mode](args)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result, default=str))
        return

    figures = {}
    for size in options.sizes:
        print(f"\n== PostgreSQL, {size:,} organisations ==", flush=True)
        env = database_env(reset_postgres_database(BENCH_DB))
        manage(env, "migrate", "--noinput")
        started = time.perf_counter()
        manage(env, "seed_synthetic", "--organisations", str(size))
        line("seeded in", f"{time.perf_counter() - started:.1f} s")
        manage(
            env,
            "shell",
            "-c",
            "from django.db import connection; connection.cursor().execute('VACUUM ANALYZE')",
        )
        baseline = run_child("export", env, "/api/v1/export/events.csv?year=1900")
        export = run_child("export", env, "/api/v1/export/events.csv")
        copy = run_child("copy", env)
        pages = run_child("pages", env, str(options.repeat))
        plan = run_child("explain", env)
        figures[size] = {"export": export, "copy": copy, "pages": pages, "baseline": baseline}
        line("export rows (lines incl. header)", f"{export['lines']:,}")
        line("export time", f"{export['seconds']:.2f} s ({export['bytes'] / 1e6:.1f} MB)")
        line("COPY time", f"{copy['seconds']:.2f} s ({copy['bytes'] / 1e6:.1f} MB)")
        line("export/COPY ratio", f"{export['seconds'] / copy['seconds']:.2f}")
        line("export peak RSS", f"{export['peak_rss_mb']:.0f} MB")
        for name, page in pages.items():
            if not isinstance(page, dict):
                continue  # the match count and the child's peak memory
            line(
                f"{name}",
                f"status {page['status']}, median {page['median_ms']:.1f} ms, "
                f"p99 {page['p99_ms']:.1f} ms, {page['queries']} queries",
            )
        print("EXPLAIN of the searched, filtered listing query:")
        print("\n".join("    " + row for row in plan["plan"]))

    small, large = options.sizes
    portable = datasette = None
    if not options.skip_datasette:
        print(f"\n== SQLite, {large:,} organisations: portable export vs Datasette ==")
        directory = Path(tempfile.mkdtemp(prefix="registry-bench-"))
        sqlite_path = directory / "bench.sqlite3"
        env = database_env(f"sqlite:///{sqlite_path}")
        manage(env, "migrate", "--noinput")
        manage(env, "seed_synthetic", "--organisations", str(large))
        portable = run_child("export", env, "/api/v1/export/events.csv")
        datasette, datasette_bytes = datasette_export_seconds(sqlite_path, SQLITE_FLAT_EVENTS)
        line("portable export time", f"{portable['seconds']:.2f} s")
        line("Datasette CSV time", f"{datasette:.2f} s ({datasette_bytes / 1e6:.1f} MB)")
        shutil.rmtree(directory)

    print("\n== Targets ==")
    big, little = figures[large], figures[small]
    line(
        "export/COPY ratio",
        f"{big['export']['seconds'] / big['copy']['seconds']:.2f} (target <= 1.3)",
    )
    if datasette:
        line("Datasette/portable speed-up", f"{datasette / portable['seconds']:.2f} (target >= 2)")
    growth = big["export"]["peak_rss_mb"] - little["export"]["peak_rss_mb"]
    line("export peak memory growth", f"{growth:.1f} MB (target <= 50)")
    for name in ("listing p1", "api p1", "listing deep", "api deep"):
        ratio = big["pages"][name]["p99_ms"] / little["pages"][name]["p99_ms"]
        line(f"{name} p99 ratio", f"{ratio:.2f} (target <= 3)")
        same = big["pages"][name]["queries"] == little["pages"][name]["queries"]
        line(
            f"{name} queries constant",
            f"{'yes' if same else 'no'} "
            f"({little['pages'][name]['queries']} vs {big['pages'][name]['queries']})",
        )
    for name in ("admin search", "admin deep"):
        ratio = big["pages"][name]["median_ms"] / little["pages"][name]["median_ms"]
        line(f"{name} p50 ratio", f"{ratio:.2f} (target <= 3)")


if __name__ == "__main__":
    main()

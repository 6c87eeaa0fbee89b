"""Benchmarks of the registry at two sizes, on PostgreSQL and against SQLite + Datasette.

Run with `make bench` (or `uv run python bench/scale.py --help`). For each size it builds a
fresh PostgreSQL database of synthetic organisations and measures, each in a fresh process
so peak memory is the measurement's own:

- the full CSV export of events through the project's export URL vs PostgreSQL's own
  `COPY (same query) TO STDOUT`, and the export's peak memory;
- the filtered, searched listing page and API list (page 1 and a deep page): median and p99
  latency over repeated requests, and the number of queries;
- the admin changelist (search and a deep page);
- under gunicorn as `make serve-prod` runs it (bench/served.py, loopback only): the listing
  in eight variants and the overview, feed and data page with 8 concurrent clients, the
  listing right after the shared cache was emptied, and (at the largest size) the mixed
  anonymous load of bench/load.py with 16 clients, cache cold then warm.

Then, on a SQLite copy of the largest size, the portable export path against Datasette
streaming the same flattened rows as CSV. It ends with one line per target of issue 16:
figure, target, verdict.
"""

import argparse
import json
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import served  # noqa: E402
from load import print_load  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgres://postgres@127.0.0.1:5432"
BENCH_DB = "registry_bench"
SEARCH = {"q": "Union", "org_type": "union", "status": "disbanded"}
LISTING = "/en/organisations/"
PAGE_SIZE = 25  # the listing's


def listing_variants(size: int) -> dict[str, str]:
    """The listing URLs issue 16 times; the deep page sits three quarters of the way in."""
    deep_page = max(1, size * 3 // 4 // PAGE_SIZE)
    return {
        "listing plain": LISTING,
        "listing search": LISTING + "?q=Union",
        "listing Chinese 2 chars": LISTING + "?q=" + served.quote("沙田"),
        "listing Chinese 3 chars": LISTING + "?q=" + served.quote("職工會"),
        "listing one filter": LISTING + "?org_type=union",
        "listing three filters": LISTING + "?org_type=union&status=disbanded&reason=nsl_pressure",
        "listing a year": LISTING + "?year=2021",
        "listing deep page": LISTING + f"?page={deep_page}",
    }


OTHER_PAGES = {"overview": "/en/", "feed": "/en/feed/", "data page": "/en/data/"}
MIXED_EXTRA_URLS = [
    "/en/",
    "/api/v1/organisations/",
    "/api/v1/organisations/synthetic-000042/",  # published by seed_synthetic at any size
    "/api/v1/organisations/?org_type=union&status=disbanded",
    "/api/v1/export/events.csv?q=Sha+Tin&org_type=fund",
]


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
    # Settings refuse to start without a key unless DEBUG is on, which would log every query.
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
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
        "admin deep": (admin_client, f"/admin/closures/organisation/?p={admin_deep_page(total)}"),
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


def admin_deep_page(total: int) -> int:
    """The changelist page three quarters of the way in (offset 75,000 at 100,000)."""
    from django.contrib import admin

    from closures.models import Organisation

    per_page = admin.site._registry[Organisation].list_per_page
    return max(1, total // per_page * 3 // 4)


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


# --- Served figures -----------------------------------------------------------------------


def served_figures(env: dict, size: int, options, mixed: bool) -> dict:
    figures: dict = {"pages": {}, "mixed": {}}
    with served.served(env, served.bench_port()) as server:
        for name, path in {**listing_variants(size), **OTHER_PAGES}.items():
            page = server.concurrent(
                path, clients=8, requests=options.concurrent_requests, seconds=options.seconds
            )
            figures["pages"][name] = page
            line(
                f"{name} ({path}), 8 clients",
                f"{page['requests']} requests, statuses {page['statuses']}, "
                f"median {page['median_ms']:.0f} ms, p99 {page['p99_ms']:.0f} ms, "
                f"{page['rps']:.1f} req/s",
            )
        cold = server.cold(list(listing_variants(size).values()), rounds=options.cold_rounds)
        figures["cold"] = cold
        line(
            "listing, cache emptied before each request (8 variants, 1 client)",
            f"{cold['requests']} requests, statuses {cold['statuses']}, "
            f"median {cold['median_ms']:.0f} ms, p99 {cold['p99_ms']:.0f} ms",
        )
        if mixed:
            for state in ("cold", "warm"):
                if state == "cold":
                    server.flush_cache()
                print(f"-- mixed anonymous load, cache {state} --", flush=True)
                result = server.mixed_load(
                    MIXED_EXTRA_URLS, clients=16, seconds=options.load_seconds
                )
                print_load(result, server.base)
                figures["mixed"][state] = result
    return figures


# --- Main ---------------------------------------------------------------------------------


def line(label: str, value: str) -> None:
    print(f"{label}: {value}", flush=True)


def verdict(label: str, value: str, target: str, met: bool) -> None:
    line(label, f"{value} (target {target}) {'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1_000, 100_000])
    parser.add_argument("--repeat", type=int, default=40, help="requests per page timing")
    parser.add_argument("--skip-datasette", action="store_true")
    parser.add_argument(
        "--database", default=BENCH_DB, help="PostgreSQL database to drop and rebuild"
    )
    parser.add_argument(
        "--concurrent-requests", type=int, default=160, help="cap per URL with 8 clients"
    )
    parser.add_argument("--seconds", type=float, default=20, help="time cap per URL")
    parser.add_argument("--cold-rounds", type=int, default=3, help="rounds of cold requests")
    parser.add_argument(
        "--load-seconds", type=float, default=60, help="mixed load duration, cold and warm"
    )
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
        env = database_env(reset_postgres_database(options.database))
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
        print(f"-- served by gunicorn ({served.WORKERS} workers, Redis cache) --", flush=True)
        figures[size]["served"] = served_figures(
            env, size, options, mixed=size == max(options.sizes)
        )

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

    print_targets(figures, small, large, portable, datasette)


def print_targets(figures, small, large, portable, datasette) -> None:
    """One line per target of issue 16 (and the earlier ones): figure, target, verdict."""
    print(f"\n== Targets (issue 16; {large:,} organisations unless said) ==")
    big, little = figures[large], figures[small]
    big_pages, little_pages = big["served"]["pages"], little["served"]["pages"]
    for name in listing_variants(large):
        p99, before = big_pages[name]["p99_ms"], little_pages[name]["p99_ms"]
        verdict(f"{name} p99, 8 clients", f"{p99:.0f} ms", "<= 300 ms", p99 <= 300)
        verdict(
            f"{name} p99 ratio {large:,}/{small:,}",
            f"{p99 / before:.2f} ({before:.0f} ms at {small:,})",
            "<= 2",
            p99 / before <= 2,
        )
    for name in OTHER_PAGES:
        p99, before = big_pages[name]["p99_ms"], little_pages[name]["p99_ms"]
        verdict(
            f"{name} p99, 8 clients",
            f"{p99:.0f} ms ({before:.0f} ms at {small:,})",
            "<= 300 ms",
            p99 <= 300,
        )
    cold = big["served"]["cold"]["p99_ms"]
    verdict("listing p99, cache cold", f"{cold:.0f} ms", "<= 1000 ms", cold <= 1000)
    for state, load in big["served"]["mixed"].items():
        worst_url, worst = max(load["urls"].items(), key=lambda item: item[1]["p99_ms"])
        verdict(f"mixed load, cache {state}: errors", str(load["errors"]), "0", not load["errors"])
        verdict(
            f"mixed load, cache {state}: worst p99",
            f"{worst['p99_ms']:.0f} ms ({worst_url})",
            "<= 500 ms per URL",
            worst["p99_ms"] <= 500,
        )
        verdict(
            f"mixed load, cache {state}: throughput",
            f"{load['rps']:.0f} req/s",
            ">= 200 req/s",
            load["rps"] >= 200,
        )
    ratio = big["export"]["seconds"] / big["copy"]["seconds"]
    verdict("export/COPY ratio", f"{ratio:.2f}", "<= 1.1", ratio <= 1.1)
    growth = big["export"]["peak_rss_mb"] - little["export"]["peak_rss_mb"]
    verdict("export peak memory growth", f"{growth:.1f} MB", "<= 50 MB", growth <= 50)
    for name in ("admin search", "admin deep"):
        median = big["pages"][name]["median_ms"]
        verdict(f"{name} median", f"{median:.0f} ms", "<= 200 ms", median <= 200)
    if datasette:
        speed_up = datasette / portable["seconds"]
        verdict("Datasette/portable speed-up", f"{speed_up:.2f}", ">= 2", speed_up >= 2)
    print("\n== Earlier targets (in-process Django test client, one client) ==")
    for name in ("listing p1", "api p1", "listing deep", "api deep"):
        ratio = big["pages"][name]["p99_ms"] / little["pages"][name]["p99_ms"]
        verdict(f"{name} p99 ratio", f"{ratio:.2f}", "<= 3", ratio <= 3)
        counts = little["pages"][name]["queries"], big["pages"][name]["queries"]
        verdict(
            f"{name} queries constant",
            f"{counts[0]} vs {counts[1]}",
            "equal",
            counts[0] == counts[1],
        )


if __name__ == "__main__":
    main()

"""Load test against a running registry (`make serve-prod`): loopback only, bounded in time.

    uv run python bench/load.py --base http://127.0.0.1:8000 --duration 60 --clients 16 \
        --url /en/organisations/?page=2 --url /api/...

N client threads each request the listing (plain, searched, filtered), record pages found on
the listing, and any extra --url, in turn, for --duration seconds; then prints requests,
errors, requests per second and p50/p99 latency per URL. Exits 1 if any request failed.
"""

import argparse
import http.client
import re
import statistics
import sys
import threading
import time
import urllib.parse
from collections import defaultdict

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LISTING = "/en/organisations/"
LISTING_URLS = [
    LISTING,
    LISTING + "?q=union",
    LISTING + "?q=%E8%81%AF%E6%9C%83",
    LISTING + "?org_type=union&org_type=professional_body&ordering=-latest",
    LISTING + "?event_type=disbanded&year=2021",
    LISTING + "?status=relocated&date_from=2020-07-01&date_to=2022-12-31",
]
RECORD_PATTERN = re.compile(r'href="(/en/organisations/[-a-zA-Z0-9_]+/)"')


class Client:
    """One keep-alive connection, reopened whenever the server closes it."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.connection = None

    def get(self, path: str) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            try:
                self.connection.request("GET", path, headers={"Accept-Encoding": "identity"})
                response = self.connection.getresponse()
                body = response.read()
            except (ConnectionError, http.client.HTTPException):
                # A connection the server closed after an earlier response: retry once.
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.close()
            return response.status, body
        raise AssertionError("unreachable")

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def record_urls(client: Client, limit: int) -> list[str]:
    status, body = client.get(LISTING)
    if status != 200:
        sys.exit(f"the listing answered {status}; is the server running?")
    return list(dict.fromkeys(RECORD_PATTERN.findall(body.decode())))[:limit]


def label(path: str, records: set[str]) -> str:
    return "record page (each of the listed)" if path in records else path


def load(
    base_url: str,
    *,
    clients: int,
    duration: float,
    extra_urls: list[str],
    records: int = 20,
    timeout: float = 30.0,
) -> dict:
    """Run the mixed load and return its figures: totals, and per URL label p50/p99 in ms."""
    base = urllib.parse.urlsplit(base_url)
    if base.hostname not in LOOPBACK:
        sys.exit("load tests run against loopback only")
    port = base.port or 80
    record_list = record_urls(Client(base.hostname, port, timeout), records)
    record_set = set(record_list)
    urls = LISTING_URLS + record_list + extra_urls
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    examples: dict[str, str] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def worker(offset: int):
        client = Client(base.hostname, port, timeout)
        # Clients start spread over the list, so a short run still reaches every URL.
        turn = offset * len(urls) // clients
        while time.monotonic() < deadline:
            path = urls[turn % len(urls)]
            turn += 1
            started = time.perf_counter()
            try:
                status, _ = client.get(path)
                failed = status >= 400
                problem = f"HTTP {status}"
            except OSError as error:
                failed, problem = True, f"{type(error).__name__}: {error}"
            elapsed = time.perf_counter() - started
            key = label(path, record_set)
            with lock:
                latencies[key].append(elapsed)
                if failed:
                    errors[key] += 1
                    examples.setdefault(key, f"{path}: {problem}")
        client.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    total = sum(len(values) for values in latencies.values())
    per_url = {}
    for key in sorted(latencies, key=lambda key: (key.startswith("record"), key)):
        values = sorted(latencies[key])
        per_url[key] = {
            "requests": len(values),
            "errors": errors[key],
            "rps": len(values) / wall,
            "p50_ms": statistics.median(values) * 1000,
            "p99_ms": percentile(values, 0.99) * 1000,
        }
    return {
        "clients": clients,
        "wall": wall,
        "requests": total,
        "errors": sum(errors.values()),
        "rps": total / wall,
        "urls": per_url,
        "examples": list(examples.values()),
    }


def percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of an ordered list (with few values, p99 is the maximum)."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def print_load(figures: dict, base_url: str) -> None:
    print(
        f"{figures['clients']} clients, {figures['wall']:.1f} s against {base_url}: "
        f"{figures['requests']} requests, {figures['errors']} errors, "
        f"{figures['rps']:.1f} requests/s"
    )
    print(f"{'url':<72} {'requests':>8} {'errors':>6} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for key, row in figures["urls"].items():
        print(
            f"{key[:72]:<72} {row['requests']:>8} {row['errors']:>6} {row['rps']:>7.1f} "
            f"{row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f}"
        )
    for example in figures["examples"]:
        print(f"error: {example}")


def run(args) -> int:
    figures = load(
        args.base,
        clients=args.clients,
        duration=args.duration,
        extra_urls=args.url,
        records=args.records,
        timeout=args.timeout,
    )
    print_load(figures, args.base)
    return 1 if figures["errors"] else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--records", type=int, default=20, help="record pages to visit")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument(
        "--url", action="append", default=[], help="an extra path to request (repeatable)"
    )
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()

"""Served figures for `bench/scale.py`: gunicorn as `make serve-prod` runs it, on loopback.

A private Redis (no persistence) is the shared cache, so a "cold cache" is a FLUSHALL of
that Redis and nothing else's. Every measurement is bounded in requests and seconds.
"""

import contextlib
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import Client, load, percentile  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 4  # as deploy/serve-prod.sh


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.2)
    raise SystemExit("a bench server did not start")


@contextlib.contextmanager
def served(env: dict, port: int):
    """Run Redis and gunicorn (DEBUG off, WORKERS workers) on loopback; yield the base URL."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is in use: set BENCH_PORT to a free one")
    directory = Path(tempfile.mkdtemp(prefix="registry-bench-serve-"))
    redis_port = free_port()
    redis = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(redis_port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server_env = dict(
        env,
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        DJANGO_LOG_LEVEL="WARNING",
    )
    gunicorn = None
    try:
        wait_for(lambda: redis_client(redis_port).ping(), 10)
        gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "registry.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "--timeout",
                "120",
            ],
            env=server_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(directory / "gunicorn.log", "w"),  # noqa: SIM115
        )
        client = Client("127.0.0.1", port, 60)

        def answering() -> bool:
            if gunicorn.poll() is not None:
                raise SystemExit("gunicorn exited; see its log")
            return client.get("/robots.txt")[0] == 200

        wait_for(answering, 60)
        client.close()
        server = Server(f"http://127.0.0.1:{port}", port, redis_port)
        server.warm_workers()
        yield server
    finally:
        for process in (gunicorn, redis):
            if process is not None:
                process.terminate()
                process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def redis_client(port: int):
    import redis

    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)


class Server:
    def __init__(self, base: str, port: int, redis_port: int):
        self.base, self.port, self.redis_port = base, port, redis_port

    def flush_cache(self) -> None:
        redis_client(self.redis_port).flushall()

    def warm_workers(self) -> None:
        """Boot every worker and compile its templates before anything is timed."""
        cheap = ["/en/organisations/?q=no-such-organisation-anywhere", "/en/about/", "/en/data/"]
        for path in cheap:
            self.concurrent(path, clients=2 * WORKERS, requests=4 * WORKERS, seconds=5)

    def get(self, path: str) -> tuple[int, bytes]:
        client = Client("127.0.0.1", self.port, 120)
        try:
            return client.get(path)
        finally:
            client.close()

    def concurrent(self, path: str, *, clients: int, requests: int, seconds: float) -> dict:
        """Latency of one URL under `clients` concurrent clients, after one warm-up request.

        Clients stop starting requests after `requests` in all or `seconds`, whichever first;
        each client makes at least one, so a slow page still gives `clients` samples.
        """
        status, _ = self.get(path)
        timings: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        deadline = time.monotonic() + seconds

        def worker():
            client = Client("127.0.0.1", self.port, 120)
            first = True
            while first or (time.monotonic() < deadline and len(timings) < requests):
                first = False
                started = time.perf_counter()
                try:
                    code, _ = client.get(path)
                except OSError:
                    code = 0
                elapsed = time.perf_counter() - started
                with lock:
                    timings.append(elapsed)
                    statuses[code] = statuses.get(code, 0) + 1
            client.close()

        started = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        timings.sort()
        return {
            "url": path,
            "warmup_status": status,
            "statuses": statuses,
            "requests": len(timings),
            "rps": len(timings) / wall,
            "median_ms": statistics.median(timings) * 1000,
            "p99_ms": percentile(timings, 0.99) * 1000,
        }

    def cold(self, paths: list[str], *, rounds: int) -> dict:
        """Latency of each URL right after the shared cache was emptied, one client."""
        timings = []
        statuses: dict[int, int] = {}
        for _ in range(rounds):
            for path in paths:
                self.flush_cache()
                started = time.perf_counter()
                code, _ = self.get(path)
                timings.append(time.perf_counter() - started)
                statuses[code] = statuses.get(code, 0) + 1
        timings.sort()
        return {
            "requests": len(timings),
            "statuses": statuses,
            "median_ms": statistics.median(timings) * 1000,
            "p99_ms": percentile(timings, 0.99) * 1000,
        }

    def mixed_load(self, extra_urls: list[str], *, clients: int, seconds: float) -> dict:
        return load(
            self.base, clients=clients, duration=seconds, extra_urls=extra_urls, timeout=120
        )


def quote(text: str) -> str:
    return urllib.parse.quote(text)


def bench_port() -> int:
    """8100 + 16 (this issue's number) unless BENCH_PORT says otherwise."""
    return int(os.environ.get("BENCH_PORT", "8116"))

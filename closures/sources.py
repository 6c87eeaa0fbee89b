"""Keeping the evidence alive: checking source URLs and asking a web archive for snapshots.

The network calls live here, apart from the tasks, so the tests can run them against a local
server and the tasks stay a thin shell of IDs, retries and rate limits.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .models import Source


class HostBusy(Exception):
    """Raised when the host was contacted too recently; the task retries later."""

    def __init__(self, host: str, wait: float):
        self.host, self.wait = host, wait
        super().__init__(f"{host} was contacted less than {wait:g}s ago")


class ArchiveUnavailable(Exception):
    """The archive service failed for now (network error, 5xx, job still pending)."""


@dataclass(frozen=True)
class CheckResult:
    status_code: int | None
    final_url: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and self.status_code < 400


def claim_host_slot(url: str, *, wait: bool = False) -> None:
    """Allow one request per host per spacing interval, across workers sharing the cache.

    A worker raises `HostBusy` so the task is retried later instead of holding the worker;
    tasks run in-process (no broker) wait instead, since an eager retry would not wait.
    """
    spacing = settings.SOURCE_HOST_SPACING_SECONDS
    if spacing <= 0:
        return
    host = urlsplit(url).hostname or ""
    deadline = time.monotonic() + spacing
    while not cache.add(f"source-host-slot:{host}", 1, timeout=spacing):
        if not wait or time.monotonic() > deadline:
            raise HostBusy(host, spacing)
        time.sleep(min(0.1, spacing))


class RefusedAddress(httpx.TransportError):
    """The URL leads to an address the checker may not contact (loopback, private, …)."""


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def refuse_non_public_target(url: str) -> None:
    """Raise `RefusedAddress` unless every address the URL's host resolves to is public.

    A cited URL is curator input: without this a source pointing (directly, by DNS or by a
    redirect) at 127.0.0.1, the private network or a cloud metadata service would make the
    checker probe the registry's own network and record what it found.
    """
    if settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES:
        return
    target = httpx.URL(url)
    if target.scheme not in ("http", "https") or not target.host:
        raise RefusedAddress(f"only http and https URLs are checked, not {url}")
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        addresses = {
            info[4][0] for info in socket.getaddrinfo(target.host, port, type=socket.SOCK_STREAM)
        }
    except (socket.gaierror, UnicodeError) as error:
        raise httpx.ConnectError(f"{target.host} does not resolve: {error}") from error
    for address in sorted(addresses):
        if not is_public_address(ipaddress.ip_address(address.split("%", 1)[0])):
            raise RefusedAddress(f"{target.host} resolves to {address}, not a public address")


class PublicAddressTransport(httpx.HTTPTransport):
    """Refuse non-public targets on every request the client makes, redirects included.

    The host is resolved and checked before each request; after connecting, the address
    actually connected to is checked again, so a DNS answer that changed in between (DNS
    rebinding) yields no result either.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        refuse_non_public_target(str(request.url))
        response = super().handle_request(request)
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if (
            peer
            and not settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES
            and not is_public_address(ipaddress.ip_address(peer[0].split("%", 1)[0]))
        ):
            response.close()
            raise RefusedAddress(f"{request.url.host} connected to {peer[0]}, not a public address")
        return response


def _client(**options) -> httpx.Client:
    return httpx.Client(
        follow_redirects=True,
        timeout=settings.SOURCE_CHECK_TIMEOUT_SECONDS,
        headers={"User-Agent": settings.SOURCE_USER_AGENT},
        **options,
    )


def check_url(url: str) -> CheckResult:
    """Fetch the page's headers, following redirects; an unreachable host is a failed check."""
    try:
        with (
            _client(transport=PublicAddressTransport()) as client,
            client.stream("GET", url) as response,
        ):
            return CheckResult(response.status_code, str(response.url))
    except httpx.HTTPError as error:
        return CheckResult(None, "", error=f"{type(error).__name__}: {error}")


def check_source(*, source_id: int, wait_for_host: bool = False) -> Source | None:
    """Check one source and record the outcome; returns None if the source is gone."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return None
    claim_host_slot(source.url, wait=wait_for_host)
    result = check_url(source.url)
    with transaction.atomic():
        source = Source.objects.select_for_update().get(pk=source_id)
        source.last_checked_at = timezone.now()
        source.last_status_code = result.status_code
        source.final_url = result.final_url
        source.consecutive_failures = 0 if result.ok else source.consecutive_failures + 1
        # A check is an observation, not a curator's edit: it stays out of the history.
        source.save_without_historical_record(
            update_fields=[
                "last_checked_at",
                "last_status_code",
                "final_url",
                "consecutive_failures",
            ]
        )
    return source


def archive_configured() -> bool:
    return bool(
        settings.SOURCE_ARCHIVE_URL
        and settings.SOURCE_ARCHIVE_ACCESS_KEY
        and settings.SOURCE_ARCHIVE_SECRET
    )


def request_snapshot(url: str) -> str:
    """Ask Save Page Now (SPN2) for a capture and return the replay URL once it exists."""
    headers = {
        "Accept": "application/json",
        "Authorization": (
            f"LOW {settings.SOURCE_ARCHIVE_ACCESS_KEY}:{settings.SOURCE_ARCHIVE_SECRET}"
        ),
    }
    save_url = settings.SOURCE_ARCHIVE_URL.rstrip("/")
    try:
        with _client() as client:
            response = client.post(save_url, data={"url": url}, headers=headers)
            if response.status_code >= 500 or response.status_code == 429:
                raise ArchiveUnavailable(f"archive answered {response.status_code}")
            response.raise_for_status()
            job_id = response.json()["job_id"]
            for _attempt in range(settings.SOURCE_ARCHIVE_POLL_ATTEMPTS):
                status = client.get(f"{save_url}/status/{job_id}", headers=headers).json()
                if status.get("status") == "success":
                    replay = settings.SOURCE_ARCHIVE_REPLAY_URL.rstrip("/")
                    return f"{replay}/{status['timestamp']}/{status['original_url']}"
                if status.get("status") == "error":
                    raise ArchiveUnavailable(status.get("message", "capture failed"))
                time.sleep(settings.SOURCE_ARCHIVE_POLL_SECONDS)
    except (httpx.HTTPError, KeyError, ValueError) as error:
        raise ArchiveUnavailable(f"{type(error).__name__}: {error}") from error
    raise ArchiveUnavailable(f"capture of {url} still pending")


def archive_source(*, source_id: int, wait_for_host: bool = False) -> Source | None:
    """Record an archived copy of a source that lacks one; does nothing when not configured."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None or source.archived_url or not archive_configured():
        return source
    claim_host_slot(settings.SOURCE_ARCHIVE_URL, wait=wait_for_host)
    archived_url = request_snapshot(source.url)
    with transaction.atomic():
        source = Source.objects.select_for_update().get(pk=source_id)
        if not source.archived_url:
            source.archived_url = archived_url
            source.archived_at = timezone.now()
            source._change_reason = "Archived copy recorded"
            source.save(update_fields=["archived_url", "archived_at", "updated_at"])
    return source

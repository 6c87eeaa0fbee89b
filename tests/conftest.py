"""Small deterministic builders for registry records."""

import datetime as dt
import ipaddress
import itertools
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from closures.models import (
    Citation,
    Event,
    EventType,
    Organisation,
    OrganisationType,
    RegistryVersion,
    ReviewState,
    Source,
)
from closures.services import refresh_organisation

from .scenario import Scenario, build_scenario, staff_in

_counter = itertools.count(1)


@pytest.fixture
def make_organisation(db):
    def make(**overrides) -> Organisation:
        number = next(_counter)
        values = {
            "slug": f"organisation-{number}",
            "name_en": f"Organisation {number}",
            "name_zh": f"組織{number}",
            "org_type": OrganisationType.NGO,
            "review_state": ReviewState.DRAFT,
        }
        values.update(overrides)
        organisation = Organisation.objects.create(**values)
        # Builders stand in for the services, which move the data version on a public change.
        RegistryVersion.bump()
        return organisation

    return make


@pytest.fixture
def make_source(db):
    def make(**overrides) -> Source:
        number = next(_counter)
        values = {
            "url": f"https://news.example.org/story-{number}",
            "title": f"Story {number}",
            "publisher": "Example News",
        }
        values.update(overrides)
        return Source.objects.create(**values)

    return make


@pytest.fixture
def make_event(db, make_source):
    def make(organisation, *, cited=True, **overrides) -> Event:
        number = next(_counter)
        values = {
            "uid": f"event-{number}",
            "organisation": organisation,
            "event_type": EventType.DISBANDED,
            "effective_on": dt.date(2021, 9, 25),
            "effective_precision": "day",
            "stated_reason_en": "Said the security law left it no choice.",
            "review_state": ReviewState.PUBLISHED,
        }
        values.update(overrides)
        event = Event.objects.create(**values)
        if cited:
            Citation.objects.create(event=event, source=make_source(), claims=["event"])
        RegistryVersion.bump()
        return event

    return make


@pytest.fixture
def make_public_organisation(make_organisation, make_event):
    """A published organisation with one published, cited event: visible to the public."""

    def make(*, event=None, **overrides) -> Organisation:
        organisation = make_organisation(**{"review_state": ReviewState.PUBLISHED, **overrides})
        make_event(organisation, **(event or {}))
        # Through the service, so first publication and the public-change time are real.
        return refresh_organisation(organisation_id=organisation.pk)

    return make


@pytest.fixture
def scenario(curator, reviewer) -> Scenario:
    """The shared registry (hkctu, amnesty, apple-daily, an embargoed and a draft record),
    imported, reviewed, published and embargoed through the services: see tests/scenario.py."""
    return build_scenario(curator=curator, reviewer=reviewer)


# --- Curation (issue 5): users, no internet, eager tasks, a local web server -------------


@pytest.fixture
def curator(db):
    return staff_in("curator", "Curators")


@pytest.fixture
def reviewer(db):
    return staff_in("reviewer", "Reviewers")


@pytest.fixture
def second_reviewer(db):
    return staff_in("second-reviewer", "Reviewers")


@pytest.fixture
def staff_login(db):
    """Log a staff user into the admin as a full sign-in does: password and authenticator.

    `client.force_login` alone leaves the session without a verified second factor, which
    the admin refuses; this gives the user a confirmed TOTP device and marks the session
    verified with it, as django-otp does after a valid code.
    """

    def log_in(client, user) -> TOTPDevice:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return device

    return log_in


def _is_loopback(address) -> bool:
    if not isinstance(address, tuple):
        return True  # Unix sockets never leave the machine.
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def no_internet():
    """Refuse every connection that would leave 127.0.0.1: the tests never touch the internet."""
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(original):
        def connect(self, address):
            if not _is_loopback(address):
                raise ConnectionRefusedError(f"tests may not connect to {address!r}")
            return original(self, address)

        return connect

    socket.socket.connect = guarded(original_connect)
    socket.socket.connect_ex = guarded(original_connect_ex)
    yield
    socket.socket.connect, socket.socket.connect_ex = original_connect, original_connect_ex


@pytest.fixture(autouse=True)
def eager_tasks(request, settings):
    """Run Celery tasks in-process unless the test needs the real broker (`broker` marker)."""
    from registry.celery import app

    settings.SOURCE_HOST_SPACING_SECONDS = 0
    settings.SOURCE_ARCHIVE_POLL_SECONDS = 0
    if request.node.get_closest_marker("broker"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


class LocalWeb:
    """A tiny web site and Save Page Now stand-in on 127.0.0.1, started by the tests."""

    def __init__(self):
        self.requests: list[tuple[str, str, dict]] = []
        self.captures: dict[str, str] = {}
        # Statuses the Save Page Now stand-in answers first (e.g. 429, 503), one per request,
        # as a busy archive does before it takes the capture.
        self.busy_answers: list[int] = []
        # When set, the next snapshot request hangs (until `release` or 60 s), as a worker
        # might be killed in the middle of it.
        self.stall_next_save = False
        self.release = threading.Event()
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def _handler(self):
        web = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body=b"", headers=None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                web.requests.append(("GET", self.path, dict(self.headers)))
                if self.path.startswith("/ok"):
                    self.reply(200, b"<html>still here</html>")
                elif self.path.startswith("/to-metadata"):
                    # Never followed in a test: the checker must refuse the target first.
                    location = "http://169.254.169.254/latest/meta-data/"
                    self.reply(302, headers={"Location": location})
                elif self.path.startswith("/moved"):
                    self.reply(301, headers={"Location": "/ok/new-home"})
                elif self.path.startswith("/save/status/"):
                    job = self.path.rsplit("/", 1)[1]
                    status = {"status": "success", "timestamp": "20240101000000"}
                    self.reply(
                        200, json.dumps({**status, "original_url": web.captures[job]}).encode()
                    )
                elif self.path.startswith("/gone"):
                    self.reply(404, b"not found")
                else:
                    self.reply(500, b"error")

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                web.requests.append(("POST", self.path, dict(self.headers)))
                if web.busy_answers:
                    self.reply(web.busy_answers.pop(0), b"busy", {"Retry-After": "1"})
                    return
                if web.stall_next_save:
                    web.stall_next_save = False
                    web.release.wait(60)
                    return
                job = f"job{len(web.captures) + 1}"
                web.captures[job] = parse_qs(body)["url"][0]
                self.reply(200, json.dumps({"job_id": job, "url": web.captures[job]}).encode())

        return Handler

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local_web(settings):
    # The checker refuses loopback addresses unless told otherwise; this server is on one.
    settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES = True
    web = LocalWeb()
    yield web
    web.stop()


@pytest.fixture
def archive_service(settings, local_web):
    """Point the archiver at the local Save Page Now stand-in, with made-up credentials."""
    settings.SOURCE_ARCHIVE_URL = local_web.url("/save")
    settings.SOURCE_ARCHIVE_REPLAY_URL = "https://archive.example.org/web/"
    settings.SOURCE_ARCHIVE_ACCESS_KEY = "test-access"
    settings.SOURCE_ARCHIVE_SECRET = "test-secret"
    return local_web


@pytest.fixture(autouse=True)
def import_preview_dir(settings, tmp_path):
    """Keep uploads waiting for confirmation out of the working tree."""
    settings.IMPORT_PREVIEW_DIR = tmp_path / "import-previews"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with empty throttle counters and host slots, and no data version
    remembered from a request another test made outside the client (a RequestFactory's)."""
    from django.core.cache import cache

    from closures.caching import request_version

    request_version.set(None)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def language_reset_after_each_test():
    """A request to a /zh-hant/ page leaves Chinese active in the thread; the next test's
    messages (e.g. a WorkflowRefused it matches) must not depend on which test ran before."""
    yield
    from django.utils import translation

    translation.deactivate()

"""End to end on the real broker: a Celery worker process checks and archives a source."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from closures import tasks
from closures.models import Source

pytestmark = [
    pytest.mark.broker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def worker(archive_service):
    """A worker process on CELERY_BROKER_URL, on a queue of its own, using the test database."""
    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        pytest.skip("CELERY_BROKER_URL is not set: no broker to run a real worker on")
    if connection.vendor != "postgresql":
        pytest.skip("a worker process needs a database it can share (PostgreSQL)")
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    queue = f"test-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "SOURCE_HOST_SPACING_SECONDS": "0",
        "SOURCE_ARCHIVE_URL": archive_service.url("/save"),
        "SOURCE_ARCHIVE_REPLAY_URL": "https://archive.example.org/web/",
        "SOURCE_ARCHIVE_ACCESS_KEY": "test-access",
        "SOURCE_ARCHIVE_SECRET": "test-secret",
        "SOURCE_ARCHIVE_POLL_SECONDS": "0",
    }
    command = [sys.executable, "-m", "celery", "-A", "registry", "worker", "--pool=solo"]
    command += ["-Q", queue, "--without-gossip", "--without-mingle", "-l", "warning"]
    process = subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parent.parent)
    yield queue
    process.terminate()
    process.wait(timeout=30)


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_real_worker_checks_and_archives_a_source(worker, archive_service):
    source = Source.objects.create(url=archive_service.url("/moved"), title="Moved page")
    tasks.check_source.apply_async((source.pk,), queue=worker)
    tasks.archive_source.apply_async((source.pk,), queue=worker)

    def done():
        source.refresh_from_db()
        return source.last_checked_at is not None and source.archived_url

    assert wait_for(done), "the worker did not check and archive the source in time"
    assert source.last_status_code == 200
    assert source.final_url == archive_service.url("/ok/new-home")
    assert source.archived_url.endswith(archive_service.url("/moved"))

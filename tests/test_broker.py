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
def start_worker(archive_service):
    """Start worker processes on CELERY_BROKER_URL, on a queue of their own, on the test DB."""
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
        # The local stand-in web server is on loopback, which the checker refuses by default.
        "SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES": "true",
        "SOURCE_ARCHIVE_URL": archive_service.url("/save"),
        "SOURCE_ARCHIVE_REPLAY_URL": "https://archive.example.org/web/",
        "SOURCE_ARCHIVE_ACCESS_KEY": "test-access",
        "SOURCE_ARCHIVE_SECRET": "test-secret",
        "SOURCE_ARCHIVE_POLL_SECONDS": "0",
        # Short, so a killed worker's task comes back within the test.
        "CELERY_VISIBILITY_TIMEOUT": "5",
    }
    command = [sys.executable, "-m", "celery", "-A", "registry", "worker", "--pool=solo"]
    command += ["-Q", queue, "--without-gossip", "--without-mingle", "-l", "warning"]
    processes = []

    def start():
        process = subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parent.parent)
        processes.append(process)
        return process

    start.queue = queue
    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def worker(start_worker):
    start_worker()
    return start_worker.queue


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_real_worker_checks_and_archives_a_source(worker, archive_service):
    source = Source.objects.create(url=archive_service.url("/moved"), title="Moved page")
    # Explicit, as a curator's admin action: the source is cited by no public event.
    tasks.check_source.apply_async((source.pk,), {"explicit": True}, queue=worker)
    tasks.archive_source.apply_async((source.pk,), {"explicit": True}, queue=worker)

    def done():
        source.refresh_from_db()
        return source.last_checked_at is not None and source.archived_url

    assert wait_for(done), "the worker did not check and archive the source in time"
    assert source.last_status_code == 200
    assert source.final_url == archive_service.url("/ok/new-home")
    assert source.archived_url.endswith(archive_service.url("/moved"))


def test_a_task_whose_worker_is_killed_runs_again_and_records_once(start_worker, archive_service):
    """The worker-kill drill: acks_late brings the task back; idempotence keeps one copy."""
    source = Source.objects.create(url=archive_service.url("/ok/evidence"), title="Evidence")
    archive_service.stall_next_save = True
    doomed = start_worker()
    tasks.archive_source.apply_async((source.pk,), {"explicit": True}, queue=start_worker.queue)

    def snapshot_requests():
        return [request for request in archive_service.requests if request[0] == "POST"]

    assert wait_for(lambda: len(snapshot_requests()) == 1), "the task never reached the archive"
    doomed.kill()  # SIGKILL in the middle of the task: no chance to acknowledge or requeue
    doomed.wait(timeout=30)
    source.refresh_from_db()
    assert not source.archived_url

    # Redis hands an unacknowledged message to a starting worker once it is older than the
    # visibility timeout, as after a real crash and restart.
    time.sleep(6)
    start_worker()

    def archived():
        source.refresh_from_db()
        return bool(source.archived_url)

    assert wait_for(archived, timeout=90), "the task did not run again after its worker died"
    time.sleep(6)  # past another visibility timeout: nothing else may arrive
    assert len(snapshot_requests()) == 2  # the interrupted request and the one that completed
    recorded = source.history.filter(history_change_reason="Archived copy recorded")
    assert recorded.count() == 1

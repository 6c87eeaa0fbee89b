import socket

import httpx
import pytest
from celery.signals import task_prerun, task_retry
from django.core.cache import cache

from closures import sources, tasks
from closures.models import Source


def test_check_records_status_and_clears_failures(local_web, make_source):
    source = make_source(url=local_web.url("/ok/story"))
    Source.objects.filter(pk=source.pk).update(consecutive_failures=3)
    source = sources.check_source(source_id=source.pk)
    assert source.last_status_code == 200
    assert source.final_url == local_web.url("/ok/story")
    assert source.consecutive_failures == 0
    assert source.last_checked_at is not None


def test_check_follows_redirects_to_the_final_url(local_web, make_source):
    source = sources.check_source(source_id=make_source(url=local_web.url("/moved")).pk)
    assert source.last_status_code == 200
    assert source.final_url == local_web.url("/ok/new-home")


def test_failures_in_a_row_make_a_source_broken(local_web, make_source, settings):
    settings.SOURCE_BROKEN_AFTER_FAILURES = 2
    source = make_source(url=local_web.url("/gone"))
    sources.check_source(source_id=source.pk)
    assert not Source.objects.broken().exists()
    source = sources.check_source(source_id=source.pk)
    assert (source.last_status_code, source.consecutive_failures) == (404, 2)
    assert list(Source.objects.broken()) == [source]


def test_unreachable_host_counts_as_a_failure(make_source):
    with socket.socket() as probe:  # A port nobody listens on.
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = sources.check_source(source_id=make_source(url=f"http://127.0.0.1:{port}/").pk)
    assert source.last_status_code is None
    assert source.consecutive_failures == 1


def test_a_check_is_not_a_curators_change(local_web, make_source):
    source = make_source(url=local_web.url("/ok"))
    versions = source.history.count()
    sources.check_source(source_id=source.pk)
    assert source.history.count() == versions


def test_broken_sources_are_listed_in_the_admin(
    client, admin_user, local_web, make_source, settings
):
    settings.SOURCE_BROKEN_AFTER_FAILURES = 1
    broken = make_source(url=local_web.url("/gone"), title="Dead link")
    make_source(url=local_web.url("/ok"), title="Live link")
    for source in Source.objects.all():
        sources.check_source(source_id=source.pk)
    client.force_login(admin_user)
    response = client.get("/admin/closures/source/", {"health": "broken"})
    assert [source.pk for source in response.context["cl"].result_list] == [broken.pk]


def test_nothing_is_sent_when_the_archive_is_not_configured(local_web, make_source, settings):
    settings.SOURCE_ARCHIVE_URL = local_web.url("/save")
    settings.SOURCE_ARCHIVE_ACCESS_KEY = ""
    source = make_source(url=local_web.url("/ok"))
    assert tasks.archive_missing_sources.delay().get() == 0
    sources.archive_source(source_id=source.pk)
    source.refresh_from_db()
    assert source.archived_url == ""
    assert local_web.requests == []


def test_archiver_records_the_snapshot_once(archive_service, make_source):
    source = make_source(url="https://news.example.org/ptu-disbands")
    source = sources.archive_source(source_id=source.pk)
    expected = (
        "https://archive.example.org/web/20240101000000/https://news.example.org/ptu-disbands"
    )
    assert source.archived_url == expected
    assert source.archived_at is not None
    method, path, headers = archive_service.requests[0]
    assert (method, path) == ("POST", "/save")
    assert headers["Authorization"] == "LOW test-access:test-secret"
    requests_made = len(archive_service.requests)
    sources.archive_source(source_id=source.pk)
    assert len(archive_service.requests) == requests_made


def test_archive_service_errors_raise_archive_unavailable(settings, local_web, make_source):
    settings.SOURCE_ARCHIVE_URL = local_web.url("/broken-archive")
    settings.SOURCE_ARCHIVE_ACCESS_KEY = settings.SOURCE_ARCHIVE_SECRET = "key"
    source = make_source()
    with pytest.raises(sources.ArchiveUnavailable):
        sources.archive_source(source_id=source.pk)


@pytest.fixture
def retries():
    """The retries Celery makes, as (task name, reason) pairs, from its task_retry signal.

    An in-process task that propagates its exceptions would raise the retry at the caller;
    without propagation Celery runs the retry itself, as a worker would (minus the countdown).
    """
    from registry.celery import app

    propagates, app.conf.task_eager_propagates = app.conf.task_eager_propagates, False
    seen = []

    def record(sender, reason, **kwargs):
        # `reason` is Celery's Retry; its exc what caused it, wrapped if it cannot be pickled.
        cause = reason.exc
        seen.append((sender.name, getattr(cause, "exc_cls_name", type(cause).__name__)))

    task_retry.connect(record)
    yield seen
    task_retry.disconnect(record)
    app.conf.task_eager_propagates = propagates


def test_archive_task_retries_while_the_archive_answers_busy(archive_service, make_source, retries):
    archive_service.busy_answers = [429, 503]
    source = make_source(url="https://news.example.org/ptu-disbands")
    archived = tasks.archive_source.delay(source.pk).get()
    assert archived.endswith("/https://news.example.org/ptu-disbands")
    assert retries == [("closures.tasks.archive_source", "ArchiveUnavailable")] * 2
    saves = [path for method, path, _ in archive_service.requests if method == "POST"]
    assert saves == ["/save"] * 3


def test_host_rate_limit_spaces_requests(settings):
    settings.SOURCE_HOST_SPACING_SECONDS = 60
    cache.clear()
    sources.claim_host_slot("https://a.example.org/1")
    with pytest.raises(sources.HostBusy):
        sources.claim_host_slot("https://a.example.org/2")
    sources.claim_host_slot("https://b.example.org/1")
    cache.clear()


def test_in_process_tasks_wait_for_the_host_instead_of_failing(settings, local_web, make_source):
    settings.SOURCE_HOST_SPACING_SECONDS = 0.3
    cache.clear()
    first = make_source(url=local_web.url("/ok/1"))
    second = make_source(url=local_web.url("/ok/2"))
    tasks.check_source.delay(first.pk)
    assert tasks.check_source.delay(second.pk).get() == 0
    assert Source.objects.filter(last_status_code=200).count() == 2
    cache.clear()


def test_check_task_retries_while_the_host_is_busy(settings, local_web, make_source, retries):
    source = make_source(url=local_web.url("/gone"))
    # Another worker has just contacted the host and holds its slot for a minute...
    settings.SOURCE_HOST_SPACING_SECONDS = 60
    sources.claim_host_slot(source.url)
    # ...longer than this task waits for it before it gives up and retries.
    settings.SOURCE_HOST_SPACING_SECONDS = 0.2

    def slot_freed_on_retry(**kwargs):
        cache.clear()  # the other worker's slot runs out while this task waits to retry

    task_retry.connect(slot_freed_on_retry)
    try:
        failures = tasks.check_source.delay(source.pk).get()
    finally:
        task_retry.disconnect(slot_freed_on_retry)
    assert retries == [("closures.tasks.check_source", "HostBusy")]
    # The busy attempt sent nothing; the retry made the one check and recorded it.
    assert [(method, path) for method, path, _ in local_web.requests] == [("GET", "/gone")]
    assert failures == 1
    source.refresh_from_db()
    assert source.last_status_code == 404


def test_check_task_of_a_deleted_source_does_nothing(local_web, make_source):
    source = make_source(url=local_web.url("/ok"))
    assert tasks.check_source.delay(source.pk + 1000).get() is None
    assert local_web.requests == []


def test_check_all_sources_fans_out_one_check_each(local_web, make_source):
    first = make_source(url=local_web.url("/ok/1"))
    second = make_source(url=local_web.url("/gone/2"))
    started = []

    def record(sender, args, **kwargs):
        started.append((sender.name, tuple(args)))

    task_prerun.connect(record)
    try:
        assert tasks.check_all_sources.delay().get() == 2
    finally:
        task_prerun.disconnect(record)
    assert sorted(started) == [
        ("closures.tasks.check_all_sources", ()),
        ("closures.tasks.check_source", (first.pk,)),
        ("closures.tasks.check_source", (second.pk,)),
    ]
    assert Source.objects.filter(last_checked_at__isnull=False).count() == 2


def test_beat_schedules_daily_check_and_archive_and_a_weekly_release(settings):
    scheduled = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert scheduled == {
        "closures.tasks.check_all_sources": 24 * 3600,
        "closures.tasks.archive_missing_sources": 24 * 3600,
        "closures.tasks.build_weekly_release": 7 * 24 * 3600,
    }


def test_saving_a_source_in_the_admin_enqueues_upkeep_after_commit(
    client, admin_user, archive_service, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/admin/closures/source/add/",
            {"url": archive_service.url("/ok/new"), "source_type": "news_report", "title": "New"},
        )
        assert response.status_code == 302
        assert Source.objects.get().last_checked_at is None
    assert len(callbacks) == 1
    callbacks[0]()
    source = Source.objects.get()
    assert source.last_status_code == 200
    assert source.archived_url.endswith(archive_service.url("/ok/new"))


def test_archived_copy_appears_on_the_public_record_page(
    client, archive_service, make_public_organisation
):
    organisation = make_public_organisation()
    source = organisation.events.get().citations.get().source
    tasks.archive_source.delay(source.pk)
    source.refresh_from_db()
    page = client.get(organisation.get_absolute_url()).content.decode()
    assert f'href="{source.archived_url}"' in page
    assert "archived copy" in page


def test_tests_cannot_reach_the_internet():
    # The guard refuses before any packet leaves: its own message, not a network failure,
    # proves it (a sandbox without a network would fail the connection anyway).
    with pytest.raises(httpx.ConnectError, match="tests may not connect to"):
        httpx.get("http://93.184.216.34/", timeout=2)
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError, match="may not connect"):
        probe.connect_ex(("10.0.0.1", 80))  # private ranges included

import socket

import httpx
import pytest
from celery.signals import task_prerun, task_retry
from django.core.cache import cache

from closures import sources, tasks
from closures.models import ReviewState, Source


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


def test_unreachable_host_counts_as_a_failure(make_source, settings):
    settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES = True
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
    client, admin_user, local_web, make_source, settings, staff_login
):
    settings.SOURCE_BROKEN_AFTER_FAILURES = 1
    broken = make_source(url=local_web.url("/gone"), title="Dead link")
    make_source(url=local_web.url("/ok"), title="Live link")
    for source in Source.objects.all():
        sources.check_source(source_id=source.pk)
    staff_login(client, admin_user)
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
    archived = tasks.archive_source.delay(source.pk, explicit=True).get()
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
    tasks.check_source.delay(first.pk, explicit=True)
    assert tasks.check_source.delay(second.pk, explicit=True).get() == 0
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
        failures = tasks.check_source.delay(source.pk, explicit=True).get()
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
    assert tasks.check_source.delay(source.pk + 1000, explicit=True).get() is None
    assert local_web.requests == []


def cite_at(organisation, url: str) -> Source:
    """Point the organisation's only citation at `url`."""
    source = organisation.events.get().citations.get().source
    Source.objects.filter(pk=source.pk).update(url=url)
    return source


def test_check_all_sources_fans_out_one_check_each(local_web, make_public_organisation):
    first = cite_at(make_public_organisation(), local_web.url("/ok/1"))
    second = cite_at(make_public_organisation(), local_web.url("/gone/2"))
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


@pytest.fixture
def hidden_sources(local_web, make_organisation, make_event, make_public_organisation, make_source):
    """Sources cited only where the public cannot see: embargoed, draft, or not cited at all."""
    embargoed = make_public_organisation(embargoed=True, embargo_reason="Safety of members")
    draft = make_organisation()
    make_event(draft, review_state=ReviewState.DRAFT)
    in_review = make_organisation(review_state=ReviewState.PUBLISHED)
    make_event(in_review, review_state=ReviewState.IN_REVIEW)
    return [
        cite_at(embargoed, local_web.url("/ok/embargoed")),
        cite_at(draft, local_web.url("/ok/draft")),
        cite_at(in_review, local_web.url("/ok/in-review")),
        make_source(url=local_web.url("/ok/uncited")),
    ]


def test_daily_checks_and_archiving_contact_only_publicly_cited_sources(
    archive_service, make_public_organisation, hidden_sources
):
    public = cite_at(make_public_organisation(), archive_service.url("/ok/public"))
    assert Source.objects.public().get() == public

    assert tasks.check_all_sources.delay().get() == 1
    assert tasks.archive_missing_sources.delay().get() == 1

    contacted = [path for _method, path, _headers in archive_service.requests]
    assert contacted == ["/ok/public", "/save", "/save/status/job1"]
    assert archive_service.captures == {"job1": archive_service.url("/ok/public")}
    for source in Source.objects.filter(pk__in=[s.pk for s in hidden_sources]):
        assert (source.last_checked_at, source.archived_url) == (None, "")


def test_a_queued_check_skips_a_source_hidden_since(archive_service, hidden_sources):
    for source in hidden_sources:
        assert tasks.check_source.delay(source.pk).get() is None
        assert tasks.archive_source.delay(source.pk).get() is None
    assert archive_service.requests == []


def test_a_curator_can_check_and_archive_a_hidden_source_explicitly(
    client,
    curator,
    archive_service,
    hidden_sources,
    staff_login,
    django_capture_on_commit_callbacks,
):
    staff_login(client, curator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/closures/source/",
            {"action": "check_and_archive", "_selected_action": [hidden_sources[0].pk]},
        )
    assert response.status_code == 302
    source = Source.objects.get(pk=hidden_sources[0].pk)
    assert source.last_status_code == 200
    assert source.archived_url.endswith(archive_service.url("/ok/embargoed"))
    others = Source.objects.exclude(pk=source.pk).filter(last_checked_at__isnull=False)
    assert not others.exists()


def test_beat_schedules_daily_check_and_archive_and_a_weekly_release(settings):
    scheduled = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert scheduled == {
        "closures.tasks.check_all_sources": 24 * 3600,
        "closures.tasks.archive_missing_sources": 24 * 3600,
        "closures.tasks.build_weekly_release": 7 * 24 * 3600,
    }


def test_saving_a_new_source_in_the_admin_contacts_nobody_until_it_is_cited_publicly(
    client, admin_user, archive_service, django_capture_on_commit_callbacks, staff_login
):
    staff_login(client, admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/closures/source/add/",
            {"url": archive_service.url("/ok/new"), "source_type": "news_report", "title": "New"},
        )
    assert response.status_code == 302
    assert Source.objects.get().last_checked_at is None
    assert archive_service.requests == []


def test_changing_a_public_sources_url_in_the_admin_enqueues_upkeep_after_commit(
    client,
    admin_user,
    archive_service,
    make_public_organisation,
    django_capture_on_commit_callbacks,
    staff_login,
):
    source = make_public_organisation().events.get().citations.get().source
    staff_login(client, admin_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            f"/admin/closures/source/{source.pk}/change/",
            {
                "url": archive_service.url("/ok/moved-story"),
                "source_type": "news_report",
                "title": "Moved",
                "language": source.language,
            },
        )
        assert response.status_code == 302
        assert Source.objects.get(pk=source.pk).last_checked_at is None
    assert len(callbacks) == 1
    callbacks[0]()
    source.refresh_from_db()
    assert source.last_status_code == 200
    assert source.archived_url.endswith(archive_service.url("/ok/moved-story"))


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


# --- Outbound address guard: only public addresses, after DNS and after each redirect -----


def resolver_stub(answers: dict[str, list[str]]):
    """A getaddrinfo stand-in: these tests never resolve or contact a real host."""

    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
            for address in answers[host]
        ]

    return getaddrinfo


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.5",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_the_guard_refuses_non_public_addresses(monkeypatch, settings, address):
    settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(socket, "getaddrinfo", resolver_stub({"news.example.org": [address]}))
    with pytest.raises(sources.RefusedAddress, match="not a public address"):
        sources.refuse_non_public_target("https://news.example.org/story")


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_the_guard_lets_public_addresses_through(monkeypatch, settings, address):
    settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(socket, "getaddrinfo", resolver_stub({"news.example.org": [address]}))
    assert sources.refuse_non_public_target("https://news.example.org/story") is None


def test_one_private_answer_among_public_ones_is_refused(monkeypatch, settings):
    settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES = False
    answers = {"news.example.org": ["93.184.216.34", "10.0.0.7"]}
    monkeypatch.setattr(socket, "getaddrinfo", resolver_stub(answers))
    with pytest.raises(sources.RefusedAddress):
        sources.refuse_non_public_target("http://news.example.org/")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://news.example.org/x", "http:///x"])
def test_the_guard_refuses_other_schemes(settings, url):
    settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(sources.RefusedAddress):
        sources.refuse_non_public_target(url)


def test_a_source_resolving_to_a_private_address_is_not_contacted(
    monkeypatch, settings, make_source
):
    settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(
        socket, "getaddrinfo", resolver_stub({"intranet.example.org": ["10.1.2.3"]})
    )
    connections = []
    monkeypatch.setattr(socket.socket, "connect", lambda *args: connections.append(args))
    source = make_source(url="http://intranet.example.org/admin")
    source = sources.check_source(source_id=source.pk)
    assert source.last_status_code is None
    assert source.consecutive_failures == 1
    assert connections == []


def test_loopback_is_refused_unless_the_setting_allows_it(local_web, settings, make_source):
    settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES = False
    result = sources.check_url(local_web.url("/ok"))
    assert result.status_code is None and "RefusedAddress" in result.error
    assert local_web.requests == []
    settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES = True
    assert sources.check_url(local_web.url("/ok")).status_code == 200


def test_a_redirect_to_a_private_address_is_refused_before_it_is_followed(
    local_web, settings, monkeypatch
):
    settings.SOURCE_CHECK_ALLOW_PRIVATE_ADDRESSES = False
    # Stand-in for a public site: the local server's loopback address counts as public here,
    # so the first hop is made and the redirect it answers is what the guard must stop.
    monkeypatch.setattr(sources, "is_public_address", lambda address: str(address) == "127.0.0.1")
    result = sources.check_url(local_web.url("/to-metadata"))
    assert result.status_code is None
    assert "169.254.169.254" in result.error and "not a public address" in result.error
    assert [path for _method, path, _headers in local_web.requests] == ["/to-metadata"]

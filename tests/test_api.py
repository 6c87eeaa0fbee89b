import base64
import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.http import QueryDict
from django.test import Client
from django.utils import timezone

from closures import services
from closures.filters import RegistryFilterSet
from closures.models import Organisation
from closures.schema_view import RegistrySchemaView


def ids(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_lists_show_public_records_only(client, scenario):
    assert ids(client, "/api/v1/organisations/") == ["amnesty", "apple-daily", "hkctu"]
    event_ids = ids(client, "/api/v1/events/")
    assert "apple-daily-secret-move" not in event_ids and len(event_ids) == 3
    for hidden in ("hidden-union", "draft-union"):
        assert client.get(f"/api/v1/organisations/{hidden}/").status_code == 404
    assert client.get("/api/v1/events/apple-daily-secret-move/").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "q=職工會",
        "search=trade",
        "org_type=union",
        "country=TW",
        "event_type=relocated",
        "year=2021",
        "date_from=2021-12-01",
        "status=relocated",
        "",
    ],
)
def test_api_and_listing_filters_select_the_same_records(client, scenario, query):
    params = QueryDict(query.replace("search=", "q="))
    filterset = RegistryFilterSet(params, queryset=Organisation.objects.public())
    assert filterset.is_valid()
    expected = sorted(filterset.qs.values_list("slug", flat=True))
    assert ids(client, f"/api/v1/organisations/?{query}") == expected


def test_detail_carries_events_with_dates_at_their_precision(client, scenario):
    body = client.get("/api/v1/organisations/amnesty/").json()
    (event,) = body["events"]
    assert event["effective"] == "2021-12" and event["effective_precision"] == "month"
    ceased, *embargoed = client.get("/api/v1/organisations/apple-daily/").json()["events"]
    assert ceased["effective"] == "2022-06-24" and ceased["effective_precision"] == "day"
    assert embargoed == []
    assert event["citations"][0]["source"].startswith("src-")
    assert "notes" not in body and "review_state" not in body and "embargoed" not in body


@pytest.mark.parametrize(
    "query",
    [
        "org_type=bogus",
        "date_from=2021-13-45",
        "year=abc",
        "page_size=100000",
        "page_size=0",
        "cursor=not-a-cursor",
        "updated_since=yesterday",
        "q=" + "x" * 5000,
    ],
)
def test_bad_parameters_answer_400_with_a_message(client, scenario, query):
    response = client.get(f"/api/v1/organisations/?{query}")
    assert response.status_code == 400
    assert response.json()


def crafted_cursor(position: str) -> str:
    """A cursor encoded the way DRF encodes its own, around a position of the attacker's."""
    return base64.b64encode(urlencode({"o": 0, "r": 0, "p": position}).encode()).decode()


@pytest.mark.parametrize("path", ["organisations/", "events/", "sources/", "withdrawn/"])
@pytest.mark.parametrize(
    "ordering, position",
    [("latest", "2021-99-99"), ("", "\x00"), ("name", "x" * 5000), ("-latest", "yesterday")],
)
def test_crafted_cursors_answer_400_on_every_list(client, scenario, path, ordering, position):
    query = urlencode({"cursor": crafted_cursor(position), "ordering": ordering})
    response = client.get(f"/api/v1/{path}?{query}")
    # A date is a fair position where the list is ordered by name or ID, never a server error.
    keyed_by_date = path == "organisations/" and "latest" in ordering
    if keyed_by_date or position in ("\x00", "x" * 5000):
        assert response.status_code == 400
        assert "cursor" in response.json()
    else:
        assert response.status_code == 200


def test_cursor_pages_cover_every_record_once(client, scenario, make_public_organisation):
    for number in range(5):
        make_public_organisation(slug=f"extra-{number}")
    seen, url = [], "/api/v1/organisations/?page_size=2&ordering=-latest"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(Organisation.objects.public().values_list("slug", flat=True))


def test_updated_since_and_tombstones_let_a_copy_stay_in_sync(client, scenario):
    since = timezone.now()
    assert ids(client, "/api/v1/organisations/?" + urlencode({"updated_since": since})) == []
    services.withdraw(
        record=scenario.ctu,
        user=scenario.reviewer,
        reason="Merged into another record.",
        reason_public=True,
    )
    services.set_embargo(record=scenario.amnesty, user=scenario.reviewer, reason="Staff at risk.")
    today = timezone.localdate().isoformat()
    response = client.get("/api/v1/withdrawn/", {"updated_since": since.isoformat()})
    rows = {row["id"]: row for row in response.json()["results"]}
    assert rows["hkctu"] == {
        "id": "hkctu",
        "withdrawn": True,
        "reason": "Merged into another record.",
        "reason_zh": "",
        "since": today,
    }
    # An embargo is announced as a plain disappearance: no reason, never the embargoed one's.
    assert rows["amnesty"] == {
        "id": "amnesty",
        "withdrawn": False,
        "reason": "",
        "reason_zh": "",
        "since": today,
    }
    assert "Staff at risk" not in response.content.decode()
    assert "draft-union" not in rows  # never public, so nothing to withdraw
    # Records changed before `since` are left out, however they left the public.
    assert set(rows) == {"hkctu", "amnesty"}


def test_a_record_embargoed_before_it_was_ever_public_is_never_announced(client, scenario):
    rows = {row["id"] for row in client.get("/api/v1/withdrawn/").json()["results"]}
    assert "hidden-union" not in rows
    assert scenario.hidden.first_published_at is None
    assert client.get("/en/organisations/hidden-union/").status_code == 404


def test_a_withdrawal_without_a_public_reason_says_only_no_longer_public(client, scenario):
    services.withdraw(
        record=scenario.ctu, user=scenario.reviewer, reason="A source named a person at risk."
    )
    rows = {row["id"]: row for row in client.get("/api/v1/withdrawn/").json()["results"]}
    assert rows["hkctu"] == {
        "id": "hkctu",
        "withdrawn": False,
        "reason": "",
        "reason_zh": "",
        "since": timezone.localdate().isoformat(),
    }
    page = client.get("/en/organisations/hkctu/")
    assert page.status_code == 410
    assert "person at risk" not in page.content.decode()
    assert "Hong Kong Confederation" not in page.content.decode()


def test_hiding_a_record_through_its_only_public_event_reaches_incremental_sync(client, scenario):
    since = timezone.now()
    event = scenario.ctu.events.get()
    services.set_embargo(record=event, user=scenario.reviewer, reason="Staff at risk.")
    response = client.get("/api/v1/withdrawn/", {"updated_since": since.isoformat()})
    assert [row["id"] for row in response.json()["results"]] == ["hkctu"]


def test_updated_since_on_tombstones_compares_days_not_times(client, scenario):
    services.set_embargo(record=scenario.ctu, user=scenario.reviewer, reason="Staff at risk.")
    hidden_at = Organisation.objects.get(pk=scenario.ctu.pk).public_changed_at
    just_after = (hidden_at + dt.timedelta(microseconds=1)).isoformat()
    response = client.get("/api/v1/withdrawn/", {"updated_since": just_after})
    assert [row["id"] for row in response.json()["results"]] == ["hkctu"]
    next_day = timezone.localdate(hidden_at) + dt.timedelta(days=1)
    midnight = dt.datetime.combine(next_day, dt.time(), tzinfo=timezone.get_current_timezone())
    response = client.get("/api/v1/withdrawn/", {"updated_since": midnight.isoformat()})
    assert response.json()["results"] == []


def test_public_timestamps_come_from_the_public_change_time(client, scenario):
    changed = Organisation.objects.get(pk=scenario.ctu.pk).public_changed_at
    detail = client.get("/api/v1/organisations/hkctu/").json()
    assert detail["updated_at"] == detail["events"][0]["updated_at"]
    assert detail["updated_at"] == changed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_taxonomies_list_every_vocabulary(client, db):
    body = client.get("/api/v1/taxonomies/").json()
    assert {"organisation_types", "statuses", "event_types", "reasons", "confidence"} <= set(body)
    assert {"code": "union"}.items() <= body["organisation_types"][1].items()


def test_schema_and_docs_are_served_without_a_cdn(client, db):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/organisations/" in schema.json()["paths"]
    docs = client.get("/api/v1/docs/").content.decode()
    assert "cdn" not in docs.lower() and "/static/drf_spectacular_sidecar/" in docs


def test_cors_is_open_for_reading_the_api(client, scenario):
    response = client.get("/api/v1/organisations/", HTTP_ORIGIN="https://example.edu")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in client.get(
        "/en/organisations/", HTTP_ORIGIN="https://example.edu"
    )


def test_anonymous_clients_are_throttled_with_retry_after(client, scenario, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    cache.clear()
    statuses = [client.get("/api/v1/organisations/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/export/events.csv")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    cache.clear()


def api_statuses(client, headers_per_request) -> list[int]:
    return [
        client.get("/api/v1/organisations/", headers=headers).status_code
        for headers in headers_per_request
    ]


def test_a_forged_forwarded_for_does_not_reset_the_throttle(
    client, scenario, monkeypatch, settings
):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    # Served directly (the default, NUM_PROXIES unset): no forwarded address is believed.
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    forged = [{"X-Forwarded-For": f"203.0.113.{n}"} for n in range(4)]
    assert api_statuses(client, forged) == [200, 200, 200, 429]


def test_behind_one_proxy_the_throttle_counts_the_address_the_proxy_saw(
    client, scenario, monkeypatch, settings
):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # The proxy appends the address it saw; whatever the client put before it is ignored.
    one_visitor = [{"X-Forwarded-For": f"203.0.113.{n}, 198.51.100.7"} for n in range(4)]
    assert api_statuses(client, one_visitor) == [200, 200, 200, 429]
    another_visitor = [{"X-Forwarded-For": "198.51.100.8"}]
    assert api_statuses(client, another_visitor) == [200]


def test_the_proxy_count_is_read_from_the_environment(settings):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == int(os.environ.get("NUM_PROXIES", "0"))


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic " + base64.b64encode(b"curator:guess-number-1").decode()},
        {"Authorization": "Token abc"},
    ],
    ids=["basic", "token"],
)
def test_the_api_ignores_credentials(client, scenario, curator, headers):
    """A read-only public API is no second door for guessing a curator's password."""
    curator.set_password("guess-number-1")
    curator.save()
    response = client.get("/api/v1/organisations/", headers=headers)
    assert response.status_code == 200
    assert "WWW-Authenticate" not in response


def test_the_api_does_not_read_the_admin_session(client, scenario, admin_user, monkeypatch):
    """Signed-in staff are anonymous to the API: throttled like everyone, never authenticated."""
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    client.force_login(admin_user)
    assert api_statuses(client, [{}] * 4) == [200, 200, 200, 429]


@pytest.mark.parametrize(
    "since", ["0441-11-25T12:39:02-20:15", "0001-01-01T00:00:00+05:00", "2026-01-01T00:00:00Z"]
)
def test_updated_since_takes_any_offset_without_a_server_error(client, scenario, since):
    response = client.get("/api/v1/organisations/", {"updated_since": since})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert "updated_since" in response.json()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/organisations/",
        "/api/v1/events/",
        "/api/v1/sources/",
        "/api/v1/export/{name}",
    ],
)
def test_schema_documents_every_filter_of_the_one_filterset(client, db, path):
    """The parameters come from RegistryFilterSet itself, so a new filter is documented at once."""
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    documented = {parameter["name"] for parameter in schema["paths"][path]["get"]["parameters"]}
    assert set(RegistryFilterSet.base_filters) <= documented


@pytest.mark.parametrize("ordering", ["name", "-name", "latest", "-latest"])
def test_api_ordering_follows_the_listing_across_cursor_pages(client, scenario, ordering):
    listing = RegistryFilterSet(
        QueryDict(f"ordering={ordering}"), queryset=Organisation.objects.public()
    )
    expected = [organisation.slug for organisation in listing.qs]
    seen, url = [], f"/api/v1/organisations/?ordering={ordering}&page_size=1"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(expected)
    if ordering.endswith("name"):
        assert seen == expected


def test_concurrent_first_schema_requests_all_get_the_same_schema(db):
    RegistrySchemaView._schemas.clear()

    def fetch(_):
        return Client().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(fetch, range(8)))
    assert {response.status_code for response in responses} == {200}
    assert len({response.content for response in responses}) == 1

"""Public caches keyed by the data version: never stale after a public change; 304s.

Each public change is made the way curators make it (services, the admin, an import), then
the same public URLs are asked again: counts and pages must show the change at once.
"""

import datetime as dt
import re

import pytest
from django.http import QueryDict
from django.test import Client

from closures import caching, services
from closures.filters import RegistryFilterSet
from closures.models import Event, Organisation, OrganisationType, RegistryVersion, ReviewState
from closures.services import import_registry

LIST = "/en/organisations/"
UNIONS = f"{LIST}?org_type=union"
HEADING = re.compile(r'id="results-heading">(\d+) organisation')


@pytest.fixture
def admin_client(admin_user, staff_login):
    """A superuser signed into the admin with both factors, beside the anonymous `client`."""
    signed_in = Client()
    staff_login(signed_in, admin_user)
    return signed_in


def listed(client, url=LIST) -> int:
    """The count the listing states, read from the page a visitor gets."""
    response = client.get(url)
    assert response.status_code == 200
    return int(HEADING.search(response.content.decode()).group(1))


def union_facet(request_data: str = "") -> int:
    """The union count of the type facet, as the listing computes (and caches) it."""
    filterset = RegistryFilterSet(QueryDict(request_data), queryset=Organisation.objects.public())
    assert filterset.is_valid()
    return filterset.facet_counts()["org_type"].get(OrganisationType.UNION, 0)


@pytest.fixture
def public_union(make_public_organisation):
    return make_public_organisation(name_en="Public Union", org_type=OrganisationType.UNION)


@pytest.fixture
def draft_union(make_organisation, make_event):
    organisation = make_organisation(name_en="Draft Union", org_type=OrganisationType.UNION)
    make_event(organisation, review_state=ReviewState.DRAFT)
    return organisation


def test_publishing_shows_at_once_in_counts_and_pages(
    client, public_union, draft_union, curator, reviewer
):
    assert (listed(client), listed(client, UNIONS), union_facet()) == (1, 1, 1)
    services.submit_for_review(record=draft_union, user=curator)
    services.publish(record=draft_union, user=reviewer)
    assert (listed(client), listed(client, UNIONS), union_facet()) == (2, 2, 2)
    assert client.get(draft_union.get_absolute_url()).status_code == 200


@pytest.mark.parametrize("step", ["embargo", "withdraw", "embargo_event"])
def test_hiding_a_record_shows_at_once_in_counts_and_pages(
    client, public_union, make_public_organisation, reviewer, step
):
    make_public_organisation(name_en="Other Union", org_type=OrganisationType.UNION)
    page = client.get(public_union.get_absolute_url())
    assert page.status_code == 200
    assert b"Public Union" in client.get(LIST).content
    assert (listed(client), listed(client, UNIONS), union_facet()) == (2, 2, 2)
    if step == "embargo":
        services.set_embargo(record=public_union, user=reviewer, reason="Names a detainee")
    elif step == "withdraw":
        services.withdraw(record=public_union, user=reviewer, reason="Duplicate record")
    else:
        event = public_union.events.get()
        services.set_embargo(record=event, user=reviewer, reason="Source at risk")
    assert (listed(client), listed(client, UNIONS), union_facet()) == (1, 1, 1)
    assert b"Public Union" not in client.get(LIST).content
    assert b"Public Union" not in client.get("/en/").content
    assert b"Public Union" not in client.get("/en/feed/").content
    assert client.get(public_union.get_absolute_url()).status_code in (404, 410)


def test_deleting_in_the_admin_shows_at_once(client, admin_client, public_union):
    assert listed(client) == 1
    assert b"Public Union" in client.get("/en/").content
    url = f"/admin/closures/organisation/{public_union.pk}/delete/"
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/closures/organisation/"
    assert not Organisation.objects.filter(pk=public_union.pk).exists()
    assert listed(client) == 0
    assert union_facet() == 0
    assert b"Public Union" not in client.get("/en/").content


def test_editing_a_public_record_in_the_admin_shows_at_once(client, admin_client, public_union):
    assert b"Public Union" in client.get(LIST).content
    response = admin_client.post(
        f"/admin/closures/organisation/{public_union.pk}/change/",
        {
            "slug": public_union.slug,
            "name_en": "Renamed Union",
            "name_zh": public_union.name_zh,
            "org_type": public_union.org_type,
            "aliases-TOTAL_FORMS": "0",
            "aliases-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert b"Renamed Union" in client.get(LIST).content
    assert b"Renamed Union" in client.get(public_union.get_absolute_url()).content


def test_importing_shows_at_once(client, public_union):
    assert listed(client, UNIONS) == 1
    row = {
        "id": "imported-union-disbanded",
        "organisation_id": "imported-union",
        "name_en": "Imported Union",
        "name_zh": "匯入工會",
        "org_type": "union",
        "event_type": "disbanded",
        "announced_date": "2021-10",
        "reason_category": "nsl_pressure",
        "source_url": "https://news.example.org/imported-union",
        "source_publisher": "Example News",
        "source_title": "Imported union disbands",
        "confidence": "medium",
    }
    import_registry(rows=[row], review_state=ReviewState.PUBLISHED)
    assert (listed(client), listed(client, UNIONS), union_facet()) == (2, 2, 2)
    assert b"Imported Union" in client.get("/en/").content


def test_changes_the_public_cannot_see_leave_the_version_and_its_time_alone(
    public_union, draft_union, curator, reviewer
):
    before = RegistryVersion.current()
    services.submit_for_review(record=draft_union, user=curator)
    services.set_embargo(record=draft_union, user=reviewer, reason="Names a detainee")
    services.publish(record=draft_union, user=reviewer)  # published, but under embargo
    import_registry(
        rows=[
            {
                "id": "quiet-disbanded",
                "organisation_id": "quiet",
                "name_en": "Quiet Draft",
                "org_type": "union",
                "event_type": "disbanded",
                "announced_date": "2021",
                "source_url": "https://news.example.org/quiet",
                "confidence": "medium",
            }
        ],
        review_state=ReviewState.DRAFT,
    )
    after = RegistryVersion.current()
    assert (after.number, after.changed_at) == (before.number, before.changed_at)
    services.lift_embargo(record=draft_union, user=reviewer)
    assert RegistryVersion.current().number > before.number


def test_every_version_is_dated_a_whole_second_after_the_last(db):
    first = RegistryVersion.current()
    RegistryVersion.bump()
    RegistryVersion.bump()
    third = RegistryVersion.current()
    assert third.number == first.number + 2
    assert int(third.changed_at.timestamp()) >= int(first.changed_at.timestamp()) + 2


# --- Conditional requests ----------------------------------------------------------------

CONDITIONAL_URLS = [
    LIST,
    UNIONS,
    "/en/",
    "/en/feed/",
    "/en/data/",
    "/api/v1/organisations/",
    "/api/v1/export/events.csv",
]


@pytest.mark.parametrize("url", CONDITIONAL_URLS)
def test_unchanged_public_responses_answer_304_until_a_public_change(
    client, public_union, draft_union, curator, reviewer, url
):
    first = client.get(url)
    assert first.status_code == 200
    etag, last_modified = first["ETag"], first["Last-Modified"]
    assert "public" in first["Cache-Control"] and "max-age=" in first["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again["ETag"] == etag
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    services.submit_for_review(record=draft_union, user=curator)
    services.publish(record=draft_union, user=reviewer)
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 200


UNION_EVENTS = "/api/v1/export/events.csv?org_type=union"


def test_a_filtered_export_is_kept_for_its_version_and_follows_each_change(
    client, public_union, draft_union, curator, reviewer
):
    streamed = client.get(UNION_EVENTS)
    streamed_body = streamed.getvalue()
    assert streamed.streaming and b"Public Union" in streamed_body
    kept = client.get(UNION_EVENTS)
    assert not kept.streaming and kept.content == streamed_body
    assert kept["Content-Type"] == streamed["Content-Type"]
    assert kept["Content-Disposition"] == streamed["Content-Disposition"]
    services.submit_for_review(record=draft_union, user=curator)
    services.publish(record=draft_union, user=reviewer)
    assert b"Draft Union" in client.get(UNION_EVENTS).getvalue()
    services.set_embargo(record=public_union, user=reviewer, reason="Names a detainee")
    assert b"Public Union" not in client.get(UNION_EVENTS).getvalue()
    assert b"Draft Union" in client.get(UNION_EVENTS).getvalue()


def test_an_export_larger_than_kept_streams_every_time(client, public_union, monkeypatch):
    monkeypatch.setattr(caching, "EXPORT_KEPT_BYTES", 10)
    first = client.get(UNION_EVENTS).getvalue()
    assert b"Public Union" in first
    again = client.get(UNION_EVENTS)
    assert again.streaming and again.getvalue() == first


def test_record_page_answers_304_and_follows_an_embargo(client, public_union, reviewer):
    url = public_union.get_absolute_url()
    etag = client.get(url)["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    services.set_embargo(record=public_union, user=reviewer, reason="Names a detainee")
    # Once public, now embargoed: "no longer public", never the cached page.
    hidden = client.get(url, headers={"If-None-Match": etag})
    assert hidden.status_code == 410
    assert "Names a detainee" not in hidden.content.decode()


def test_languages_have_their_own_tags(client, public_union):
    english = client.get("/api/v1/organisations/", headers={"Accept-Language": "en"})
    chinese = client.get("/api/v1/organisations/", headers={"Accept-Language": "zh-hant"})
    assert english["ETag"] != chinese["ETag"]
    assert "Accept-Language" in english["Vary"]


def test_signed_in_users_and_the_admin_are_never_publicly_cacheable(
    client, admin_client, public_union
):
    for url in (LIST, "/api/v1/organisations/"):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert "ETag" not in response and "public" not in response.get("Cache-Control", "")
    admin_page = admin_client.get("/admin/closures/organisation/")
    assert "public" not in admin_page.get("Cache-Control", "")
    assert "ETag" not in admin_page


def test_cached_page_is_the_page(client, public_union):
    first = client.get(LIST)
    second = client.get(LIST)
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]


# --- Facet counts: one grouped pass gives what one query per option gives -----------------

FACET_QUERIES = [
    "",
    "q=Union",
    "q=Union&org_type=union&status=disbanded",
    "org_type=union",
    "org_type=union&status=disbanded&reason=legal_risk",
    "year=2021",
    "event_type=disbanded&country=TW",
    "country=GB&year=2022&org_type=ngo",
]


def reference_counts(data: str) -> dict[str, dict[str, int]]:
    """Each option counted on its own: the organisations a click on it would give."""
    filterset = RegistryFilterSet(QueryDict(data), queryset=Organisation.objects.public())
    counts = {}
    for name, field in RegistryFilterSet.ORGANISATION_FACETS.items():
        other = filterset.without(name)
        assert other.is_valid()
        values = other.qs.values_list(field, flat=True)
        counts[name] = {value: other.qs.filter(**{field: value}).count() for value in set(values)}
    for name, field in RegistryFilterSet.EVENT_FACETS.items():
        other = filterset.without(name)
        assert other.is_valid()
        events = other.filter_events(Event.objects.public())
        if name == "year":
            years = {day.year for day in events.values_list("occurred_from", flat=True) if day}
            counts[name] = {
                str(year): events.filter(occurred_from__year=year)
                .values("organisation")
                .distinct()
                .count()
                for year in years
            }
            continue
        values = {value for value in events.values_list(field, flat=True) if value}
        counts[name] = {
            str(value): events.filter(**{field: value}).values("organisation").distinct().count()
            for value in values
        }
    return counts


@pytest.mark.parametrize("data", FACET_QUERIES)
def test_grouped_facet_counts_equal_one_count_per_option(make_public_organisation, data):
    for number, (org_type, country, year) in enumerate(
        [
            ("union", "TW", 2021),
            ("union", "GB", 2022),
            ("ngo", "GB", 2022),
            ("ngo", "", 2021),
            ("media", "TW", 2021),
        ]
    ):
        organisation = make_public_organisation(
            name_en=f"Union {number}" if org_type == "union" else f"Group {number}",
            org_type=org_type,
            event={
                "effective_on": dt.date(year, 1 + number, 1),
                "destination_country": country,
                "event_type": "relocated" if country else "disbanded",
            },
        )
        organisation.events.get().reasons.add("legal_risk" if number % 2 else "financial")
        # As the event form's save does: the stored facet values follow.
        services.refresh_organisation(organisation_id=organisation.pk)
    filterset = RegistryFilterSet(QueryDict(data), queryset=Organisation.objects.public())
    assert filterset.is_valid()
    computed = {
        name: {k: v for k, v in facet.items() if v}
        for name, facet in filterset.count_facets().items()
    }
    expected = {
        name: {k: v for k, v in facet.items() if v}
        for name, facet in reference_counts(data).items()
    }
    assert computed == expected


@pytest.mark.parametrize(
    "url", ["/api/v1/organisations/", "/api/v1/events/", "/api/v1/organisations/?org_type=union"]
)
def test_api_reads_show_a_publish_at_once(
    client, public_union, draft_union, curator, reviewer, url
):
    slug = f'"{draft_union.slug}"'.encode()
    assert slug not in client.get(url).content
    assert slug not in client.get(url).content  # now from the cache
    services.submit_for_review(record=draft_union, user=curator)
    services.publish(record=draft_union, user=reviewer)
    assert slug in client.get(url).content


def test_requests_with_credentials_are_not_publicly_cacheable(client, public_union):
    response = client.get("/api/v1/organisations/", headers={"Authorization": "Token abc"})
    assert "ETag" not in response and "public" not in response.get("Cache-Control", "")

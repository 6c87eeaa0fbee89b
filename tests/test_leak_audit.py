"""The embargo leak audit: every public channel, walked as an anonymous visitor.

One registry holds an embargoed organisation, an unpublished draft, an embargoed event (with a
source only it cites) on a published organisation, and sensitive notes; it is imported,
embargoed and published through the services, once for the module. Each channel below is
fetched and searched for every marker of those; counts are checked against the one record
and the one event the public may see. A new public channel must be added to CHANNELS.
"""

import csv
import io
import json
import zipfile
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.html import escape

from closures import services
from closures.models import Event, Organisation
from closures.releases import build_release

from .scenario import import_drafts, spreadsheet_row, submit_and_publish

# Text that exists only in hidden records or fields: none of it may reach the public.
MARKERS = [
    "embargoed-secret",
    "Embargoed Secret Union",
    "機密工會",
    "draft-hidden",
    "Draft Hidden Group",
    "草稿團體",
    "embargoed-event-uid",
    "Secretcity",
    "Hidden reason for leaving",
    "隱藏原因",
    "secret.example.org",
    "Secret Source Title",
    "Sensitive note naming a person",
    "Members at risk of arrest",
    "Event embargo reason",
    "New Zealand",
]
VISIBLE = {
    "organisation_id": "visible-org",
    "name_en": "Visible Teachers Association",
    "name_zh": "公開教師協會",
    "org_type": "professional_body",
}


LEAK_ROWS = [
    spreadsheet_row(
        {
            "organisation_id": "embargoed-secret",
            "name_en": "Embargoed Secret Union",
            "name_zh": "機密工會",
            "org_type": "union",
        },
        "embargoed-secret-disbanded",
        effective_date="2021-07-01",
        stated_reason="Hidden reason for leaving",
        stated_reason_zh="隱藏原因",
    ),
    spreadsheet_row(
        {
            "organisation_id": "draft-hidden",
            "name_en": "Draft Hidden Group",
            "name_zh": "草稿團體",
            "org_type": "political_group",
        },
        "draft-hidden-disbanded",
        effective_date="2021-07-01",
        stated_reason="Hidden reason for leaving",
    ),
    spreadsheet_row(VISIBLE, "visible-org-disbanded", effective_date="2021-08-10"),
    spreadsheet_row(
        VISIBLE,
        "embargoed-event-uid",
        event_type="relocated",
        effective_date="2022-03-01",
        destination_country="NZ",
        destination_city="Secretcity",
        stated_reason="Hidden reason for leaving",
        stated_reason_zh="隱藏原因",
        reason_category="nsl_pressure",
        source_url="https://secret.example.org/report",
        source_title="Secret Source Title",
    ),
]


def build_leak_world() -> int:
    """Import, embargo before anything is public, then review and publish, as curators do."""
    users = get_user_model().objects
    curator = users.create_user("leak-curator", is_staff=True)
    curator.groups.add(Group.objects.get(name="Curators"))
    reviewer = users.create_user("leak-reviewer", is_staff=True)
    reviewer.groups.add(Group.objects.get(name="Reviewers"))
    import_drafts(LEAK_ROWS, curator=curator)
    visible = Organisation.objects.get(slug="visible-org")
    visible.notes, visible.notes_sensitive = "Sensitive note naming a person", True
    visible.save()
    services.set_embargo(
        record=Organisation.objects.get(slug="embargoed-secret"),
        user=reviewer,
        reason="Members at risk of arrest",
    )
    services.set_embargo(
        record=Event.objects.get(uid="embargoed-event-uid"),
        user=reviewer,
        reason="Event embargo reason",
    )
    submit_and_publish("embargoed-secret", curator=curator, reviewer=reviewer)
    visible = submit_and_publish("visible-org", curator=curator, reviewer=reviewer)
    assert list(Organisation.objects.public()) == [visible]
    assert visible.events.count() == 2 and Event.objects.public().count() == 1
    return visible.pk


@pytest.fixture(scope="module")
def leak_world(django_db_setup, django_db_blocker):
    """Built once for the module in a transaction rolled back after its last test; each test
    runs in a savepoint inside it, so no test sees another's writes and no module sees these."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_leak_world()
        transaction.set_rollback(True)


@pytest.fixture
def registry(leak_world, db):
    return Organisation.objects.get(pk=leak_world)


def read(response) -> str:
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    if body[:2] == b"PK":  # a zip: read every member
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
            )
    return body.decode("utf-8", "replace")


def assert_no_marker(text: str, where: str):
    leaked = [marker for marker in MARKERS if marker.lower() in text.lower()]
    assert not leaked, f"{where} shows {leaked}"


# Every public channel, in both languages where it has a language.
PAGES = ["/en/organisations/", "/zh-hant/organisations/"]
FILTERS = [
    "event_type=relocated",
    "country=NZ",
    "reason=nsl_pressure",
    "year=2022",
    "date_from=2022-01-01",
    "status=relocated",
    "org_type=union",
    "org_type=political_group",
    "ordering=-latest",
]
SEARCHES = [f"q={marker}" for marker in MARKERS]
# Hidden records' own addresses are compared with unknown ones below, since a 404 page
# rightly repeats the address the visitor typed.
RECORDS = [
    "/en/organisations/visible-org/",
    "/zh-hant/organisations/visible-org/",
]
SITE = [
    "/en/",
    "/zh-hant/",
    "/en/about/",
    "/zh-hant/about/",
    "/en/data/",
    "/en/feed/",
    "/zh-hant/feed/",
    "/sitemap.xml",
    "/robots.txt",
    "/en/no-such-page/",
]
API = [
    "/api/v1/organisations/",
    "/api/v1/organisations/visible-org/",
    "/api/v1/events/",
    "/api/v1/sources/",
    "/api/v1/withdrawn/",
    "/api/v1/taxonomies/",
    "/api/v1/releases/",
    "/api/v1/schema/",
    "/api/v1/organisations/embargoed-secret/",
    "/api/v1/events/embargoed-event-uid/",
]
EXPORTS = [
    f"/api/v1/export/{name}"
    for name in (
        "events.csv",
        "events.json",
        "events.ndjson",
        "organisations.csv",
        "sources.csv",
        "coverage.csv",
    )
]
# Other trackers beside the registry (issue 17); the tracker list is in `tracker_listings`.
COVERAGE = [
    "/en/coverage/",
    "/zh-hant/coverage/",
    "/api/v1/trackers/",
    "/api/v1/trackers/leak-tracker/",
]
CHANNELS = [
    *PAGES,
    *COVERAGE,
    *RECORDS,
    *SITE,
    *API,
    *EXPORTS,
    *(f"/en/organisations/?{query}" for query in FILTERS + SEARCHES),
    *(
        f"/api/v1/{kind}/?{query}"
        for kind in ("organisations", "events", "sources")
        for query in FILTERS + SEARCHES
    ),
    *(f"{export}?{query}" for export in EXPORTS for query in FILTERS),
]


# Leaks the audit has found and the code does not yet prevent: strict, so a fix turns them red
# until the mark is removed.
KNOWN_LEAKS = {
    "/api/v1/withdrawn/": (
        "publish() sets first_published_at on an embargoed record, so withdrawn/ announces the "
        "ID of a record the public never saw"
    ),
}


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(url, marks=pytest.mark.xfail(strict=True, reason=KNOWN_LEAKS[url]))
        if url in KNOWN_LEAKS
        else url
        for url in CHANNELS
    ],
)
def test_no_hidden_content_in_any_public_channel(client, registry, url):
    response = client.get(url)
    assert response.status_code in (200, 400, 404, 410), url
    assert_no_marker(without_echo(read(response), url), url)


def without_echo(text: str, url: str) -> str:
    """Drop the visitor's own search terms, which a page rightly shows back to them."""
    query = parse_qs(urlsplit(url).query).get("q", [""])[0]
    if not query:
        return text
    for form in {query, escape(query), quote_plus(query), quote(query)}:
        text = text.replace(form, "")
    return text


@pytest.mark.parametrize("query", FILTERS + SEARCHES + [""])
def test_listing_counts_only_the_public_record(client, registry, query):
    response = client.get(f"/en/organisations/?{query}")
    organisations = list(response.context["page_obj"].paginator.object_list)
    assert set(organisations) <= {registry}
    # The visible record is found only through its public event, never its embargoed one.
    if query in ("event_type=relocated", "country=NZ", "year=2022", "date_from=2022-01-01"):
        assert organisations == []


@pytest.mark.parametrize("slug", ["embargoed-secret", "draft-hidden"])
@pytest.mark.parametrize("language", ["en", "zh-hant"])
def test_a_hidden_record_answers_exactly_as_a_record_that_never_existed(
    client, registry, slug, language
):
    """No status, header or byte tells a hidden record from an unknown address."""
    hidden = client.get(f"/{language}/organisations/{slug}/")
    unknown = client.get(f"/{language}/organisations/never-existed/")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.content.replace(slug.encode(), b"SLUG") == unknown.content.replace(
        b"never-existed", b"SLUG"
    )


def test_the_audit_catches_a_marker_inside_json():
    # A check that cannot fail proves nothing: a marker nested in JSON must be caught.
    text = json.dumps({"results": [{"name": "Embargoed Secret Union"}]})
    with pytest.raises(AssertionError):
        assert_no_marker(text, "sample")


def test_no_hidden_content_in_a_release_package(client, registry, settings, tmp_path):
    settings.RELEASES_DIR = tmp_path
    release = build_release()
    package = read(client.get(release.get_download_url()))
    assert "visible-org" in package  # the audit reads the package's files
    assert_no_marker(package, "release package")
    assert release.counts == {**release.counts, "organisations": 1, "events": 1}


def test_api_and_export_counts_hold_only_the_public_record(client, registry):
    organisations = client.get("/api/v1/organisations/").json()["results"]
    events = client.get("/api/v1/events/").json()["results"]
    assert [row["id"] for row in organisations] == ["visible-org"]
    assert len(events) == 1 and events[0]["event_type"] == "disbanded"
    rows = read(client.get("/api/v1/export/events.csv")).strip().splitlines()
    assert len(rows) == 2  # header and the one public event


def test_overview_figures_count_only_the_public_record(client, registry):
    response = client.get("/en/")
    text = read(response)
    assert_no_marker(text, "overview")
    # The figures behind the charts, not only their rendering, leave the hidden event out.
    figures = repr([context.flatten() for context in response.context])
    assert "'NZ'" not in figures and "New Zealand" not in figures


# --- Other trackers (issue 17) ---------------------------------------------------------------

TRACKER_LIST = [
    # (position, name as the tracker lists it, the registry ID the tracker file gives)
    ("1", "Visible Teachers Association", "visible-org"),
    ("2", "A union as one tracker lists it", "embargoed-secret"),
    ("3", "A group as one tracker lists it", "draft-hidden"),
]


@pytest.fixture(autouse=True)
def tracker_listings(request, tmp_path):
    """Whenever the audit's registry exists, a tracker lists its public and hidden records.

    The tracker's own names are public facts and may be shown; that the registry holds a
    record for them, its ID and its names may not.
    """
    if "registry" not in request.fixturenames:
        return
    request.getfixturevalue("registry")
    from closures.models import EntryDecision, TrackerEntry
    from closures.tracker_import import ENTRY_COLUMNS, TRACKER_COLUMNS, import_trackers

    directory = tmp_path / "trackers"
    directory.mkdir()
    tracker = dict.fromkeys(TRACKER_COLUMNS, "")
    tracker.update(
        tracker_id="leak-tracker",
        title="A list of closed groups",
        publisher="Example Post",
        url="https://news.example.org/list",
        claimed_count="3",
        entries_read="3",
        completeness="full",
    )
    entries = [
        {
            **dict.fromkeys(ENTRY_COLUMNS, ""),
            "tracker_id": "leak-tracker",
            "position": position,
            "name_as_listed": name,
            "organisation_id": slug,
        }
        for position, name, slug in TRACKER_LIST
    ]
    for name, columns, rows in (
        ("trackers.csv", TRACKER_COLUMNS, [tracker]),
        ("leak-tracker.csv", ENTRY_COLUMNS, entries),
    ):
        with (directory / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    import_trackers(directory=directory)
    # Curators see all three matches; the public must see only the first.
    assert TrackerEntry.objects.filter(decision=EntryDecision.MATCHED).count() == 3


def test_a_hidden_match_shows_as_not_yet_in_this_registry_everywhere(client, registry):
    page = client.get("/en/coverage/")
    tracker = page.context["trackers"][0]
    assert (tracker.entries_read, tracker.in_registry, tracker.not_in_registry) == (3, 1, 2)
    assert page.context["registry_count"] == 1
    missing = [group.name for group in page.context["missing"]]
    assert sorted(missing) == ["A group as one tracker lists it", "A union as one tracker lists it"]

    api = client.get("/api/v1/trackers/leak-tracker/").json()
    assert (api["in_registry"], api["not_in_registry"]) == (1, 2)
    assert [(e["status"], e["organisation"]) for e in api["entries"]] == [
        ("in_registry", "visible-org"),
        ("not_in_registry", None),
        ("not_in_registry", None),
    ]
    rows = list(csv.DictReader(io.StringIO(read(client.get("/api/v1/export/coverage.csv")))))
    assert [(row["status"], row["organisation_id"]) for row in rows] == [
        ("in_registry", "visible-org"),
        ("not_in_registry", ""),
        ("not_in_registry", ""),
    ]
    # The two hidden matches are not grouped together or apart from other gaps by their record.
    for text in (read(page), json.dumps(api), read(client.get("/api/v1/export/coverage.csv"))):
        assert_no_marker(text, "coverage")


def test_a_public_record_page_lists_its_trackers_and_only_its_own(client, registry):
    text = read(client.get("/en/organisations/visible-org/"))
    assert "Example Post" in text and "no. 1" in text
    assert "A union as one tracker lists it" not in text

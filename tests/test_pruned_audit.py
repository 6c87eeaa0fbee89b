"""Differential embargo audit: the registry answers exactly as a copy without its hidden records.

The marker audit (`test_leak_audit`) looks for known secret text. This one needs no list of
secrets: it loads the curated data through the import path, gives records every fate a record
can have (published, draft, in review, embargoed before it was ever public, embargoed or
withdrawn after it was, events embargoed on public records) through the services, and writes
curator notes everywhere. It then asks every public channel the same questions twice: of the
registry as it is, and of the same database with every hidden record deleted and every private
field emptied (`prune_to_public`), the world an outsider would build from what was published.
Any difference in status, body or validator headers is a leak: a count, a chart bar, a facet,
an order, a page size, a time. Only the documented tombstones (once-public records that are no
longer public: names, date and, if a reviewer marked it public, the withdrawal reason) stay in
the pruned copy, as the README says they must.
"""

import csv
import datetime as dt
import zipfile
from pathlib import Path
from unittest.mock import patch
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings
from rest_framework.throttling import SimpleRateThrottle

from closures import services
from closures.models import (
    Alias,
    Citation,
    EntryDecision,
    Event,
    EventType,
    Organisation,
    OrganisationType,
    ReasonCategory,
    ReviewState,
    Source,
    Status,
    Tracker,
    TrackerEntry,
)
from closures.releases import build_release
from closures.tracker_import import import_trackers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# What happens to the n-th record (sorted by ID), so each fate befalls several records of
# several types; the rest are published as they are.
FATES = {
    0: "never public: embargoed, then published",
    1: "draft",
    2: "in review",
    3: "public, then embargoed",
    4: "public, then withdrawn with a public reason",
    5: "public, one event embargoed",
    6: "public, then withdrawn with a private reason",
    7: "public, its latest event withdrawn",
}
NOTE = "Curator note: names a person at risk"


def staff(username: str, group: str):
    user = get_user_model().objects.create_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def build_world() -> None:
    """The curated data, imported as drafts, then given each fate through the services."""
    curator, reviewer = staff("audit-curator", "Curators"), staff("audit-reviewer", "Reviewers")
    with (FIXTURES / "registry.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    services.import_registry(rows=rows, user=curator, reason="Curated data")
    organisations = Organisation.objects.order_by("slug")
    several_events = [org for org in organisations if org.events.count() > 1]
    # Records with several events take the event-level fates (and some others) in turn.
    fates = {org.pk: (5, 7, 3, 9)[index % 4] for index, org in enumerate(several_events)}
    single = [org for org in organisations if org.pk not in fates]
    fates |= {org.pk: index % 10 for index, org in enumerate(single)}
    for organisation in organisations:
        fate = fates[organisation.pk]
        if fate == 1:
            continue
        services.submit_for_review(record=organisation, user=curator)
        if fate == 2:
            continue
        if fate == 0:
            services.set_embargo(record=organisation, user=reviewer, reason="At risk")
        events = list(organisation.events.chronological())
        if fate == 5 and len(events) > 1:
            services.set_embargo(record=events[0], user=reviewer, reason="Staff at risk")
        organisation = services.publish(record=organisation, user=reviewer)
        if fate == 3:
            services.set_embargo(record=organisation, user=reviewer, reason="Now at risk")
        elif fate in (4, 6):
            services.withdraw(
                record=organisation,
                user=reviewer,
                reason=f"Withdrawn: duplicate record ({fate})",
                reason_zh=f"撤回：重複紀錄（{fate}）",
                reason_public=fate == 4,
            )
        elif fate == 7 and len(events) > 1:
            services.withdraw(record=events[-1], user=reviewer, reason="Source retracted")
    notes = {"curator_note": NOTE}
    Organisation.objects.update(**notes)
    Event.objects.update(**notes)
    import_trackers(directory=FIXTURES / "trackers")
    TrackerEntry.objects.update(**notes)


def prune_to_public() -> None:
    """Delete what the public never sees and empty private fields: the outsider's copy.

    Raw queryset writes, not the services: the copy must not move the data version, so
    validators (ETag, Last-Modified) compare too. Tombstones keep only their row and history.
    """
    public = set(Organisation.objects.public().values_list("pk", flat=True))
    tombstones = set(Organisation.objects.no_longer_public().values_list("pk", flat=True))
    hidden = Organisation.objects.exclude(pk__in=public | tombstones)
    TrackerEntry.objects.exclude(organisation_id__in=public).exclude(organisation=None).update(
        organisation=None, decision=EntryDecision.NOT_IN_REGISTRY
    )
    Organisation.objects.filter(parent_organisation__in=hidden).update(parent_organisation=None)
    hidden_events = Event.objects.exclude(pk__in=Event.objects.public())
    Event.history.exclude(id__in=list(Event.objects.public().values_list("pk", flat=True))).delete()
    Citation.history.exclude(event_id__in=Event.objects.public().values("pk")).delete()
    hidden_events.delete()
    unused_sources = Source.objects.exclude(pk__in=Citation.objects.values("source"))
    Source.history.exclude(id__in=Citation.objects.values("source")).delete()
    unused_sources.delete()
    Alias.objects.filter(organisation__in=hidden).delete()
    Organisation.history.exclude(id__in=list(public | tombstones)).delete()
    hidden.delete()
    private = {"curator_note": "", "embargo_reason": "", "embargo_review_on": None}
    for model in (Organisation, Event):
        model.objects.update(submitted_by=None, **private)
        model.history.update(**private)
    hidden_reasons = {"withdrawn_reason": "", "withdrawn_reason_zh": ""}
    Organisation.objects.filter(withdrawn_reason_public=False).update(**hidden_reasons)
    Organisation.history.filter(withdrawn_reason_public=False).update(**hidden_reasons)
    TrackerEntry.objects.update(curator_note="")


LANGUAGES = ("en", "zh-hant")
SITE = [
    *(f"/{language}/{page}" for language in LANGUAGES for page in ("", "about/", "data/")),
    *(f"/{language}/{page}" for language in LANGUAGES for page in ("coverage/", "feed/")),
    "/en/organisations/no-such-record/",
    "/sitemap.xml",
    "/robots.txt",
    "/api/v1/withdrawn/",
    "/api/v1/taxonomies/",
    "/api/v1/releases/",
    "/api/v1/schema/",
    "/api/v1/trackers/",
    "/api/v1/export/coverage.csv",
]
EXPORTS = ("events.csv", "events.json", "events.ndjson", "organisations.csv", "sources.csv")


def filter_queries() -> list[str]:
    """Every value of every filter, hidden records' values included, and their searches."""
    events = Event.objects.all()
    hidden = Organisation.objects.exclude(pk__in=Organisation.objects.public())
    words = {
        word
        for organisation in hidden
        for word in (organisation.name_en, organisation.name_zh, organisation.acronym)
        if word
    }
    words |= {"union", "工會", "香港", "Taiwan", "security law", "國安法"}
    countries = set(
        events.exclude(destination_country="").values_list("destination_country", flat=True)
    )
    years = {
        day.year
        for day in events.exclude(occurred_from=None).values_list("occurred_from", flat=True)
    }
    return [
        "",
        *(f"org_type={value}" for value in OrganisationType.values),
        *(f"status={value}" for value in Status.values),
        *(f"event_type={value}" for value in EventType.values),
        *(f"reason={value}" for value in ReasonCategory.values),
        *(f"country={code}" for code in sorted(countries)),
        *(f"year={year}" for year in sorted(years)),
        "date_from=2021-01-01&date_to=2021-06-30",
        "date_from=2024-03-19",
        "org_type=union&event_type=disbanded&year=2021",
        "ordering=name",
        "ordering=-latest",
        *(f"page={page}" for page in range(2, 8)),
        *(urlencode({"q": word}) for word in sorted(words)),
    ]


def channel_urls() -> list[str]:
    """Every public address, asked of the full registry: hidden IDs and values included.

    Addresses by ID are asked for every record that is not public and every third public
    one: a public record's own page is the same page in both copies unless something hidden
    shows through it, which its neighbours in the listings would show as well.
    """
    public = set(Organisation.objects.public().values_list("pk", flat=True))
    slugs = [
        slug
        for index, (pk, slug) in enumerate(
            Organisation.objects.order_by("slug").values_list("pk", "slug")
        )
        if pk not in public or index % 3 == 0
    ]
    public_events = set(Event.objects.public().values_list("pk", flat=True))
    uids = [
        uid
        for index, (pk, uid) in enumerate(Event.objects.order_by("uid").values_list("pk", "uid"))
        if pk not in public_events or index % 3 == 0
    ]
    public_sources = set(Source.objects.public().values_list("pk", flat=True))
    sources = [
        uid
        for index, (pk, uid) in enumerate(Source.objects.order_by("uid").values_list("pk", "uid"))
        if pk not in public_sources or index % 5 == 0
    ]
    queries = filter_queries()
    moments = sorted(
        {
            moment
            for model in (Organisation, Event)
            for moment in model.objects.values_list("updated_at", flat=True)
        }
    )
    since = [
        urlencode({"updated_since": moment.isoformat()})
        for moment in moments[:: max(1, len(moments) // 12)]
    ]
    urls = [
        *SITE,
        *(f"/{language}/organisations/{slug}/" for language in LANGUAGES for slug in slugs),
        *(f"/api/v1/organisations/{slug}/" for slug in slugs),
        *(f"/api/v1/events/{uid}/" for uid in uids),
        *(f"/api/v1/sources/{uid}/" for uid in sources),
        *(f"/{language}/organisations/?{query}" for language in LANGUAGES for query in queries),
        *(f"/api/v1/{kind}/?{query}" for kind in ("organisations", "events") for query in queries),
        *(
            f"/api/v1/{kind}/?{query}"
            for kind in ("organisations", "events", "withdrawn")
            for query in since
        ),
        *(f"/api/v1/export/{name}?{query}" for name in EXPORTS for query in queries[::4]),
        *(f"/api/v1/trackers/{slug}/" for slug in Tracker.objects.values_list("slug", flat=True)),
    ]
    return list(dict.fromkeys(urls))


# What a response says: its status, its body and the headers that describe the data.
COMPARED_HEADERS = ("Content-Type", "Content-Disposition", "ETag", "Last-Modified", "Location")


def answer(client: Client, url: str) -> tuple:
    response = client.get(url)
    body = (
        b"".join(response.streaming_content)
        if getattr(response, "streaming", False)
        else response.content
    )
    return (response.status_code, tuple(response.get(name) for name in COMPARED_HEADERS), body)


def ask_all(urls: list[str]) -> dict[str, tuple]:
    cache.clear()  # the pruned copy keeps the data version: a cached page would hide a leak
    client = Client()
    return {url: answer(client, url) for url in urls}


def release_files(directory: Path) -> dict[str, bytes]:
    """Every file of a release built now, by name: the package as a mirror downloads it."""
    release = build_release(version="2026.1.1", today=dt.date(2026, 1, 1))
    with zipfile.ZipFile(directory / release.filename) as package:
        return {name: package.read(name) for name in package.namelist()}


def differences(full: dict, pruned: dict) -> list[str]:
    """One line per address whose answer differs, with the bytes around the first difference."""
    found = []
    for url, (status, headers, body) in full.items():
        other_status, other_headers, other_body = pruned[url]
        if (status, headers) != (other_status, other_headers):
            found.append(f"{url}: {status} {headers} against {other_status} {other_headers}")
        elif body != other_body:
            at = next(
                (i for i, (a, b) in enumerate(zip(body, other_body, strict=False)) if a != b),
                min(len(body), len(other_body)),
            )
            found.append(
                f"{url}: bodies differ at byte {at}: {body[max(0, at - 80) : at + 80]!r} "
                f"against {other_body[max(0, at - 80) : at + 80]!r}"
            )
    return found


def unthrottled_reads():
    """Thousands of anonymous reads from one address: the throttle is not under test here."""
    return patch.object(SimpleRateThrottle, "allow_request", lambda self, request, view: True)


@pytest.fixture(autouse=True)
def unthrottled():
    with unthrottled_reads():
        yield


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built and asked once for the module, in a transaction rolled back after its last test.

    Yields the addresses, the full registry's answers and its release's files.
    """
    releases = tmp_path_factory.mktemp("releases")
    with django_db_blocker.unblock(), transaction.atomic():
        build_world()
        urls = channel_urls()
        with override_settings(RELEASES_DIR=releases / "full"), unthrottled_reads():
            answers = ask_all(urls)
            with transaction.atomic():
                package = release_files(releases / "full")
                transaction.set_rollback(True)
        yield urls, answers, package
        transaction.set_rollback(True)


def test_the_world_holds_every_fate(world, db):
    urls, _, _ = world
    public = Organisation.objects.public()
    assert set(Organisation.objects.values_list("review_state", flat=True)) == set(
        ReviewState.values
    )
    assert public.count() > 40
    assert Organisation.objects.no_longer_public().count() > 30
    assert Organisation.objects.filter(embargoed=True, first_published_at=None).exists()
    assert Event.objects.filter(embargoed=True, organisation__in=public).exists()
    assert Event.objects.filter(review_state=ReviewState.WITHDRAWN, organisation__in=public)
    assert TrackerEntry.objects.filter(decision=EntryDecision.MATCHED).exclude(
        organisation__in=public
    )
    assert len(urls) > 1000


def test_every_public_answer_is_the_same_without_the_hidden_records(world, db, settings, tmp_path):
    urls, full, package = world
    tombstones = set(Organisation.objects.no_longer_public())
    prune_to_public()
    assert set(Organisation.objects.exclude(pk__in=Organisation.objects.public())) == tombstones
    assert not Organisation.objects.exclude(curator_note="").exists()
    assert differences(full, ask_all(urls)) == []
    settings.RELEASES_DIR = tmp_path
    assert release_files(tmp_path) == package


def test_the_comparison_sees_a_public_record_go(world, db, settings, tmp_path):
    # It must be able to fail: removing one public record changes counts, lists and pages.
    urls, full, package = world
    gone = next(
        organisation
        for organisation in Organisation.objects.public().order_by("slug")
        if f"/en/organisations/{organisation.slug}/" in urls
    )
    Event.objects.filter(organisation=gone).delete()
    Organisation.objects.filter(pk=gone.pk).update(review_state=ReviewState.DRAFT)
    # Its page and the lists and exports (not every other record's page) tell it is gone.
    asked = [url for url in urls if "?" in url or url.startswith(f"/en/organisations/{gone.slug}/")]
    found = differences({url: full[url] for url in asked}, ask_all(asked))
    assert any(line.startswith(f"/en/organisations/{gone.slug}/:") for line in found)
    assert any(line.startswith("/en/organisations/?org_type=") for line in found)
    assert any(line.startswith("/api/v1/export/events.csv?") for line in found)
    settings.RELEASES_DIR = tmp_path
    assert release_files(tmp_path) != package

"""The curated data v2 as a reader meets it after `make run`: fixtures/registry.csv, published.

The file is imported once for the module (as `make data` does) in a transaction rolled back
after the last test. Every check here is one of issue 14's "done means": curator notes stay
out of every record page, statuses follow their confident sources, the names Hong Kong people
use find their organisations (on SQLite and PostgreSQL alike), Chinese pages read Chinese,
families of records know each other.
"""

import csv
import re
from collections import defaultdict
from pathlib import Path

import pytest
from django.db import transaction
from django.utils.html import escape

from closures.models import Alias, Citation, Event, Organisation, Source, Status
from closures.services import import_registry, read_spreadsheet

ROOT = Path(__file__).resolve().parent.parent
CURATED = ROOT / "fixtures" / "registry.csv"
REMOVAL_NOTICE_ONLY = [
    "scholarism",
    "people-power",
    "tsw-livelihood-platform",
    "shatin-community-network",
    "kowloon-city-big-small-matters",
    "tko-youth-power",
]


def curated_csv_rows() -> list[dict]:
    with open(CURATED, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def curated(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield import_registry(rows=read_spreadsheet(CURATED), review_state="published")
        transaction.set_rollback(True)


@pytest.fixture
def registry(curated, db):
    return curated


def test_every_row_loads_published_with_its_aliases_and_parents(registry):
    rows = curated_csv_rows()
    assert Organisation.objects.public().count() == len({row["organisation_id"] for row in rows})
    assert Event.objects.public().count() == len(rows)
    assert Source.objects.count() == registry.counts["sources"]["created"] > 0
    assert Citation.objects.count() == registry.counts["citations"]["created"] > 0
    named = {
        (row["organisation_id"], alias.strip())
        for row in rows
        for alias in row["aliases"].split("|")
        if alias.strip()
    }
    stored = set(
        Alias.objects.filter(kind="alias").values_list("organisation__slug", "name").distinct()
    )
    assert stored == named
    parents = {row["organisation_id"]: row["parent_organisation_id"] for row in rows}
    assert dict(
        Organisation.objects.filter(parent_organisation__isnull=False).values_list(
            "slug", "parent_organisation__slug"
        )
    ) == {slug: parent for slug, parent in parents.items() if parent}


def test_no_record_page_shows_a_curator_note(registry, client):
    """The first 60 characters of every curator note of the file are on no record page."""
    notes = defaultdict(list)
    for row in curated_csv_rows():
        if row["curator_note"]:
            notes[row["organisation_id"]].append(row["curator_note"][:60])
    assert sum(len(found) for found in notes.values()) > 100
    for slug, found in notes.items():
        text = client.get(f"/en/organisations/{slug}/").content.decode()
        assert text.startswith("<!DOCTYPE html>") or "<html" in text
        for note in found:
            assert escape(note) not in text and note not in text, slug


def test_public_notes_show_on_the_record_in_both_languages(registry, client):
    event = Event.objects.exclude(public_note="").exclude(public_note_zh="").first()
    slug = event.organisation.slug
    english = client.get(f"/en/organisations/{slug}/").content.decode()
    chinese = client.get(f"/zh-hant/organisations/{slug}/").content.decode()
    assert escape(event.public_note) in english
    assert escape(event.public_note_zh) in chinese


def test_steps_that_are_not_closures_show_no_closed_status(registry, client):
    hkfs = Organisation.objects.get(slug="hkfs")
    assert (hkfs.public_status, hkfs.public_status_unconfirmed) == (
        Status.DISSOLUTION_STARTED,
        False,
    )
    for slug in REMOVAL_NOTICE_ONLY:
        organisation = Organisation.objects.get(slug=slug)
        assert organisation.public_status == Status.REMOVAL_NOTICE, slug
        page = client.get(f"/en/organisations/{slug}/").content.decode()
        assert "status-removal_notice" in page
        assert not re.search(r"status-(deregistered|disbanded|ceased_operations)\"", page)


def test_hkctu_shows_the_status_of_its_confident_steps(registry):
    """Disbanded (high confidence) stands; a later low-confidence deregistration is no outrank."""
    hkctu = Organisation.objects.get(slug="hkctu")
    assert hkctu.events.get(event_type="deregistered").confidence == "low"
    assert (hkctu.public_status, hkctu.public_status_unconfirmed) == (Status.DISBANDED, False)


@pytest.mark.parametrize(
    ("query", "slug"),
    [("支聯會", "hk-alliance"), ("職工盟", "hkctu"), ("教協", "hkptu"), ("國際特赦", "amnesty-hk")],
)
def test_the_names_people_use_find_their_organisations(registry, client, query, slug):
    assert slug in Organisation.objects.public().search(query).values_list("slug", flat=True)
    page = client.get("/zh-hant/organisations/", {"q": query}).content.decode()
    assert f"/zh-hant/organisations/{slug}/" in page


def test_chinese_page_of_chrf_shows_its_reason_in_chinese(registry, client):
    reason = Event.objects.get(uid="chrf").stated_reason_zh
    assert reason
    page = client.get("/zh-hant/organisations/chrf/").content.decode()
    assert escape(reason) in page
    assert escape(Event.objects.get(uid="chrf").stated_reason_en) not in page


def test_amnesty_lists_its_related_records_and_they_link_back(registry, client):
    page = client.get("/en/organisations/amnesty-hk/").content.decode()
    for child in ("amnesty-hk-regional", "amnesty-hk-overseas"):
        assert f'href="/en/organisations/{child}/"' in page
        child_page = client.get(f"/en/organisations/{child}/").content.decode()
        assert 'href="/en/organisations/amnesty-hk/"' in child_page


def test_overview_says_how_sub_bodies_are_counted(registry, client):
    sub_bodies = Organisation.objects.public().sub_bodies().count()
    assert sub_bodies == 20
    page = client.get("/en/").content.decode()
    assert f"{sub_bodies} of the organisations recorded belong to another" in page


def test_readme_import_table_lists_the_new_columns():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Import format", 1)[1].split("\n## ", 1)[0]
    for column in (
        "aliases",
        "parent_organisation_id",
        "description_en",
        "founded_year",
        "stated_reason_zh",
        "public_note",
        "public_note_zh",
        "curator_note",
        "dissolution_started",
        "removal_notice",
    ):
        assert f"`{column}`" in table, column

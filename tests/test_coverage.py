"""Other trackers' lists: import, matching, the public coverage page, API, export and queue."""

import csv
import io
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closures import coverage
from closures.models import Organisation, ReviewState
from closures.services import import_registry, read_spreadsheet
from closures.tracker_import import (
    ENTRY_COLUMNS,
    TRACKER_COLUMNS,
    EntryMatcher,
    TrackerImportFailed,
    candidate_names,
    import_trackers,
)
from closures.tracker_models import (
    ClaimQualifier,
    DecisionSource,
    EntryDecision,
    Tracker,
    TrackerEntry,
)

ROOT = Path(__file__).resolve().parent.parent
TRACKER_FILES = ROOT / "fixtures" / "trackers"


def tracker_row(tracker_id, entries_read, **overrides):
    row = {
        "tracker_id": tracker_id,
        "title": f"List {tracker_id}",
        "publisher": "Example News (read in an archive copy)",
        "url": f"https://news.example.org/{tracker_id}",
        "published_date": "2021-09-15",
        "claimed_count": "10",
        "scope": "Groups that closed in 2021.",
        "entries_read": str(entries_read),
        "completeness": "full",
    }
    row.update(overrides)
    return row


def entry_row(tracker_id, position, name, organisation_id="", **overrides):
    row = dict.fromkeys(ENTRY_COLUMNS, "")
    row.update(
        tracker_id=tracker_id,
        position=str(position),
        name_as_listed=name,
        organisation_id=organisation_id,
    )
    row.update(overrides)
    return row


def write_csv(path: Path, columns, rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_trackers(directory: Path, lists: dict[str, list[dict]], **tracker_overrides) -> Path:
    """Write trackers.csv and one entry file per tracker, as the shared tracker files are."""
    directory.mkdir(parents=True, exist_ok=True)
    write_csv(
        directory / "trackers.csv",
        TRACKER_COLUMNS,
        [
            tracker_row(slug, len(rows), **tracker_overrides.get(slug, {}))
            for slug, rows in lists.items()
        ],
    )
    for slug, rows in lists.items():
        write_csv(directory / f"{slug}.csv", ENTRY_COLUMNS, rows)
    return directory


@pytest.fixture
def curated_registry(db):
    import_registry(
        rows=read_spreadsheet(ROOT / "fixtures" / "closures.csv"),
        review_state=ReviewState.PUBLISHED,
    )


# --- Import -----------------------------------------------------------------------------


def test_the_shared_tracker_files_load_after_the_registry_and_load_again_unchanged(
    curated_registry,
):
    report = import_trackers(directory=TRACKER_FILES)
    assert report.counts["trackers"]["created"] == 27
    assert report.counts["entries"]["created"] == 162
    # Every organisation_id the files give that the curated data holds is a confirmed match.
    slugs = set(Organisation.objects.values_list("slug", flat=True))
    for entry in TrackerEntry.objects.all():
        if entry.listed_organisation_slug in slugs:
            assert entry.decision == EntryDecision.MATCHED, entry
            assert entry.organisation.slug == entry.listed_organisation_slug
            assert entry.decided_by_source == DecisionSource.TRACKER_FILE
    stand = Tracker.objects.get(slug="standnews-2021-49")
    assert (stand.claimed_count, stand.claimed_qualifier) == (49, ClaimQualifier.AT_LEAST)
    assert Tracker.objects.get(slug="gcal-anatomy-of-a-crackdown").claimed_display == "100+"
    assert Tracker.objects.get(slug="amnesty-2022-un-submission").claimed_display == "~100"
    again = import_trackers(directory=TRACKER_FILES)
    assert again.counts["entries"]["unchanged"] == 162
    assert again.counts["trackers"]["unchanged"] == 27
    assert not again.counts["entries"]["updated"] and not again.counts["entries"]["created"]


def test_the_fixture_copy_of_the_tracker_files_keeps_every_fact_of_the_shared_data():
    shared = ROOT.parent / "shared" / "data" / "trackers"
    if not shared.is_dir():
        pytest.skip("the shared data directory is not beside this checkout")
    for path in shared.glob("*.csv"):
        assert (TRACKER_FILES / path.name).read_bytes() == path.read_bytes(), path.name


def test_an_invalid_directory_names_every_problem_by_file_row_and_column_and_writes_nothing(
    db, tmp_path
):
    directory = write_trackers(
        tmp_path / "bad",
        {
            "good-list": [entry_row("good-list", 1, "Civil Human Rights Front")],
            "bad-list": [
                entry_row("bad-list", 1, "Group A"),
                entry_row("bad-list", 1, "Group B"),
                entry_row("other-list", 3, ""),
                entry_row("bad-list", 4, "Group D", organisation_id="not a slug!"),
            ],
        },
        **{"bad-list": {"claimed_count": "about 50", "published_date": "2021-13"}},
    )
    # trackers.csv says 9 entries for good-list, its file has 1.
    rows = list(csv.DictReader((directory / "trackers.csv").open(encoding="utf-8")))
    rows[0]["entries_read"] = "9"
    write_csv(directory / "trackers.csv", TRACKER_COLUMNS, rows)
    (directory / "stray-list.csv").write_text(",".join(ENTRY_COLUMNS) + "\n", encoding="utf-8")

    with pytest.raises(TrackerImportFailed) as failure:
        import_trackers(directory=directory)

    found = {(problem.file, problem.row, problem.column) for problem in failure.value.problems}
    assert found == {
        ("trackers.csv", 2, "entries_read"),
        ("trackers.csv", 3, "claimed_count"),
        ("trackers.csv", 3, "published_date"),
        ("bad-list.csv", 3, "position"),
        ("bad-list.csv", 4, "tracker_id"),
        ("bad-list.csv", 4, "name_as_listed"),
        ("bad-list.csv", 5, "organisation_id"),
        ("stray-list.csv", 1, "file"),
    }
    assert "bad-list.csv, row 3, column position" in str(failure.value)
    assert not Tracker.objects.exists() and not TrackerEntry.objects.exists()


def test_a_missing_header_column_or_entry_file_is_refused(db, tmp_path):
    directory = write_trackers(tmp_path / "t", {"list-a": [entry_row("list-a", 1, "Group A")]})
    (directory / "list-a.csv").unlink()
    with pytest.raises(TrackerImportFailed) as failure:
        import_trackers(directory=directory)
    assert [(p.file, p.column) for p in failure.value.problems] == [("list-a.csv", "file")]
    (directory / "list-a.csv").write_text("tracker_id,position\nlist-a,1\n", encoding="utf-8")
    with pytest.raises(TrackerImportFailed) as failure:
        import_trackers(directory=directory)
    assert {p.column for p in failure.value.problems} == set(ENTRY_COLUMNS) - {
        "tracker_id",
        "position",
    }


def test_the_command_reports_problems_without_a_traceback(db, tmp_path):
    with pytest.raises(CommandError, match="No such directory"):
        call_command("import_trackers", str(tmp_path / "missing"))
    directory = write_trackers(tmp_path / "t", {"list-a": [entry_row("list-a", 1, "Group A")]})
    out = io.StringIO()
    call_command("import_trackers", str(directory), "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() and not Tracker.objects.exists()
    call_command("import_trackers", str(directory), stdout=out)
    assert Tracker.objects.count() == 1


def test_a_curators_decision_survives_reimport_and_a_new_record_is_matched_on_the_next_run(
    tmp_path, make_public_organisation, curator
):
    directory = write_trackers(
        tmp_path / "t",
        {
            "list-a": [
                entry_row("list-a", 1, "Group Arriving Later", organisation_id="arriving-later"),
                entry_row("list-a", 2, "A Shop", organisation_id=""),
            ]
        },
    )
    report = import_trackers(directory=directory)
    assert report.unknown_ids == {"arriving-later"}
    later, shop = TrackerEntry.objects.order_by("sequence")
    assert later.decision == shop.decision == EntryDecision.NOT_IN_REGISTRY
    coverage.decide_entry(
        entry=shop,
        user=curator,
        decision=EntryDecision.OUT_OF_SCOPE,
        out_of_scope_reason="a business, not a civil-society body",
    )
    make_public_organisation(slug="arriving-later", name_en="Group Arriving Later")
    import_trackers(directory=directory)
    later.refresh_from_db()
    shop.refresh_from_db()
    assert later.decision == EntryDecision.MATCHED and later.organisation.slug == "arriving-later"
    assert shop.decision == EntryDecision.OUT_OF_SCOPE
    assert shop.decided_by_source == DecisionSource.CURATOR and shop.decided_by == curator


# --- Matching ---------------------------------------------------------------------------


def test_candidate_names_split_a_listed_name_into_its_parts():
    assert candidate_names(name_as_listed="民間人權陣線(民陣 Civil Human Rights Front)") == [
        "民間人權陣線",
        "民陣 Civil Human Rights Front",
        "民陣",
        "Civil Human Rights Front",
    ]
    assert "PLG" in candidate_names(name_as_listed="Progressive Lawyers Group (PLG)")
    assert "立場新聞" in candidate_names(name_as_listed="《立場新聞》")


# Names exactly as the trackers list them, without the files' organisation_id or the names
# the files copied from the registry: what the matcher proposes from the listed name alone.
KNOWN_PAIRS = {
    "《立場新聞》": "stand-news",  # Chinese only, in title marks (xiaobo-matters-2022-07)
    "民間人權陣線(民陣 Civil Human Rights Front)": "chrf",  # ipkmedia-2021-09
    "香港職工會聯盟": "hkctu",  # Chinese only
    "法政匯思": "plg",  # Chinese only
    "Progressive Lawyers Group (PLG)": "plg",  # hkfp-2021-07-06
    "HKCTU": "hkctu",  # an acronym alone
    "CHRF": "chrf",
    "The Union for New Civil Servants": "union-new-civil-servants",  # hrn-2021-08
    "Hong Kong Professional Teachers’ Union": "hkptu",  # curly apostrophe (kongtsunggan)
    "《白夜》": None,  # a known gap: no counterpart in the registry
    "守望香港祈禱會": None,
    "教協訴訟及緊急支援基金": None,  # a PTU fund, not the PTU itself
}


def test_the_matcher_proposes_the_known_pairs_of_the_curated_data(curated_registry):
    matcher = EntryMatcher()
    proposed = {}
    for name in KNOWN_PAIRS:
        organisation = matcher.propose(name_as_listed=name)
        proposed[name] = organisation.slug if organisation else None
    assert proposed == KNOWN_PAIRS


def test_short_names_other_trackers_confirmed_are_proposed_for_a_new_list(
    curated_registry, tmp_path
):
    # 支聯會, 教協 and 職工盟 are in no registry name; Stand News's list confirms them.
    shutil.copytree(TRACKER_FILES, tmp_path / "t")
    import_trackers(directory=tmp_path / "t")
    matcher = EntryMatcher()
    for short_name, slug in {"支聯會": "hk-alliance", "教協": "hkptu", "職工盟": "hkctu"}.items():
        assert matcher.finder.find(name_zh=short_name) == [], short_name
        assert matcher.propose(name_as_listed=short_name).slug == slug


def test_a_name_matching_two_records_equally_is_left_to_a_curator(make_organisation):
    make_organisation(slug="twin-a", name_en="Twin Alliance", name_zh="")
    make_organisation(slug="twin-b", name_en="Twin Alliance", name_zh="")
    assert EntryMatcher().propose(name_as_listed="Twin Alliance") is None


def test_an_unconfirmed_proposal_waits_for_a_curator(tmp_path, make_public_organisation):
    make_public_organisation(slug="stand-news", name_en="Stand News", name_zh="立場新聞")
    import_trackers(
        directory=write_trackers(
            tmp_path / "t", {"list-a": [entry_row("list-a", 1, "《立場新聞》")]}
        )
    )
    entry = TrackerEntry.objects.get()
    assert entry.decision == EntryDecision.PROPOSED
    assert entry.decided_by_source == DecisionSource.NAME_MATCH
    # A proposal is not yet a match: the public sees it as not yet in this registry.
    assert TrackerEntry.objects.publicly_lacking().get() == entry


# --- Public: page, record, API, export ------------------------------------------------------


@pytest.fixture
def compared(tmp_path, make_public_organisation, curator):
    """Two trackers beside a registry of one public and one embargoed record.

    Stand-in list A: the public record, the embargoed one, a group no record has, and a shop
    judged out of scope. List B: the missing group again, under its Chinese name.
    """
    public = make_public_organisation(
        slug="public-union", name_en="Public Union", name_zh="公開工會"
    )
    make_public_organisation(
        slug="hidden-union",
        name_en="Hidden Union",
        name_zh="隱藏工會",
        embargoed=True,
        embargo_reason="Members at risk",
    )
    directory = write_trackers(
        tmp_path / "t",
        {
            "list-a": [
                entry_row("list-a", 1, "Public Union", organisation_id="public-union"),
                entry_row("list-a", 2, "Union B as listed", organisation_id="hidden-union"),
                entry_row(
                    "list-a", 3, "Missing Group", name_zh="失蹤團體", date_as_listed="2021.7"
                ),
                entry_row("list-a", 4, "A Shop"),
            ],
            "list-b": [entry_row("list-b", 12, "失蹤團體")],
        },
        **{"list-b": {"publisher": "Other Post", "published_date": "2022-01"}},
    )
    import_trackers(directory=directory)
    shop = TrackerEntry.objects.get(name_as_listed="A Shop")
    coverage.decide_entry(
        entry=shop, user=curator, decision="out_of_scope", out_of_scope_reason="still operating"
    )
    return public


def test_coverage_figures_count_a_hidden_match_as_not_yet_in_this_registry(compared):
    figures = {tracker.slug: tracker for tracker in coverage.coverage_table()}
    list_a = figures["list-a"]
    assert (list_a.entries_read, list_a.in_registry, list_a.not_in_registry) == (4, 1, 2)
    assert list_a.out_of_scope == 1
    assert (figures["list-b"].in_registry, figures["list-b"].not_in_registry) == (0, 1)
    missing = coverage.missing_names()
    # The missing group is one name listed by two trackers, and comes first.
    assert [group.name_key for group in missing] == ["失蹤團體", "unionbaslisted"]
    assert [entry.tracker.slug for entry in missing[0].entries] == ["list-a", "list-b"]


@pytest.mark.parametrize("language", ["en", "zh-hant"])
def test_the_coverage_page_shows_figures_and_gaps_in_both_languages(client, compared, language):
    response = client.get(f"/{language}/coverage/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Union B as listed" in text and "失蹤團體" in text and "Other Post, " in text
    assert response.context["registry_count"] == 1
    assert "hidden-union" not in text and "Hidden Union" not in text and "隱藏工會" not in text
    if language == "zh-hant":
        assert "其他追蹤者列出，本登記冊尚未收錄" in text
    else:
        assert "Known to other trackers, not yet in this registry" in text


def test_overview_and_about_link_to_the_coverage_page(client, db):
    for url in ("/en/", "/en/about/", "/zh-hant/about/"):
        assert 'href="/' in client.get(url).content.decode()
        assert "/coverage/" in client.get(url).content.decode(), url


def test_a_record_page_names_the_trackers_that_also_list_it(client, compared):
    text = client.get("/en/organisations/public-union/").content.decode()
    assert "Also listed by" in text
    assert "Example News, 15 Sep 2021</a>, no. 1" in text


def test_the_trackers_api_gives_public_statuses_and_ids_only_of_public_records(client, compared):
    trackers = {row["id"]: row for row in client.get("/api/v1/trackers/").json()}
    list_a = trackers["list-a"]
    assert list_a["in_registry"] == 1 and list_a["not_in_registry"] == 2
    assert list_a["claimed_count_as_stated"] == "10" and list_a["published"] == "2021-09-15"
    statuses = [(e["position"], e["status"], e["organisation"]) for e in list_a["entries"]]
    assert statuses == [
        ("1", "in_registry", "public-union"),
        ("2", "not_in_registry", None),
        ("3", "not_in_registry", None),
        ("4", "out_of_scope", None),
    ]
    assert list_a["entries"][3]["out_of_scope_reason"] == "still operating"
    assert client.get("/api/v1/trackers/list-b/").json()["published"] == "2022-01"


def test_the_coverage_export_has_a_row_per_entry_and_no_hidden_record(client, compared):
    response = client.get("/api/v1/export/coverage.csv")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == coverage.COVERAGE_COLUMNS
    assert [(row["tracker_id"], row["status"], row["organisation_id"]) for row in rows] == [
        ("list-a", "in_registry", "public-union"),
        ("list-a", "not_in_registry", ""),
        ("list-a", "not_in_registry", ""),
        ("list-a", "out_of_scope", ""),
        ("list-b", "not_in_registry", ""),
    ]
    assert "hidden-union" not in text


def test_publishing_the_hidden_record_moves_its_entry_into_the_registry(compared):
    hidden = Organisation.objects.get(slug="hidden-union")
    hidden.embargoed = False
    hidden.save()
    figures = {tracker.slug: tracker for tracker in coverage.coverage_table()}
    assert figures["list-a"].in_registry == 2


# --- Curators -------------------------------------------------------------------------------


def test_the_admin_queue_puts_names_listed_by_most_trackers_first(client, admin_user, compared):
    client.force_login(admin_user)
    response = client.get("/admin/closures/trackerentry/?queue=lacking")
    assert response.status_code == 200
    names = [entry.name_as_listed for entry in response.context["cl"].result_list]
    # Curators see that the embargoed record matches list A no. 2: only true gaps are queued.
    assert sorted(names) == ["Missing Group", "失蹤團體"]
    entry = TrackerEntry.objects.get(name_as_listed="A Shop")
    for url in (
        "/admin/closures/tracker/",
        "/admin/closures/trackerentry/",
        f"/admin/closures/tracker/{entry.tracker_id}/change/",
        f"/admin/closures/trackerentry/{entry.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url


def test_create_a_draft_from_an_entry_links_every_trackers_entry_of_that_name(
    client, compared, curator
):
    client.force_login(curator)
    entry = TrackerEntry.objects.get(name_as_listed="Missing Group")
    response = client.post(
        "/admin/closures/trackerentry/",
        {"action": "create_draft_organisations", "_selected_action": [entry.pk]},
    )
    assert response.status_code == 302
    draft = Organisation.objects.get(slug="missing-group")
    assert (draft.name_en, draft.name_zh, draft.review_state) == (
        "Missing Group",
        "失蹤團體",
        ReviewState.DRAFT,
    )
    assert draft.notes_sensitive and "date as listed: 2021.7" in draft.notes
    assert set(draft.tracker_entries.values_list("tracker__slug", flat=True)) == {
        "list-a",
        "list-b",
    }
    assert response.url == f"/admin/closures/organisation/{draft.pk}/change/"
    # A draft is not public: both entries still count as not yet in this registry.
    assert [group.name_key for group in coverage.missing_names()][0] == "失蹤團體"


def test_curators_confirm_and_reject_matches_in_the_admin(client, tmp_path, curator, db):
    from closures.models import OrganisationType

    Organisation.objects.create(
        slug="stand-news", name_en="Stand News", name_zh="立場新聞", org_type=OrganisationType.MEDIA
    )
    import_trackers(
        directory=write_trackers(
            tmp_path / "t",
            {
                "list-a": [
                    entry_row("list-a", 1, "《立場新聞》"),
                    entry_row("list-a", 2, "立場新聞"),
                ]
            },
        )
    )
    first, second = TrackerEntry.objects.order_by("sequence")
    client.force_login(curator)
    changelist = "/admin/closures/trackerentry/"
    client.post(changelist, {"action": "confirm_matches", "_selected_action": [first.pk]})
    client.post(changelist, {"action": "reject_matches", "_selected_action": [second.pk]})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.decision == EntryDecision.MATCHED and first.decided_by == curator
    assert second.decision == EntryDecision.NOT_IN_REGISTRY and second.organisation is None
    assert second.decided_by_source == DecisionSource.CURATOR


def test_an_out_of_scope_decision_needs_a_reason(compared, curator):
    from django.core.exceptions import ValidationError

    entry = TrackerEntry.objects.get(name_as_listed="Missing Group")
    with pytest.raises(ValidationError):
        coverage.decide_entry(entry=entry, user=curator, decision="out_of_scope")
    with pytest.raises(ValidationError):
        coverage.decide_entry(entry=entry, user=curator, decision="matched")


# --- Query budgets -------------------------------------------------------------------------


def fetch(client, url) -> bytes:
    """The whole body, streamed or not: a streamed export runs its queries while it is read."""
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_coverage_page_and_api_queries_do_not_grow_with_trackers_and_entries(
    client, tmp_path, make_public_organisation, django_assert_num_queries
):
    for number in range(3):
        make_public_organisation(slug=f"group-{number}", name_en=f"Group {number}")

    def load(count):
        lists = {
            f"list-{number}": [
                entry_row(f"list-{number}", position, f"Group {position}", f"group-{position}")
                if position < 3
                else entry_row(f"list-{number}", position, f"Missing {number} {position}")
                for position in range(count)
            ]
            for number in range(count)
        }
        import_trackers(directory=write_trackers(tmp_path / f"t{count}", lists))

    load(2)
    budgets = {}
    for url in ("/en/coverage/", "/api/v1/trackers/", "/api/v1/export/coverage.csv"):
        with CaptureQueriesContext(connection) as context:
            fetch(client, url)
        budgets[url] = len(context)
    load(6)
    for url, queries in budgets.items():
        with django_assert_num_queries(queries):
            fetch(client, url)

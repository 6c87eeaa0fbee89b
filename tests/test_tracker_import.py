"""Loading other trackers' lists: the files' problems by file, row and column, and matching."""

import csv
import io
import os
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closures import coverage
from closures.models import (
    ClaimQualifier,
    DecisionSource,
    EntryDecision,
    Organisation,
    ReviewState,
    Tracker,
    TrackerEntry,
)
from closures.services import import_registry, read_spreadsheet
from closures.tracker_import import (
    ENTRY_COLUMNS,
    TRACKER_COLUMNS,
    EntryMatcher,
    TrackerImportFailed,
    candidate_names,
    import_trackers,
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
        **{
            "bad-list": {"claimed_count": "about 50", "published_date": "2021-13"},
            "good-list": {"url": "not an address", "completeness": "complete"},
        },
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
        ("trackers.csv", 2, "url"),
        ("trackers.csv", 2, "completeness"),
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


FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(
    content=st.one_of(
        st.binary(max_size=600),
        st.text(alphabet=',"\n\r\x00 香+~-0123456789abc', max_size=300).map(str.encode),
    ),
    target=st.sampled_from(["trackers.csv", "list-a.csv"]),
)
def test_any_bytes_in_a_tracker_file_are_refused_with_problems_or_imported(
    tmp_path_factory, db, content, target
):
    directory = write_trackers(
        tmp_path_factory.mktemp("fuzz"), {"list-a": [entry_row("list-a", 1, "Group A")]}
    )
    (directory / target).write_bytes(content)
    try:
        import_trackers(directory=directory)
    except TrackerImportFailed as failure:
        assert failure.problems
        assert all(problem.file and problem.column for problem in failure.problems)
        assert not Tracker.objects.exists() and not TrackerEntry.objects.exists()
    else:
        assert Tracker.objects.exists() or target == "trackers.csv"
    TrackerEntry.objects.all().delete()
    Tracker.objects.all().delete()

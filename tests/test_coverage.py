"""Other trackers beside the registry: figures, the coverage page, record pages, the API, the
coverage CSV, the curator queue and its actions.
"""

import csv
import io
import os

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closures import coverage
from closures.models import (
    DecisionSource,
    EntryDecision,
    Organisation,
    RegistryVersion,
    ReviewState,
    TrackerEntry,
)
from closures.services import refresh_organisation
from closures.tracker_import import import_trackers
from tests.test_tracker_import import entry_row, write_trackers

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
    refresh_organisation(organisation_id=hidden.pk)  # as lifting an embargo does
    figures = {tracker.slug: tracker for tracker in coverage.coverage_table()}
    assert figures["list-a"].in_registry == 2


def test_a_curators_decision_reaches_cached_pages_and_conditional_requests(
    client, compared, curator
):
    """Record pages, the coverage page and the API are cached by the data version, so a
    change to what the public sees of the trackers moves it."""
    record = client.get("/en/organisations/public-union/")
    page = client.get("/en/coverage/")
    api = client.get("/api/v1/trackers/list-a/")
    assert "Also listed by" in record.content.decode()
    entry = TrackerEntry.objects.get(name_as_listed="Public Union")
    coverage.decide_entry(entry=entry, user=curator, decision=EntryDecision.NOT_IN_REGISTRY)
    assert "Also listed by" not in client.get("/en/organisations/public-union/").content.decode()
    assert client.get("/en/coverage/").content != page.content
    assert client.get("/api/v1/trackers/list-a/").json()["in_registry"] == 0
    for response in (record, page, api):
        url = response.wsgi_request.get_full_path()
        again = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 200, url


def test_a_change_the_public_cannot_see_leaves_the_data_version(
    compared, curator, tmp_path, make_public_organisation
):
    version = RegistryVersion.current().changed_at
    entry = TrackerEntry.objects.get(name_as_listed="Union B as listed")
    # Matched to the embargoed record: still "not yet in this registry" for the public.
    coverage.decide_entry(
        entry=entry,
        user=curator,
        decision=EntryDecision.MATCHED,
        organisation=Organisation.objects.get(slug="hidden-union"),
        curator_note="Same group, members at risk",
    )
    assert RegistryVersion.current().changed_at == version
    shop = TrackerEntry.objects.get(name_as_listed="A Shop")
    coverage.decide_entry(
        entry=shop,
        user=curator,
        decision="out_of_scope",
        out_of_scope_reason="no longer operating",
    )
    assert RegistryVersion.current().changed_at > version


def test_an_import_moves_the_data_version_only_when_the_public_coverage_changed(tmp_path, db):
    lists = {"list-a": [entry_row("list-a", 1, "Some Group")]}
    import_trackers(directory=write_trackers(tmp_path / "first", lists))
    version = RegistryVersion.current().changed_at
    import_trackers(directory=write_trackers(tmp_path / "same", lists))
    assert RegistryVersion.current().changed_at == version
    renamed = {"list-a": [entry_row("list-a", 1, "Some Group", name_zh="某團體")]}
    import_trackers(directory=write_trackers(tmp_path / "renamed", renamed))
    assert RegistryVersion.current().changed_at > version


# --- Curators -------------------------------------------------------------------------------


def test_the_admin_queue_puts_names_listed_by_most_trackers_first(
    client, admin_user, compared, staff_login
):
    staff_login(client, admin_user)
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
    client, compared, curator, staff_login
):
    staff_login(client, curator)
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
    assert "date as listed: 2021.7" in draft.curator_note
    assert set(draft.tracker_entries.values_list("tracker__slug", flat=True)) == {
        "list-a",
        "list-b",
    }
    assert response.url == f"/admin/closures/organisation/{draft.pk}/change/"
    # A draft is not public: both entries still count as not yet in this registry.
    assert [group.name_key for group in coverage.missing_names()][0] == "失蹤團體"


def test_curators_confirm_and_reject_matches_in_the_admin(
    client, tmp_path, curator, db, staff_login
):
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
    staff_login(client, curator)
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


# --- The embargo as a property --------------------------------------------------------------

VISIBILITY = ["public", "draft", "embargoed", "withdrawn"]
PROPERTY = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    # The records are built once per test; every example rolls its decisions back.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def records_of_every_visibility(tmp_path, make_public_organisation, reviewer):
    records = {}
    for visibility in VISIBILITY:
        record = make_public_organisation(slug=f"record-{visibility}", name_en=visibility)
        if visibility == "draft":
            record.review_state = ReviewState.DRAFT
        elif visibility == "embargoed":
            record.embargoed, record.embargo_reason = True, "at risk"
        elif visibility == "withdrawn":
            record.review_state = ReviewState.WITHDRAWN
        record.save()
        records[visibility] = record
    lists = {"list-p": [entry_row("list-p", n, f"Entry {n}") for n in range(6)]}
    import_trackers(directory=write_trackers(tmp_path / "p", lists))
    assert list(Organisation.objects.public()) == [records["public"]]
    return records


@PROPERTY
@given(
    decisions=st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["matched", "proposed"]), st.sampled_from(VISIBILITY)),
            st.tuples(st.sampled_from(["not_in_registry", "out_of_scope"]), st.none()),
        ),
        min_size=6,
        max_size=6,
    )
)
def test_only_a_confirmed_match_to_a_public_record_counts_or_shows_as_in_the_registry(
    client, records_of_every_visibility, reviewer, decisions
):
    records = records_of_every_visibility
    with transaction.atomic():
        entries = list(TrackerEntry.objects.order_by("sequence"))
        for entry, (decision, visibility) in zip(entries, decisions, strict=True):
            coverage.decide_entry(
                entry=entry,
                user=reviewer,
                decision=decision,
                organisation=records[visibility] if visibility else None,
                out_of_scope_reason="still operating",
            )
        expected_in = sum(d == ("matched", "public") for d in decisions)
        expected_out = sum(decision == "out_of_scope" for decision, _ in decisions)
        tracker = coverage.coverage_table()[0]
        assert (tracker.in_registry, tracker.out_of_scope) == (expected_in, expected_out)
        assert tracker.not_in_registry == 6 - expected_in - expected_out
        assert sum(len(group.entries) for group in coverage.missing_names()) == (
            6 - expected_in - expected_out
        )
        api = client.get("/api/v1/trackers/list-p/").json()
        export = fetch(client, "/api/v1/export/coverage.csv").decode()
        page = client.get("/en/coverage/").content.decode()
        for text in (str(api), export, page):
            for visibility in ("draft", "embargoed", "withdrawn"):
                assert f"record-{visibility}" not in text
        assert [e["organisation"] for e in api["entries"]].count("record-public") == expected_in
        transaction.set_rollback(True)


def test_a_curator_changes_a_match_in_the_entry_form_and_a_reimport_keeps_it(
    client, compared, curator, tmp_path, staff_login
):
    entry = TrackerEntry.objects.get(name_as_listed="Union B as listed")
    staff_login(client, curator)
    response = client.post(
        f"/admin/closures/trackerentry/{entry.pk}/change/",
        {
            "decision": "matched",
            "organisation": compared.pk,
            "out_of_scope_reason": "",
            "curator_note": "Same union under its later name.",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry.refresh_from_db()
    assert entry.organisation == compared and entry.decided_by == curator
    assert entry.decided_by_source == DecisionSource.CURATOR
    assert entry.curator_note == "Same union under its later name."
    import_trackers(directory=tmp_path / "t")
    entry.refresh_from_db()
    assert entry.organisation == compared


def test_a_record_with_tracker_entries_cannot_be_deleted_until_they_are_rematched(compared):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        compared.delete()

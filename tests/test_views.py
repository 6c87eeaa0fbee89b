import datetime as dt
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closures import services
from closures.models import Event, EventType, Organisation, OrganisationType, ReviewState

LIST = "/en/organisations/"


def listed(response):
    return [organisation.slug for organisation in response.context["organisations"]]


def facet(response, name):
    facets = {facet["name"]: facet for facet in response.context["facets"]}
    return {option["value"]: option["count"] for option in facets[name]["options"]}


# --- Listing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("職工會", ["hkctu"]),
        ("蘋果", ["apple-daily"]),
        ("confederation", ["hkctu"]),
        ("HKCTU", ["hkctu"]),
        ("free work impossible", ["amnesty"]),
        ("Hidden", []),
        ("secret plan", []),
    ],
)
def test_search_in_english_and_chinese(client, scenario, query, expected):
    response = client.get(LIST, {"q": query})
    assert response.status_code == 200
    assert sorted(listed(response)) == expected


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, ["amnesty", "apple-daily", "hkctu"]),
        ({"org_type": "union"}, ["hkctu"]),
        ({"org_type": ["union", "media"]}, ["apple-daily", "hkctu"]),
        ({"status": "relocated"}, ["amnesty"]),
        ({"event_type": "ceased_operations"}, ["apple-daily"]),
        ({"event_type": "relocated"}, ["amnesty"]),
        ({"reason": "nsl_pressure"}, ["amnesty"]),
        ({"country": "TW"}, ["amnesty"]),
        ({"year": "2021"}, ["amnesty", "hkctu"]),
        ({"date_from": "2021-12-15"}, ["amnesty", "apple-daily"]),
        ({"date_to": "2021-11-30"}, ["hkctu"]),
        ({"date_from": "2022-01-01", "date_to": "2022-12-31"}, ["apple-daily"]),
    ],
)
def test_every_filter_narrows_the_listing(client, scenario, params, expected):
    response = client.get(LIST, params)
    assert sorted(listed(response)) == expected


def test_sorting_by_name_and_latest_event(client, scenario):
    assert listed(client.get(LIST, {"ordering": "name"})) == ["amnesty", "apple-daily", "hkctu"]
    assert listed(client.get(LIST, {"ordering": "-latest"})) == ["apple-daily", "amnesty", "hkctu"]


def test_embargoed_country_never_becomes_an_option(client, scenario):
    response = client.get(LIST)
    assert set(facet(response, "country")) == {"TW"}
    assert "GB" not in response.content.decode()


def test_facet_counts_apply_the_other_filters(client, scenario):
    response = client.get(LIST)
    assert facet(response, "org_type") == {"union": 1, "international_ngo": 1, "media": 1}
    assert facet(response, "status") == {"disbanded": 1, "relocated": 1, "ceased_operations": 1}
    assert facet(response, "event_type") == {
        "disbanded": 1,
        "relocated": 1,
        "ceased_operations": 1,
    }
    assert facet(response, "reason") == {"nsl_pressure": 1}
    assert response.context["years"] == [
        {"value": "2022", "count": 1, "selected": False},
        {"value": "2021", "count": 2, "selected": False},
    ]

    narrowed = client.get(LIST, {"org_type": "union", "year": "2021"})
    # Its own facet ignores the type chosen; every other facet counts only 2021 unions.
    assert facet(narrowed, "org_type") == {"union": 1, "international_ngo": 1}
    assert facet(narrowed, "status") == {"disbanded": 1}
    assert facet(narrowed, "event_type") == {"disbanded": 1}
    assert [year["value"] for year in narrowed.context["years"]] == ["2021"]


def test_counts_are_shown_next_to_options(client, scenario):
    html = client.get(LIST, {"org_type": "union"}).content.decode()
    assert re.search(r'value="media"[^>]*>\s*<span>media outlet</span> <span class="count"', html)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"date_from": "not-a-date"}, "date_from"),
        ({"org_type": "spaceship"}, "org_type"),
        ({"q": "x" * 5000}, "q"),
        ({"year": "abc"}, "year"),
        ({"country": "XX"}, "country"),
    ],
)
def test_nonsense_filters_show_the_form_error(client, scenario, params, field):
    response = client.get(LIST, params)
    assert response.status_code == 200
    assert field in response.context["filter"].form.errors
    assert listed(response) == []
    assert 'class="form-errors"' in response.content.decode()


def test_download_links_carry_the_same_filters(client, scenario):
    html = client.get(LIST, {"org_type": "union", "q": "職工會", "page": "1"}).content.decode()
    query = "org_type=union&amp;q=%E8%81%B7%E5%B7%A5%E6%9C%83"
    assert f'href="/api/v1/export/organisations.csv?{query}"' in html
    assert f'href="/api/v1/export/events.csv?{query}"' in html


def test_pagination_keeps_the_query_string(client, make_public_organisation):
    for number in range(30):
        make_public_organisation(slug=f"union-{number}", org_type=OrganisationType.UNION)
    response = client.get(LIST, {"org_type": "union", "ordering": "name"})
    assert len(listed(response)) == 25
    assert 'href="?org_type=union&amp;ordering=name&amp;page=2"' in response.content.decode()
    assert len(listed(client.get(LIST, {"org_type": "union", "page": "2"}))) == 5


# --- Record -------------------------------------------------------------------------------


def test_record_shows_names_events_destination_and_sources(client, scenario, make_source):
    event = scenario.amnesty.events.get()
    source = make_source(
        title="Amnesty to close Hong Kong offices",
        publisher="Hong Kong Free Press",
        published_on=dt.date(2021, 10, 25),
        archived_url="https://web.archive.org/web/2021/https://hongkongfp.com/amnesty",
    )
    event.citations.create(source=source, quote="closing both offices", claims=["event", "date"])
    html = client.get("/en/organisations/amnesty/").content.decode()
    for text in [
        "Amnesty International regional office",
        "international NGO office",
        "relocated abroad",
        "Dec 2021",
        "Taipei, Taiwan",
        "The security law made free work impossible.",
        "National Security Law pressure",
        "Hong Kong Free Press",
        "25 Oct 2021",
        'href="https://web.archive.org/web/2021/https://hongkongfp.com/amnesty"',
        "closing both offices",
        "that the event happened; the date",
    ]:
        assert text in html, text
    assert "1 Dec 2021" not in html


def test_record_shows_dates_at_their_precision_in_chinese(client, scenario):
    html = client.get("/zh-hant/organisations/amnesty/").content.decode()
    assert "2021年12月" in html
    assert "2021年12月1日" not in html


def test_record_shows_both_names_and_aliases(client, scenario):
    html = client.get("/en/organisations/hkctu/").content.decode()
    assert "Hong Kong Confederation of Trade Unions" in html
    assert "香港職工會聯盟" in html
    assert "Confederation of Trade Unions" in html


def test_record_never_shows_an_embargoed_event(client, scenario):
    html = client.get("/en/organisations/apple-daily/").content.decode()
    assert "secret plan" not in html
    assert "United Kingdom" not in html


@pytest.mark.parametrize("slug", ["no-such-record", "hidden-union", "draft-union"])
def test_unknown_embargoed_and_draft_records_answer_404(client, scenario, slug):
    response = client.get(f"/zh-hant/organisations/{slug}/")
    assert response.status_code == 404
    assert "找不到頁面" in response.content.decode()


def test_cite_box_has_stable_url_and_last_updated_date(client, scenario):
    response = client.get("/en/organisations/hkctu/")
    html = response.content.decode()
    assert "http://testserver/en/organisations/hkctu/" in html
    assert "@misc{hkcscr-hkctu," in html
    updated = response.context["last_updated"].date().isoformat()
    assert f"Last updated {updated}" in html


def test_the_record_shows_one_last_updated_date_in_hong_kong_time(client, scenario):
    # 20:30 UTC on 1 January is already 2 January in Hong Kong.
    changed = dt.datetime(2024, 1, 1, 20, 30, tzinfo=dt.UTC)
    Organisation.objects.filter(pk=scenario.ctu.pk).update(public_changed_at=changed)
    response = client.get("/en/organisations/hkctu/")
    html = response.content.decode()
    assert html.count("Last updated:") == 1
    assert '<time datetime="2024-01-02T04:30:00+08:00">2024-01-02</time>' in html
    assert "Last updated 2024-01-02." in response.context["citation_text"]
    assert "last updated 2024-01-02}" in response.context["bibtex"]
    assert "year = {2024}" in response.context["bibtex"]
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert json.loads(block)["dateModified"] == "2024-01-02T04:30:00+08:00"


def test_a_hidden_edit_leaves_the_record_page_unchanged(client, scenario):
    before = client.get("/en/organisations/apple-daily/").content
    secret = Event.objects.get(uid="apple-daily-secret-move")
    secret.destination_city = "London"
    secret.save()
    scenario.media.curator_note = "Names a member"
    scenario.media.save()
    services.refresh_organisation(organisation_id=scenario.media.pk)
    assert client.get("/en/organisations/apple-daily/").content == before


def test_structured_data_is_a_dataset_about_the_organisation(client, scenario):
    scenario.ctu.name_en = "Union </script><script>alert(1)</script>"
    scenario.ctu.save()
    html = client.get("/en/organisations/hkctu/").content.decode()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    data = json.loads(block)
    assert data["@type"] == "Dataset"
    assert data["about"]["@type"] == "Organization"
    assert data["about"]["name"] == "Union </script><script>alert(1)</script>"
    assert "HKCTU" in data["about"]["alternateName"]
    assert "<script>alert" not in html


# --- Overview and about -------------------------------------------------------------------


def test_overview_counts_only_public_records(client, scenario):
    response = client.get("/en/")
    assert response.context["recorded"] == 3
    assert response.context["closed_or_left"] == 3
    assert {row["org_type"]: row["recorded"] for row in response.context["by_type"]} == {
        "union": 1,
        "international_ngo": 1,
        "media": 1,
    }
    assert [
        (row["destination_country"], row["organisations"])
        for row in response.context["destinations"]
    ] == [("TW", 1)]
    assert [org.slug for org in response.context["latest"]] == ["apple-daily", "amnesty", "hkctu"]


def test_overview_chart_counts_closures_per_quarter(client, scenario):
    response = client.get("/en/")
    quarters = {row["label"]: (row["closed"], row["left"]) for row in response.context["quarters"]}
    assert quarters["2021 Q4"] == (1, 1)
    assert quarters["2022 Q1"] == (0, 0)
    assert quarters["2022 Q2"] == (1, 0)
    assert quarters["2023 Q1"] == (0, 0)  # the embargoed relocation is not counted
    html = response.content.decode()
    assert 'role="img"' in html and '<title id="time-title">' in html
    # Three columns' parts and one destination; the phone's chart of the last three years has
    # none, the scenario's closures being older.
    assert html.count('class="bar bar-') == 3 + 1


def test_overview_figures_and_chart_tell_the_story(client, scenario):
    response = client.get("/en/")
    context = response.context
    assert (context["closure_steps"], context["moved_abroad"]) == (3, 1)
    assert context["busiest"]["label"] == "2021 Q4"
    html = response.content.decode()
    assert "busiest quarter: 2 closure steps" in html
    assert "Data as of" in html
    # The chart runs to the current quarter and links each quarter to its organisations.
    today = dt.date.today()
    assert context["quarters"][-1]["label"] == f"{today.year} Q{(today.month - 1) // 3 + 1}"
    q4 = next(row for row in context["quarters"] if row["label"] == "2021 Q4")
    assert q4["url"].startswith("/en/organisations/?date_from=2021-10-01&date_to=2021-12-31&")
    listed_q4 = client.get(q4["url"]).context["organisations"]
    assert sorted(organisation.slug for organisation in listed_q4) == ["amnesty", "hkctu"]
    assert f'<a href="{q4["url"].replace("&", "&amp;")}">' in html
    assert html.count("Article 23 law</text>") == 2  # in the wide and in the recent chart


def test_overview_marks_the_national_security_law(client, make_public_organisation):
    make_public_organisation(event={"effective_on": dt.date(2020, 7, 1)})
    html = client.get("/zh-hant/").content.decode()
    assert "《國家安全法》</text>" in html


def test_year_only_closures_are_noted_not_charted(client, scenario, make_public_organisation):
    make_public_organisation(
        event={"effective_on": dt.date(2022, 1, 1), "effective_precision": "year"}
    )
    response = client.get("/en/")
    assert response.context["year_only"] == 1
    assert "dated only to the year" in response.content.decode()


@pytest.mark.parametrize("language, text", [("en", "Inclusion"), ("zh-hant", "收錄範圍")])
def test_about_page_in_both_languages(client, language, text):
    html = client.get(f"/{language}/about/").content.decode()
    assert text.lower() in html.lower() or text in html
    assert "CC BY 4.0" in html


# --- Languages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept, home", [("zh-HK", "/zh-hant/"), ("zh-TW,zh;q=0.8", "/zh-hant/"), ("en-GB", "/en/")]
)
def test_bare_root_redirects_to_the_visitors_language(client, accept, home):
    response = client.get("/", headers={"accept-language": accept})
    assert response.status_code == 302
    assert response["Location"] == home


def test_language_switch_keeps_the_page_and_query_string(client, scenario):
    html = client.get(LIST, {"org_type": "union", "q": "職工會"}).content.decode()
    assert 'href="/zh-hant/organisations/?org_type=union&amp;q=%E8%81%B7%E5%B7%A5%E6%9C%83"' in (
        html
    )


def test_interface_and_choice_labels_are_translated(client, scenario):
    html = client.get("/zh-hant/organisations/hkctu/").content.decode()
    assert "工會" in html  # the organisation type
    assert "解散" in html  # the event type and status
    assert "引用此記錄" in html
    assert 'lang="zh-Hant-HK"' in html


def test_record_fields_fall_back_to_the_other_language(client, scenario):
    chinese = client.get("/zh-hant/organisations/amnesty/")
    assert '<h1 lang="en">Amnesty International regional office</h1>' in chinese.content.decode()
    assert "The security law made free work impossible." in chinese.content.decode()
    ctu = client.get("/zh-hant/organisations/hkctu/").content.decode()
    assert "<h1>香港職工會聯盟</h1>" in ctu
    assert "會員受到威脅。" in ctu
    assert "Threats to members." not in ctu


# --- Every public page --------------------------------------------------------------------

PUBLIC_PAGES = [
    "/en/",
    "/zh-hant/",
    "/en/organisations/",
    "/zh-hant/organisations/",
    "/en/organisations/?q=Union",
    "/en/organisations/apple-daily/",
    "/zh-hant/organisations/hkctu/",
    "/en/about/",
    "/zh-hant/about/",
    "/en/feed/",
    "/zh-hant/feed/",
    "/sitemap.xml",
]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_embargoed_and_draft_records_appear_on_no_public_page(client, scenario, url):
    response = client.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    for secret in ("hidden-union", "Hidden Union", "draft-union", "Draft Union", "secret plan"):
        assert secret not in content


@pytest.mark.parametrize(
    "url", [url for url in PUBLIC_PAGES if "feed" not in url and "xml" not in url]
)
def test_pages_have_no_inline_styles_or_scripts(client, scenario, url):
    html = client.get(url).content.decode()
    assert " style=" not in html and "<style" not in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert all(tag == '<script type="application/ld+json">' for tag in scripts)
    loaded = re.findall(r'<(?:link|script|img)[^>]*(?:src|href)="([^"]*)"', html)
    assert all(url.startswith(("/", "http://testserver/")) for url in loaded), loaded


# --- Query budgets ------------------------------------------------------------------------


def count_queries(client, url):
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


@pytest.mark.parametrize(
    "url",
    [
        LIST,
        f"{LIST}?q=Union&org_type=union&year=2021",
        f"{LIST}?event_type=disbanded&page=2",
        "/en/",
    ],
)
def test_listing_and_overview_queries_do_not_grow_with_the_registry(
    client, make_public_organisation, django_assert_num_queries, url
):
    def add(count, start):
        for number in range(start, start + count):
            organisation = make_public_organisation(
                slug=f"union-{number}",
                name_en=f"Union {number}",
                org_type=OrganisationType.UNION,
                event={
                    "effective_on": dt.date(2021, 1 + number % 12, 1),
                    "destination_country": ["TW", "GB", "CA"][number % 3],
                },
            )
            organisation.events.get().reasons.add("legal_risk", "financial")

    add(30, 0)
    queries = count_queries(client, url)
    add(60, 30)
    with django_assert_num_queries(queries):
        client.get(url)


def test_record_queries_do_not_grow_with_its_events_and_sources(
    client, make_public_organisation, make_event, make_source, django_assert_num_queries
):
    organisation = make_public_organisation(slug="busy")
    queries = count_queries(client, "/en/organisations/busy/")
    for _ in range(5):
        event = make_event(organisation, review_state=ReviewState.PUBLISHED)
        event.reasons.add("legal_risk", "financial")
        event.citations.create(source=make_source(), claims=["date"])
    organisation.aliases.create(name="Busy Bees", language="en")
    with django_assert_num_queries(queries):
        client.get("/en/organisations/busy/")


def test_a_chosen_year_without_results_stays_selected(client, scenario):
    response = client.get(LIST, {"year": "1999"})
    assert listed(response) == []
    assert {"value": "1999", "count": 0, "selected": True} in response.context["years"]


def test_each_destination_is_offered_once(client, scenario, make_public_organisation):
    make_public_organisation(event={"event_type": EventType.RELOCATED, "destination_country": "TW"})
    response = client.get(LIST, {"org_type": "spaceship"})  # invalid: options shown uncounted
    countries = [
        option["value"]
        for option in {f["name"]: f for f in response.context["facets"]}["country"]["options"]
    ]
    assert countries == ["TW"]
    assert facet(client.get(LIST), "country") == {"TW": 2}


def test_about_page_names_the_corrections_address_when_set(client, settings):
    settings.REGISTRY_CORRECTIONS_EMAIL = "corrections@registry.example"
    for language in ("en", "zh-hant"):
        html = client.get(f"/{language}/about/").content.decode()
        assert 'href="mailto:corrections@registry.example"' in html

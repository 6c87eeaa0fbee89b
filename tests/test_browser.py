"""Drive the system Chromium through search, filters, a record and the language switch."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the system Chromium"),
    # The flush after a transactional test would delete the reason rows a migration created.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser():
    """Chromium for one test, started after its database is set up and closed before.

    Not one per module: while Playwright's sync API holds its event loop in this thread,
    Django hands out connections per async context, and the serialized rollback that
    restores the migrations' rows (reasons, groups) after a transactional test finds no
    saved contents on them. The live server is shared by the whole session.
    """
    # The ORM calls made by test teardown are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def browser_page(browser):
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    yield context.new_page()
    context.close()


@pytest.fixture
def records(scenario):
    """Created before Playwright starts: ORM calls inside its event loop open extra connections."""
    return scenario


def test_search_filter_open_a_record_and_switch_language(live_server, records, browser_page):
    page = browser_page
    results = page.locator(".result-list h3 a")

    page.goto(f"{live_server.url}/en/organisations/")
    assert results.count() == 3

    page.get_by_label("Search", exact=True).fill("職工會")
    page.get_by_role("button", name="Search", exact=True).click()
    assert results.all_inner_texts() == ["Hong Kong Confederation of Trade Unions"]

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Organisations").click()
    assert results.count() == 3
    page.locator("summary", has_text="Filters").click()
    page.get_by_role("checkbox", name="media outlet").check()
    page.get_by_role("button", name="Apply filters").click()
    assert "org_type=media" in page.url
    assert results.all_inner_texts() == ["Apple Daily"]

    results.first.click()
    assert page.url.endswith("/en/organisations/apple-daily/")
    assert page.locator("h1").inner_text() == "Apple Daily"
    timeline = page.locator(".timeline").inner_text()
    assert "24 Jun 2022" in timeline and "secret plan" not in timeline

    page.get_by_role("navigation", name="Language").get_by_role("link").click()
    assert page.url.endswith("/zh-hant/organisations/apple-daily/")
    assert page.locator("h1").inner_text() == "蘋果日報"
    assert "2022年6月24日" in page.locator(".timeline").inner_text()
    assert page.get_by_role("heading", name="引用此記錄").is_visible()


# --- Issue 15: the story at a glance, at 1280 and 390 px, in both languages ---------------

WIDTHS = (1280, 390)


@pytest.fixture
def page_at(browser):
    """Open a page at a window width; its context closes with the test."""
    contexts = []

    def open_page(width):
        context = browser.new_context(
            viewport={"width": width, "height": 900}, java_script_enabled=False
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def overflow(page) -> int:
    """How far the page is wider than its window: 0 when nothing needs a sideways scroll."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "language, lede",
    [
        ("en", "Apple Daily (蘋果日報), a media outlet, ceased operations on 24 Jun 2022."),
        ("zh-hant", "蘋果日報（Apple Daily），傳媒機構，於2022年6月24日停止運作。"),
    ],
)
def test_record_opens_with_its_lede(live_server, records, page_at, width, language, lede):
    page = page_at(width)
    page.goto(f"{live_server.url}/{language}/organisations/apple-daily/")
    shown = page.locator("p.lede")
    assert shown.is_visible()
    assert shown.inner_text().startswith(lede)
    assert page.locator('meta[name="description"]').get_attribute("content") == shown.inner_text()
    # The lede comes before the timeline, within the first screen.
    assert shown.bounding_box()["y"] < 900
    assert overflow(page) == 0


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language, union", [("en", "trade union"), ("zh-hant", "工會")])
def test_applied_filters_are_chips_and_on_a_phone_the_results_come_first(
    live_server, records, page_at, width, language, union
):
    page = page_at(width)
    page.goto(f"{live_server.url}/{language}/organisations/?org_type=union&org_type=media")
    chips = page.locator(".chips .chip")
    assert chips.count() == 2
    assert union in chips.all_inner_texts()[1] or union in chips.all_inner_texts()[0]
    first_result = page.locator(".result-list h3 a").first
    if width == 390:
        # The filter options stay folded away: the first result is on the first screen.
        assert not page.get_by_role("checkbox").first.is_visible()
        assert first_result.bounding_box()["y"] < 900
        page.locator(".facets-box summary").click()
        assert page.get_by_role("checkbox").first.is_visible()
    else:
        assert page.get_by_role("checkbox").first.is_visible()
    page.locator(".chips .chip", has_text=union).click()
    assert "org_type=union" not in page.url and "org_type=media" in page.url
    assert page.locator(".result-list h3 a").count() == 1
    assert overflow(page) == 0


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "language, says", [("en", "No organisation matches “zzz”"), ("zh-hant", "沒有組織符合「zzz」")]
)
def test_an_empty_search_says_what_to_try_and_offers_no_download(
    live_server, records, page_at, width, language, says
):
    page = page_at(width)
    page.goto(f"{live_server.url}/{language}/organisations/?q=zzz")
    empty = page.locator(".empty")
    assert says in empty.inner_text()
    assert "HKCTU" in empty.inner_text()
    assert page.locator(".downloads").count() == 0
    assert overflow(page) == 0


@pytest.mark.parametrize("width", WIDTHS)
def test_language_switch_keeps_the_record_and_the_filters(live_server, records, page_at, width):
    page = page_at(width)
    page.goto(f"{live_server.url}/en/organisations/?org_type=union")
    page.get_by_role("navigation", name="Language").get_by_role("link").click()
    assert page.url.endswith("/zh-hant/organisations/?org_type=union")
    assert page.locator(".chips .chip").inner_text().startswith("工會")
    page.goto(f"{live_server.url}/zh-hant/organisations/hkctu/")
    page.get_by_role("navigation", name="語言").get_by_role("link").click()
    assert page.url.endswith("/en/organisations/hkctu/")
    assert page.locator("h1").inner_text() == "Hong Kong Confederation of Trade Unions"
    site_name = page.locator(".site-name")
    assert site_name.inner_text() == (
        "HK Closures Registry" if width == 390 else "Hong Kong Civil Society Closures Registry"
    )


@pytest.fixture
def curated_slugs(db):
    """The curated data, imported and published as `make data` does."""
    from django.core.management import call_command

    from closures.models import Organisation

    fixture = next((Path(__file__).parent.parent / "fixtures").glob("*.csv"))
    call_command("import_registry", str(fixture), "--publish", verbosity=0)
    return list(Organisation.objects.public().values_list("slug", flat=True))


def test_every_curated_record_fits_a_390_px_screen_in_both_languages(
    live_server, curated_slugs, page_at
):
    assert len(curated_slugs) > 50
    page = page_at(390)
    too_wide = []
    for slug in curated_slugs:
        for language in ("en", "zh-hant"):
            page.goto(f"{live_server.url}/{language}/organisations/{slug}/")
            if overflow(page) > 0:
                too_wide.append((language, slug, overflow(page)))
    assert too_wide == []


@pytest.mark.parametrize("language", ["en", "zh-hant"])
def test_the_overview_listing_data_and_about_pages_fit_a_390_px_screen(
    live_server, records, page_at, language
):
    page = page_at(390)
    too_wide = []
    for path in ("", "organisations/", "organisations/?q=zzz", "data/", "about/"):
        page.goto(f"{live_server.url}/{language}/{path}")
        if overflow(page) > 0:
            too_wide.append((path, overflow(page)))
    assert too_wide == []
    # A phone gets the chart of the recent years, not the wide one that would scroll sideways.
    page.goto(f"{live_server.url}/{language}/")
    assert page.locator(".chart-recent").is_visible()
    assert not page.locator(".chart-wide").is_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_destination_chart_labels_stay_readable(live_server, records, page_at, width):
    page = page_at(width)
    page.goto(f"{live_server.url}/en/")
    svg = page.locator('[aria-labelledby="destinations-heading"] svg')
    chart = svg.bounding_box()
    labels = [text.bounding_box() for text in svg.locator("text.label").all()]
    assert labels
    for label in labels:
        # 13 px text keeps at least 11 px: a label column beside the bars had squeezed the
        # chart to half its size on a phone, its labels to 6 px.
        assert label["height"] >= 11
        # Whole, not cut at either edge (a glyph may overhang its origin by a pixel).
        assert chart["x"] - 2 <= label["x"]
        assert label["x"] + label["width"] <= chart["x"] + chart["width"]


@pytest.fixture
def a_release(records, settings, tmp_path):
    """The first release of the shared registry, built before Playwright starts."""
    from closures import releases

    settings.RELEASES_DIR = tmp_path / "releases"
    return releases.build_release()


@pytest.mark.parametrize("language", ["en", "zh-hant"])
def test_the_releases_table_fits_a_phone_with_its_checksum(
    live_server, a_release, page_at, language
):
    page = page_at(390)
    page.goto(f"{live_server.url}/{language}/data/")
    releases = page.locator(".table-scroll", has=page.locator(".data-table"))
    # Its region would scroll sideways and hide the SHA-256 column off the right edge.
    assert releases.evaluate("region => region.scrollWidth - region.clientWidth") == 0
    assert page.locator("code.checksum").is_visible()

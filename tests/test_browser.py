"""Drive the system Chromium through search, filters, a record and the language switch."""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the system Chromium"),
    # The flush after a transactional test would delete the reason rows a migration created.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by test
    # teardown are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(java_script_enabled=False, locale="en-GB")
        yield context.new_page()
        browser.close()


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

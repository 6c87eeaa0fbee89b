import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from closures.models import OrganisationType
from closures.services import refresh_organisation

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture
def records(make_public_organisation, make_organisation, make_event):
    public = make_public_organisation(
        slug="hkctu", name_en="Hong Kong Confederation of Trade Unions", name_zh="香港職工會聯盟"
    )
    later = make_public_organisation(
        slug="apple-daily",
        name_en="Apple Daily",
        name_zh="蘋果日報",
        org_type=OrganisationType.MEDIA,
        event={"event_type": "ceased_operations", "effective_on": dt.date(2021, 6, 24)},
    )
    make_public_organisation(slug="embargoed-union", embargoed=True, embargo_reason="Risk.")
    draft = make_organisation(slug="draft-union")
    make_event(draft)
    return public, later


def test_feed_lists_public_records_newest_change_first(client, records):
    public, later = records
    public.description_en = "The largest independent trade union federation."
    public.save()
    refresh_organisation(organisation_id=public.pk)  # now the most recent public change
    response = client.get("/en/feed/")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.find(f"{ATOM}title").text for entry in entries] == [
        "Hong Kong Confederation of Trade Unions",
        "Apple Daily",
    ]
    link = entries[0].find(f"{ATOM}link").get("href")
    assert link == "http://testserver/en/organisations/hkctu/"
    assert entries[0].find(f"{ATOM}updated").text.startswith(str(dt.date.today().year))


def test_feed_in_chinese_uses_chinese_names_and_links(client, records):
    feed = ET.fromstring(client.get("/zh-hant/feed/").content)
    titles = {entry.find(f"{ATOM}title").text for entry in feed.findall(f"{ATOM}entry")}
    assert titles == {"香港職工會聯盟", "蘋果日報"}
    assert "登記冊" in feed.find(f"{ATOM}title").text


def test_feed_and_sitemap_leave_out_embargoed_and_draft_records(client, records):
    for url in ("/en/feed/", "/zh-hant/feed/", "/sitemap.xml"):
        content = client.get(url).content.decode()
        assert "embargoed-union" not in content
        assert "draft-union" not in content


def test_sitemap_lists_every_public_page_in_both_languages(client, records):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    urls = ET.fromstring(response.content).findall(f"{SITEMAP}url")
    locations = {url.find(f"{SITEMAP}loc").text for url in urls}
    for language in ("en", "zh-hant"):
        for path in ("", "organisations/", "about/", "organisations/hkctu/"):
            assert f"http://testserver/{language}/{path}" in locations
    record = next(
        u for u in urls if u.find(f"{SITEMAP}loc").text.endswith("/en/organisations/hkctu/")
    )
    alternates = {link.get("hreflang") for link in record.findall(f"{XHTML}link")}
    assert {"en", "zh-hant", "x-default"} <= alternates
    assert record.find(f"{SITEMAP}lastmod") is not None


def test_robots_txt_points_to_the_sitemap_and_keeps_robots_out_of_the_admin(client):
    response = client.get("/robots.txt")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert "Disallow: /admin/" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines

import datetime as dt
import xml.etree.ElementTree as ET

from closures.models import Organisation
from closures.services import refresh_organisation

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def test_feed_lists_public_records_newest_change_first(client, scenario):
    for organisation in (scenario.amnesty, scenario.ctu):
        organisation.description_en = "Described anew."
        organisation.save()
        # Now the most recent public changes: hkctu first, Amnesty next.
        refresh_organisation(organisation_id=organisation.pk)
    response = client.get("/en/feed/")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.find(f"{ATOM}title").text for entry in entries] == [
        "Hong Kong Confederation of Trade Unions",
        "Amnesty International regional office",
        "Apple Daily",
    ]
    link = entries[0].find(f"{ATOM}link").get("href")
    assert link == "http://testserver/en/organisations/hkctu/"
    assert entries[0].find(f"{ATOM}updated").text.startswith(str(dt.date.today().year))


def test_feed_in_chinese_uses_chinese_names_and_links(client, scenario):
    feed = ET.fromstring(client.get("/zh-hant/feed/").content)
    titles = {entry.find(f"{ATOM}title").text for entry in feed.findall(f"{ATOM}entry")}
    # Amnesty has no Chinese name: its English one stands in.
    assert titles == {"香港職工會聯盟", "Amnesty International regional office", "蘋果日報"}
    assert "登記冊" in feed.find(f"{ATOM}title").text


def test_feed_and_sitemap_leave_out_embargoed_and_draft_records(client, scenario):
    for url in ("/en/feed/", "/zh-hant/feed/", "/sitemap.xml"):
        content = client.get(url).content.decode()
        for hidden in ("hidden-union", "Hidden Union", "draft-union", "Draft Union"):
            assert hidden not in content


def test_sitemap_lists_every_public_page_in_both_languages(client, scenario):
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


def test_feed_and_sitemap_dates_ignore_edits_the_public_cannot_see(client, scenario):
    before = {url: client.get(url).content for url in ("/en/feed/", "/sitemap.xml")}
    scenario.media.curator_note = "Curator note"
    scenario.media.save()
    secret = scenario.media.events.get(uid="apple-daily-secret-move")
    secret.destination_city = "London"
    secret.save()
    refresh_organisation(organisation_id=scenario.media.pk)
    after = {url: client.get(url).content for url in ("/en/feed/", "/sitemap.xml")}
    assert before == after
    changed = Organisation.objects.get(pk=scenario.media.pk).public_changed_at
    assert changed == scenario.media.public_changed_at

"""The record's lede, and the page furniture built on it: meta, Open Graph, hreflang, feed."""

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from django.utils import translation

from closures.lede import record_lede
from closures.models import Confidence, EventType
from closures.services import refresh_organisation

ATOM = "{http://www.w3.org/2005/Atom}"


def meta(html: str, attribute: str, name: str) -> str:
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', html)
    assert match, name
    return unescape(match.group(1))


def lede_of(html: str) -> str:
    return unescape(re.search(r'<p class="lede">(.*?)</p>', html, re.S).group(1))


def test_lede_says_who_what_when_why_and_on_how_many_sources(client, scenario):
    html = client.get("/en/organisations/hkctu/").content.decode()
    assert lede_of(html) == (
        "Hong Kong Confederation of Trade Unions (香港職工會聯盟), a trade union, disbanded on "
        "3 Oct 2021. Threats to members. — 1 source"
    )


def test_lede_in_chinese_puts_the_date_before_the_verb(client, scenario):
    html = client.get("/zh-hant/organisations/hkctu/").content.decode()
    assert lede_of(html) == (
        "香港職工會聯盟（Hong Kong Confederation of Trade Unions），工會，於2021年10月3日解散。"
        "會員受到威脅。——1個來源"
    )


def test_lede_names_where_a_relocation_went_at_the_precision_known(client, scenario):
    html = client.get("/en/organisations/amnesty/").content.decode()
    assert lede_of(html).startswith(
        "Amnesty International regional office, an international NGO office, relocated to "
        "Taipei, Taiwan in Dec 2021. The security law made free work impossible."
    )


def test_lede_never_tells_an_embargoed_event(client, scenario):
    html = client.get("/en/organisations/apple-daily/").content.decode()
    lede = lede_of(html)
    assert "ceased operations on 24 Jun 2022" in lede
    assert "United Kingdom" not in lede and "secret" not in lede


def test_lede_marks_a_low_confidence_step_and_names_the_pressure_before_it(
    make_public_organisation, make_event
):
    organisation = make_public_organisation(
        name_en="Example Union",
        name_zh="",
        org_type="union",
        event={"confidence": Confidence.LOW, "stated_reason_en": ""},
    )
    make_event(
        organisation,
        event_type=EventType.ASSET_FREEZE,
        effective_on=dt.date(2021, 6, 1),
        effective_precision="month",
    )
    events = list(organisation.events.chronological())
    with translation.override("en"):
        lede = record_lede(organisation, events)
    assert lede == (
        "Example Union, a trade union, reportedly disbanded on 25 Sep 2021 after an asset "
        "freeze. — 2 sources"
    )


def test_lede_is_the_meta_and_open_graph_description(client, scenario):
    html = client.get("/en/organisations/apple-daily/").content.decode()
    lede = lede_of(html)
    assert meta(html, "name", "description") == lede
    assert meta(html, "property", "og:description") == lede
    assert meta(html, "property", "og:title") == "Apple Daily"
    assert meta(html, "property", "og:url") == "http://testserver/en/organisations/apple-daily/"


def test_every_language_version_is_linked_absolutely_with_a_default(client, scenario):
    html = client.get("/zh-hant/organisations/hkctu/").content.decode()
    links = dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', html))
    assert links == {
        "en": "http://testserver/en/organisations/hkctu/",
        "zh-Hant": "http://testserver/zh-hant/organisations/hkctu/",
        "x-default": "http://testserver/en/organisations/hkctu/",
    }


def test_feed_summary_is_the_lede(client, scenario):
    page = lede_of(client.get("/en/organisations/hkctu/").content.decode())
    feed = ET.fromstring(client.get("/en/feed/").content)
    summaries = {
        entry.find(f"{ATOM}id").text: entry.find(f"{ATOM}summary").text
        for entry in feed.findall(f"{ATOM}entry")
    }
    assert summaries["tag:hkcscr,2024:organisation:hkctu"] == page


def test_each_event_links_its_confidence_to_the_definition(client, scenario):
    html = client.get("/en/organisations/hkctu/").content.decode()
    assert '<a class="badge confidence confidence-high" href="/en/about/#confidence-high">' in html
    about = client.get("/en/about/").content.decode()
    assert 'id="confidence-high"' in about and 'id="confidence-low"' in about


def test_each_source_says_what_kind_of_source_it_is(client, scenario):
    source = scenario.ctu.events.get().citations.get().source
    source.source_type = "court_record"
    source.save()
    html = client.get("/en/organisations/hkctu/").content.decode()
    assert '<span class="badge source-type">Court record</span>' in html


def test_low_confidence_is_marked_on_the_record_and_in_the_listing(client, scenario):
    scenario.ctu.events.update(confidence=Confidence.LOW)
    refresh_organisation(organisation_id=scenario.ctu.pk)  # as every service's save does
    record = client.get("/en/organisations/hkctu/").content.decode()
    assert 'class="event event-low"' in record
    assert "Not confirmed by the organisation itself" in record
    assert "reportedly disbanded" in lede_of(record)
    listing = client.get("/en/organisations/", {"q": "HKCTU"}).content.decode()
    assert '<li class="low-confidence">' in listing
    assert 'href="/en/about/#confidence-low" title=' in listing
    assert "(unconfirmed)</a>" in listing


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_record_links_to_itself_as_data(client, scenario, fmt):
    html = client.get("/en/organisations/hkctu/").content.decode()
    assert 'href="/api/v1/organisations/hkctu/"' in html
    assert 'href="/api/v1/export/events.csv?id=hkctu"' in html
    export = client.get(f"/api/v1/export/events.{fmt}", {"id": "hkctu"})
    body = b"".join(export.streaming_content).decode()
    assert "hkctu-disbanded" in body and "amnesty" not in body


def test_citation_carries_the_date_it_was_accessed(client, scenario):
    html = client.get("/en/organisations/hkctu/").content.decode()
    today = dt.date.today().isoformat()
    assert f"(accessed {today})" in html
    assert f"urldate = {{{today}}}" in html


def test_names_are_one_line_with_the_other_language_marked(client, scenario):
    html = client.get("/en/organisations/hkctu/").content.decode()
    line = re.search(r'<p class="names-line">(.*?)</p>', html, re.S).group(1)
    assert '<span lang="zh-Hant">香港職工會聯盟</span>' in line
    assert '<span class="acronym">HKCTU</span>' in line
    assert '<span lang="en">Confederation of Trade Unions</span>' in line
    assert "English name" not in html

"""The record's lede, and the page furniture built on it: meta, Open Graph, hreflang, feed."""

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from django.utils import translation

from closures.lede import record_lede
from closures.models import Confidence, EventType, SourceType
from closures.services import refresh_organisation

ATOM = "{http://www.w3.org/2005/Atom}"


def meta(html: str, attribute: str, name: str) -> str:
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', html)
    assert match, name
    return unescape(match.group(1))


def lede_html(html: str) -> str:
    return re.search(r'<p class="lede">(.*?)</p>', html, re.S).group(1)


def lede_of(html: str) -> str:
    """The lede as a reader hears it: its text, without the `lang` marks."""
    return unescape(re.sub(r"<[^>]+>", "", lede_html(html)))


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


def test_lede_marks_the_name_in_the_other_language_with_its_lang(client, scenario):
    english = lede_html(client.get("/en/organisations/hkctu/").content.decode())
    chinese = lede_html(client.get("/zh-hant/organisations/hkctu/").content.decode())
    assert english.startswith(
        'Hong Kong Confederation of Trade Unions (<span lang="zh-Hant">香港職工會聯盟</span>),'
    )
    assert chinese.startswith(
        '香港職工會聯盟（<span lang="en">Hong Kong Confederation of Trade Unions</span>）'
    )


def test_the_lede_escapes_what_curators_wrote(make_public_organisation, client):
    organisation = make_public_organisation(
        name_en="Tom & <b>Jerry</b> Union",
        event={"stated_reason_en": 'Said "<script>alert(1)</script>" & left.'},
    )
    html = client.get(organisation.get_absolute_url()).content.decode()
    paragraph = lede_html(html)
    assert "<script>" not in paragraph and "<b>" not in paragraph
    assert "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt; Union" in paragraph
    assert lede_of(html).startswith("Tom & <b>Jerry</b> Union")
    assert meta(html, "name", "description") == lede_of(html)


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


def lede_for(organisation, language="en"):
    """The lede as the record page builds it: public events in time order, public parent."""
    events = organisation.events.public_regardless_of_organisation().chronological()
    parent = organisation.public_parent()
    with translation.override(language):
        return record_lede(organisation, events, parent=parent)


def test_a_short_description_says_who_they_were_and_is_not_repeated_below(
    client, make_public_organisation
):
    organisation = make_public_organisation(
        slug="daily",
        name_en="Example Daily",
        name_zh="例子日報",
        org_type="media",
        description_en="A pro-democracy newspaper founded in 1995.",
        description_zh="1995年創刊的民主派報章。",
        event={"event_type": EventType.CEASED_OPERATIONS, "stated_reason_en": ""},
    )
    assert lede_for(organisation).startswith(
        "Example Daily (例子日報), a pro-democracy newspaper founded in 1995, ceased operations "
        "on 25 Sep 2021."
    )
    assert lede_for(organisation, "zh-hant").startswith(
        "例子日報（Example Daily），1995年創刊的民主派報章，於2021年9月25日停止運作。"
    )
    html = client.get("/en/organisations/daily/").content.decode()
    assert html.count("a pro-democracy newspaper founded in 1995") == 3  # lede, meta, og
    assert '<p class="description">' not in html


def test_a_description_of_several_sentences_stays_in_its_own_paragraph(
    client, make_public_organisation
):
    organisation = make_public_organisation(
        slug="long-story",
        name_en="Long Story Union",
        org_type="union",
        description_en="A union of bus drivers. It also ran a credit society.",
    )
    assert lede_for(organisation).startswith("Long Story Union (組織")
    assert ", a trade union, disbanded" in lede_for(organisation)
    html = client.get("/en/organisations/long-story/").content.decode()
    assert (
        '<p class="description">A union of bus drivers. It also ran a credit society.</p>' in html
    )


def test_lede_names_the_public_parent_and_never_a_hidden_one(
    make_public_organisation, make_organisation
):
    parent = make_public_organisation(name_en="University Students' Union", name_zh="")
    college = make_public_organisation(
        name_en="College Union", name_zh="", org_type="student_union", parent_organisation=parent
    )
    assert lede_for(college).startswith(
        "College Union, a student union within University Students' Union, disbanded"
    )
    hidden = make_organisation(name_en="Hidden Parent")
    orphan = make_public_organisation(
        name_en="Orphan Union", name_zh="", org_type="union", parent_organisation=hidden
    )
    assert "Hidden Parent" not in lede_for(orphan)


def test_lede_says_on_whose_word_when_a_source_is_first_hand(make_public_organisation):
    organisation = make_public_organisation(name_en="Own Word Union", name_zh="")
    source = organisation.events.get().citations.get().source
    source.source_type = SourceType.OWN_STATEMENT
    source.save()
    assert lede_for(organisation).endswith("— 1 source, including its own statement")
    assert lede_for(organisation, "zh-hant").endswith("——1個來源，包括組織本身的聲明")


def test_a_later_low_confidence_report_does_not_displace_the_confirmed_step(
    make_public_organisation, make_event
):
    """The lede tells the step that sets the status, so the two never disagree."""
    organisation = make_public_organisation(name_en="Steady Union", name_zh="", org_type="union")
    make_event(
        organisation,
        event_type=EventType.RELOCATED,
        destination_country="GB",
        confidence=Confidence.LOW,
        effective_on=dt.date(2022, 1, 1),
    )
    organisation = refresh_organisation(organisation_id=organisation.pk)
    assert organisation.public_status == "disbanded"
    lede = lede_for(organisation)
    assert lede.startswith("Steady Union, a trade union, disbanded on 25 Sep 2021.")
    assert "reportedly" not in lede


def test_pressure_alone_tells_the_latest_pressure(make_public_organisation):
    organisation = make_public_organisation(
        name_en="Raided Group",
        name_zh="",
        org_type="political_group",
        event={"event_type": EventType.RAID, "stated_reason_en": ""},
    )
    assert organisation.public_status == "active"
    assert (
        lede_for(organisation)
        == "Raided Group, a political group, was raided on 25 Sep 2021. — 1 source"
    )

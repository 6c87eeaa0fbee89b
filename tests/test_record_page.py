"""The record as readers see it (issue 14): notes, fallbacks between languages, unconfirmed
statuses, related records and source labels; and what the admin says about each of them."""

import datetime as dt

from django.utils.html import escape

from closures.models import Confidence, EventType, Organisation, Source
from closures.serializers import EventSerializer, OrganisationSerializer


def page(client, organisation, language="en") -> str:
    return client.get(f"/{language}/organisations/{organisation.slug}/").content.decode()


def test_public_note_shows_and_curator_note_never_does(client, make_public_organisation):
    organisation = make_public_organisation(
        curator_note="Organisation canary: named a former chair",
        event={
            "public_note": "Sources differ on the date.",
            "curator_note": "Event canary: low-grade source",
        },
    )
    for language in ("en", "zh-hant"):
        text = page(client, organisation, language)
        assert "canary" not in text
    assert "Sources differ on the date." in page(client, organisation)


def test_chinese_page_marks_an_english_only_reason(client, make_public_organisation):
    organisation = make_public_organisation(
        event={"stated_reason_en": "Said the law left no choice.", "stated_reason_zh": ""}
    )
    text = page(client, organisation, "zh-hant")
    assert '<span lang="en">Said the law left no choice.</span>' in text
    assert "(English only)" in text


def test_english_page_marks_a_chinese_only_note(client, make_public_organisation):
    organisation = make_public_organisation(event={"public_note_zh": "日期由報道推算。"})
    text = page(client, organisation, "en")
    assert 'lang="zh-Hant"' in text and "日期由報道推算。" in text
    assert "（只有中文）" in text


def test_chinese_text_shows_on_the_chinese_page_without_a_marker(client, make_public_organisation):
    organisation = make_public_organisation(
        description_en="A union.",
        description_zh="一個工會。",
        event={"stated_reason_en": "Pressure.", "stated_reason_zh": "壓力。"},
    )
    text = page(client, organisation, "zh-hant")
    # The short description opens the lede: "…，一個工會，於…解散。"
    assert "一個工會" in text and "壓力。" in text
    assert "Pressure." not in text and "(English only)" not in text


def test_unconfirmed_status_is_marked_on_the_page_and_flagged_in_the_api(
    client, make_public_organisation
):
    organisation = make_public_organisation(event={"confidence": Confidence.LOW})
    assert organisation.public_status_unconfirmed
    assert "(unconfirmed)" in page(client, organisation)
    body = client.get(f"/api/v1/organisations/{organisation.slug}/").json()
    assert body["status_unconfirmed"] is True
    # The feed's summary is the record's lede, which tells an unconfirmed step as reported.
    assert "reportedly disbanded" in client.get("/en/feed/").content.decode()


def test_related_records_link_both_ways_and_the_api_names_the_parent(
    client, make_public_organisation
):
    parent = make_public_organisation(slug="cusu", name_en="CUHK Student Union")
    child = make_public_organisation(
        slug="college-su", name_en="College Student Union", parent_organisation=parent
    )
    assert f'href="/en/organisations/{child.slug}/"' in page(client, parent)
    assert f'href="/en/organisations/{parent.slug}/"' in page(client, child)
    body = client.get(f"/api/v1/organisations/{child.slug}/").json()
    assert body["parent_organisation"] == "cusu"


def test_a_parent_the_public_cannot_see_is_never_named(
    client, make_organisation, make_public_organisation
):
    hidden = make_organisation(slug="hidden-parent", name_en="Hidden Parent")
    child = make_public_organisation(slug="visible-child", parent_organisation=hidden)
    assert "hidden-parent" not in page(client, child)
    assert "Hidden Parent" not in page(client, child)
    listing = client.get("/api/v1/organisations/").json()
    assert [row["parent_organisation"] for row in listing["results"]] == [None]
    assert (
        "hidden-parent" not in client.get(f"/api/v1/organisations/{child.slug}/").content.decode()
    )


def test_a_source_without_a_title_shows_publisher_and_date_never_its_url(
    client, make_public_organisation
):
    organisation = make_public_organisation()
    source = Source.objects.get()
    source.title, source.publisher = "", "Ming Pao"
    source.published_on = dt.date(2021, 10, 3)
    source.save()
    text = page(client, organisation)
    assert f">Ming Pao, {escape(source.display_title().split(', ')[1])}</a>" in text
    assert f">{source.url}</a>" not in text
    source.publisher, source.published_on = "", None
    assert source.display_title() == source.url.split("/")[2].removeprefix("www.")


def test_new_event_types_are_steps_on_the_timeline(client, make_public_organisation):
    organisation = make_public_organisation(event={"event_type": EventType.REMOVAL_NOTICE})
    assert organisation.public_status == "removal_notice"
    assert "notice of intended removal" in page(client, organisation).lower()
    taxonomies = client.get("/api/v1/taxonomies/").content.decode()
    assert "dissolution_started" in taxonomies and "removal_notice" in taxonomies


def test_api_fields_are_the_models_public_fields():
    """The admin's "public" label and the API agree: every public field, no curator field."""
    api = set(OrganisationSerializer.Meta.fields) | set(EventSerializer.Meta.fields)
    for name in ("curator_note", "embargo_reason", "review_state", "submitted_by"):
        assert name not in api
        assert name not in Organisation.PUBLIC_FIELDS
    for name in ("public_note", "public_note_zh", "description_zh", "parent_organisation"):
        assert name in api


def test_admin_says_beside_each_field_whether_the_public_sees_it(
    client, admin_user, make_organisation, staff_login
):
    organisation = make_organisation()
    staff_login(client, admin_user)
    form = (
        client.get(f"/admin/closures/organisation/{organisation.pk}/change/")
        .context["adminform"]
        .form
    )
    assert str(form.fields["description_zh"].help_text).startswith("Public.")
    assert str(form.fields["curator_note"].help_text).startswith("Never public.")


def test_admin_lists_and_filters_records_lacking_a_translation(
    client, admin_user, make_organisation, make_event, staff_login
):
    complete = make_organisation(name_en="Both", name_zh="兩者")
    lacking = make_organisation(name_en="Both Too", name_zh="也有")
    make_event(lacking, stated_reason_en="English only reason", stated_reason_zh="")
    make_event(complete, stated_reason_en="Reason", stated_reason_zh="原因")
    assert lacking.missing_translations() == [
        f"{lacking.events.get().uid}: stated reason (English)"
    ]
    assert complete.missing_translations() == []
    staff_login(client, admin_user)
    response = client.get("/admin/closures/organisation/", {"translation": "missing"})
    assert [o.pk for o in response.context["cl"].result_list] == [lacking.pk]
    response = client.get(f"/admin/closures/organisation/{lacking.pk}/change/")
    assert "stated reason (English)" in response.content.decode()


def test_a_source_in_the_other_language_is_marked_with_its_lang(
    client, make_public_organisation, make_source
):
    organisation = make_public_organisation()
    event = organisation.events.get()
    chinese = make_source(title="港警搜查蘋果日報 凍結資產", publisher="中央社")
    event.citations.create(source=chinese, quote="保安局局長凍結三間公司資產。", claims=["event"])
    english = make_source(title="Police raid Apple Daily", language="en")
    event.citations.create(source=english, quote="Officers raided it.", claims=["event"])

    html = page(client, organisation)
    # Untagged by its curator, the Chinese source is recognised by its characters.
    assert 'lang="zh">港警搜查蘋果日報 凍結資產</a>' in html
    assert '<blockquote lang="zh"><p>保安局局長凍結三間公司資產。</p></blockquote>' in html
    assert 'lang="en">Police raid Apple Daily</a>' not in html

    html = page(client, organisation, "zh-hant")
    assert 'lang="en">Police raid Apple Daily</a>' in html
    assert '<blockquote lang="en"><p>Officers raided it.</p></blockquote>' in html
    assert '<blockquote lang="zh">' not in html


def test_a_public_note_shows_as_paragraphs_with_its_markup_escaped(
    client, make_public_organisation
):
    organisation = make_public_organisation(
        event={"public_note": "Sources differ on the date.\n\n<b>Two</b> give August."}
    )
    english = page(client, organisation)
    # Shown as paragraphs, not as the text "<p>…</p>" (as every curated note was).
    assert "<p>Sources differ on the date.</p>" in english
    assert "&lt;p&gt;" not in english
    # The Chinese page falls back to the English note: escaped there too.
    for text in (english, page(client, organisation, "zh-hant")):
        assert "<p>&lt;b&gt;Two&lt;/b&gt; give August.</p>" in text and "<b>Two" not in text


def test_labels_take_a_space_in_english_and_none_after_a_full_width_colon(
    client, make_public_organisation
):
    organisation = make_public_organisation()
    english = client.get(organisation.get_absolute_url()).content.decode()
    chinese = client.get(f"/zh-hant/organisations/{organisation.slug}/").content.decode()
    assert "This record as data: <a" in english and "Stable address: <a" in english
    assert "此記錄的資料：<a" in chinese and "固定網址：<a" in chinese
    assert "： <" not in chinese

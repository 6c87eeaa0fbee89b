"""The data page, the error pages and paging past the end: each answers its reader's question."""

from django.utils import timezone

from closures import services


def test_data_page_lists_every_export_with_rows_and_codebook(client, scenario, settings):
    settings.API_ANONYMOUS_RATE = "120/minute"
    response = client.get("/en/data/")  # the first request renders; later ones hit the cache
    html = response.content.decode()
    for name in ("events.csv", "events.json", "events.ndjson", "organisations.csv", "sources.csv"):
        assert f'href="/api/v1/export/{name}" download>{name}</a>' in html, name
    downloads = response.context["downloads"]
    rows = {file["name"]: file["rows"] for file in downloads}
    # The embargoed relocation and the hidden records are not counted.
    assert rows["events.csv"] == 3 and rows["organisations.csv"] == 3
    assert 'href="/codebook.md"' in html
    assert "120 requests per minute per client" in html
    assert 'pd.read_csv("http://testserver/api/v1/export/events.csv")' in html
    assert "read.csv(&quot;http://testserver/api/v1/export/events.csv&quot;" in html or (
        'read.csv("http://testserver/api/v1/export/events.csv"' in html
    )
    assert "cite an export with the date you downloaded it" in html


def test_codebook_describes_every_column_of_the_live_exports(client):
    response = client.get("/codebook.md")
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    text = response.content.decode()
    assert "## events.csv" in text and "| `organisation_id` |" in text


def test_not_found_page_offers_a_search(client, db):
    response = client.get("/en/organisations/no-such-record/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'action="/en/organisations/"' in html and 'name="q"' in html


def test_a_page_past_the_end_shows_the_last_page(client, make_public_organisation):
    for number in range(30):
        make_public_organisation(slug=f"union-{number}")
    response = client.get("/en/organisations/", {"page": "99"})
    assert response.status_code == 200
    assert response.context["page_obj"].number == 2
    assert len(response.context["organisations"]) == 5


def test_withdrawn_page_gives_reason_and_date_in_both_languages(
    client, make_public_organisation, reviewer
):
    organisation = make_public_organisation(name_en="Gone Union", name_zh="消失工會")
    services.withdraw(
        record=organisation, user=reviewer, reason="Found to be a duplicate.", reason_public=True
    )
    today = timezone.localdate().isoformat()
    for language in ("en", "zh-hant"):
        response = client.get(f"/{language}/organisations/{organisation.slug}/")
        assert response.status_code == 410
        html = response.content.decode()
        assert f"was withdrawn from the registry on {today}." in html
        assert f"消失工會的記錄已於{today}從登記冊撤回。" in html
        assert html.count("Found to be a duplicate.") == 2


def test_a_quiet_withdrawal_gives_only_the_day_in_both_languages(
    client, make_public_organisation, reviewer
):
    organisation = make_public_organisation(name_en="Quiet Union", name_zh="靜默工會")
    services.withdraw(record=organisation, user=reviewer, reason="Duplicate of another record")
    today = timezone.localdate().isoformat()
    response = client.get(f"/zh-hant/organisations/{organisation.slug}/")
    assert response.status_code == 410
    html = response.content.decode()
    assert f"This record has not been public since {today}." in html
    assert f"此記錄自 {today} 起不再公開。" in html
    assert "Quiet Union" not in html and "靜默工會" not in html and "Duplicate" not in html


def test_a_chinese_listing_row_and_search_chip_use_chinese_punctuation(
    client, make_public_organisation
):
    make_public_organisation(
        name_en="Raided Union", name_zh="被搜查工會", event={"event_type": "raid"}
    )
    html = client.get("/zh-hant/organisations/", {"q": "工會"}).content.decode()
    # The latest step and its date: 「搜查，2021年9月25日」, not an English comma.
    assert "搜查，2021年9月25日" in html and "搜查, " not in html
    assert "「工會」" in html and "“工會”" not in html
    english = client.get("/en/organisations/", {"q": "union"}).content.decode()
    assert "raid, 25 Sep 2021" in english and "“union”" in english


def test_an_empty_search_without_filters_does_not_mention_filters(client, db):
    for language, says in (
        ("en", "No organisation matches “zzz”."),
        ("zh-hant", "沒有組織符合「zzz」。"),
    ):
        html = client.get(f"/{language}/organisations/", {"q": "zzz"}).content.decode()
        assert says in html and "filters." not in html and "篩選條件。" not in html
    html = client.get("/en/organisations/", {"q": "zzz", "org_type": "union"}).content.decode()
    assert "No organisation matches “zzz” with these filters." in html

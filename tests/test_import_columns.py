"""The import format's v2 columns: aliases, parents, notes in two kinds, clean source URLs,
NFC text, and columns the import does not know (issue 14)."""

import unicodedata

import pytest
from django.core.management import CommandError, call_command

from closures.models import Alias, Event, Organisation, Source, clean_source_url
from closures.models.source import LibraryProxyURL
from closures.services import ImportFailed, import_registry

from .test_services import valid_row


def test_aliases_column_keeps_each_name_as_an_alias_in_its_language(db):
    import_registry(rows=[valid_row(aliases="職工盟 | CTU|職工盟")])
    aliases = dict(Alias.objects.values_list("name", "language"))
    assert aliases == {"職工盟": "zh-hant", "CTU": "en"}
    assert Alias.objects.filter(kind="alias").count() == 2
    organisation = Organisation.objects.get()
    assert "職工盟" in organisation.search_text
    assert list(Organisation.objects.search("職工盟")) == [organisation]


def test_an_import_without_the_aliases_column_keeps_existing_aliases(db):
    import_registry(rows=[valid_row(aliases="教協")])
    report = import_registry(rows=[valid_row()])
    assert list(Alias.objects.values_list("name", flat=True)) == ["教協"]
    assert not report.changed


def test_parent_may_come_later_in_the_file(db):
    child = valid_row(
        id="college-disbanded",
        organisation_id="college-su",
        name_en="College Student Union",
        name_zh="書院學生會",
        parent_organisation_id="test-org",
    )
    import_registry(rows=[child, valid_row(parent_organisation_id="")])
    college = Organisation.objects.get(slug="college-su")
    assert college.parent_organisation.slug == "test-org"
    # The link is part of the first version: the history shows no separate change for it.
    assert college.history.count() == 1


def test_unknown_parent_is_refused_naming_row_and_column(db):
    with pytest.raises(ImportFailed) as failure:
        import_registry(rows=[valid_row(parent_organisation_id="nowhere")])
    assert [str(problem) for problem in failure.value.problems] == [
        "row 2, column parent_organisation_id: No organisation 'nowhere' in the registry or in "
        "this file."
    ]
    assert not Organisation.objects.exists()


def test_parent_cycle_is_refused(db):
    rows = [
        valid_row(parent_organisation_id="other-org"),
        valid_row(
            id="other-disbanded",
            organisation_id="other-org",
            name_en="Other",
            name_zh="另一個",
            parent_organisation_id="test-org",
        ),
    ]
    with pytest.raises(ImportFailed) as failure:
        import_registry(rows=rows)
    messages = [str(problem) for problem in failure.value.problems]
    assert (
        "row 2, column parent_organisation_id: Organisation 'test-org' would be part of "
        "itself: test-org → other-org → test-org." in messages
    )


def test_notes_in_two_kinds_import_to_their_fields(db):
    import_registry(
        rows=[
            valid_row(
                notes="",
                public_note="Sources differ on the date.",
                public_note_zh="消息來源對日期說法不一。",
                curator_note="Name seen only in a forum post.",
            )
        ]
    )
    event = Event.objects.get()
    assert (event.public_note, event.public_note_zh, event.curator_note) == (
        "Sources differ on the date.",
        "消息來源對日期說法不一。",
        "Name seen only in a forum post.",
    )


def test_the_first_format_notes_become_curator_notes(db):
    import_registry(rows=[valid_row(notes="Low-grade source; names the chair.")])
    event = Event.objects.get()
    assert event.curator_note == "Low-grade source; names the chair."
    assert event.public_note == ""


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        (
            "https://www.scmp.com/news/article/3145093/x?utm_source=rss_feed",
            "https://www.scmp.com/news/article/3145093/x",
        ),
        ("https://example.org/a?id=7&fbclid=AbC&gclid=1", "https://example.org/a?id=7"),
        ("https://example.org/a?UTM_Medium=x&p=1", "https://example.org/a?p=1"),
        ("https://hkchr.org/?p=4170", "https://hkchr.org/?p=4170"),
    ],
)
def test_tracking_parameters_are_stripped(url, clean):
    assert clean_source_url(url) == clean


@pytest.mark.parametrize(
    "url",
    [
        "https://www-scmp-com.libproxy1.nus.edu.sg/news/hong-kong/politics/article/3149319/x",
        "https://www-nytimes-com.ezproxy.lib.example.edu/2021/x.html",
        "https://www.hkej.com.eproxy.lib.hku.hk/x",
    ],
)
def test_library_proxies_are_refused(url):
    with pytest.raises(LibraryProxyURL):
        clean_source_url(url)


def test_import_strips_tracking_and_names_row_and_column_of_a_proxy(db):
    import_registry(rows=[valid_row(source_url="https://news.example.org/x?utm_source=rss")])
    assert list(Source.objects.values_list("url", flat=True)) == ["https://news.example.org/x"]
    proxied = "https://www-scmp-com.libproxy1.nus.edu.sg/news/x"
    with pytest.raises(ImportFailed) as failure:
        import_registry(rows=[valid_row(id="second", source2_url=proxied)])
    assert [str(problem) for problem in failure.value.problems] == [
        "row 2, column source2_url: www-scmp-com.libproxy1.nus.edu.sg is a library proxy: "
        "give the publisher's own address instead."
    ]


def test_source_form_in_the_admin_cleans_and_refuses_the_same_way(db):
    source = Source(url="https://news.example.org/y?fbclid=123&id=2")
    source.full_clean()
    assert source.url == "https://news.example.org/y?id=2"
    source.url = "https://libproxy.example.edu/login?url=https://news.example.org/y"
    with pytest.raises(Exception, match="library proxy"):
        source.full_clean()


def test_imported_text_is_nfc_so_compatibility_characters_match(db):
    compatibility = "\ufa08\u653f\u6703"  # 行 (U+FA08) then 政會: how some archives store 行政會
    import_registry(rows=[valid_row(name_zh=compatibility, aliases=compatibility)])
    organisation = Organisation.objects.get()
    assert organisation.name_zh == "行政會" == unicodedata.normalize("NFC", compatibility)
    assert list(Organisation.objects.search("行政")) == [organisation]
    assert list(Organisation.objects.search("\ufa08政")) == [organisation]


def test_search_matches_all_words_in_any_order(db):
    import_registry(rows=[valid_row(name_en="Professional Teachers Union")])
    organisation = Organisation.objects.get()
    assert list(Organisation.objects.search("union teachers")) == [organisation]
    assert list(Organisation.objects.search("union bakers")) == []


def test_unknown_columns_are_named_in_the_dry_run(db, capsys, tmp_path):
    path = tmp_path / "rows.csv"
    row = valid_row(shoe_size="42", curator_notes="typo of a column")
    path.write_text(
        ",".join(row) + "\n" + ",".join(f'"{value}"' for value in row.values()) + "\n",
        encoding="utf-8",
    )
    call_command("import_registry", str(path), "--dry-run")
    output = capsys.readouterr().out
    assert "columns not recognised, so not imported: shoe_size, curator_notes" in output


def test_unknown_columns_are_named_when_the_import_fails_too(db, tmp_path):
    path = tmp_path / "rows.csv"
    row = valid_row(confidence="", shoe_size="42")
    path.write_text(
        ",".join(row) + "\n" + ",".join(f'"{value}"' for value in row.values()) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="columns not recognised: shoe_size"):
        call_command("import_registry", str(path))

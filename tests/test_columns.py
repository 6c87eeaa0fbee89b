"""The data dictionary: one declaration, and every channel that describes the data agrees."""

import datetime as dt
import re

import pytest
from django.utils import translation

from closures import columns, exports, releases, serializers
from closures.models import Confidence, Event


def test_every_export_and_release_table_comes_from_the_dictionary():
    assert exports.EVENT_COLUMNS == columns.names(columns.EVENT)
    assert exports.ORGANISATION_COLUMNS == columns.names(columns.ORGANISATION)
    assert exports.SOURCE_COLUMNS == columns.names(columns.SOURCE)
    schemas = releases.resource_schemas()
    for name, table in columns.TABLES.items():
        assert [spec["name"] for spec in schemas[name]["fields"]] == columns.names(table)


def test_the_copy_sql_gives_one_expression_per_column_in_order():
    sql, _params = exports.event_export_sql(Event.objects.all())
    guarded, texts = sql.split(" FROM (SELECT ", 1)
    texts = texts.split(" FROM closures_event e ", 1)[0]
    in_order = [str(index) for index in range(len(columns.EVENT))]
    # Each cell's text is computed once as c0, c1, …, then guarded against formulas.
    assert re.findall(r"'\) AS c(\d+)", texts) == in_order
    assert re.findall(r"CASE WHEN left\(c(\d+), 1\)", guarded) == in_order


def test_the_source_serializer_lists_the_shared_columns_under_their_api_names():
    fields = serializers.SourceSerializer.Meta.fields
    assert fields[: len(columns.api_fields(columns.SOURCE))] == columns.api_fields(columns.SOURCE)


def test_descriptions_come_from_the_model_help_text_unless_overridden():
    confidence = next(column for column in columns.EVENT if column.name == "confidence")
    assert confidence.describe() == str(Event._meta.get_field("confidence").help_text)


def confidence_help_text() -> str:
    return str(Event._meta.get_field("confidence").help_text)


def test_the_model_help_text_gives_the_same_confidence_definitions():
    with translation.override("en"):
        expected = "; ".join(
            f"{level}: {definition}" for level, definition in columns.CONFIDENCE_DEFINITIONS.items()
        )
        assert confidence_help_text() == expected + "."
    assert set(columns.CONFIDENCE_DEFINITIONS) == set(Confidence.values)


def test_the_codebook_gives_the_same_confidence_definitions():
    codebook = releases.codebook("2026.1.0")
    for level, definition in columns.CONFIDENCE_DEFINITIONS.items():
        assert f"- `{level}`: {definition}." in codebook
    assert "an official record" not in codebook  # the old, different definition


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hant"])
def test_the_about_page_gives_the_same_confidence_definitions(client, language):
    html = client.get(f"/{language}/about/").content.decode()
    section = html.split('id="confidence"', 1)[1].split("</dl>", 1)[0]
    shown = dict(re.findall(r"<dt[^>]*>(.*?)</dt><dd>(.*?)[.。]</dd>", section))
    with translation.override(language):
        expected = {
            str(Confidence(level).label).capitalize(): str(definition)[:1].upper()
            + str(definition)[1:]
            for level, definition in columns.CONFIDENCE_DEFINITIONS.items()
        }
    assert {label: text.replace("&#x27;", "'") for label, text in shown.items()} == expected
    if language == "zh-hant":
        assert "一篇可靠的報道" in section  # translated, not the English fallback


def test_timestamps_are_utc_with_z():
    hong_kong = dt.timezone(dt.timedelta(hours=8))
    moment = dt.datetime(2021, 10, 3, 20, 15, 7, tzinfo=hong_kong)
    assert columns.timestamp(moment) == "2021-10-03T12:15:07Z"


@pytest.mark.django_db
def test_the_api_and_the_csv_write_the_same_times_in_utc_with_z(client, make_public_organisation):
    make_public_organisation(slug="hkctu", name_en="HKCTU")
    organisation = client.get("/api/v1/organisations/hkctu/").json()
    event = organisation["events"][0]
    csv_text = client.get("/api/v1/export/events.csv")
    csv_row = b"".join(csv_text.streaming_content).decode().splitlines()[1]
    for value in (organisation["updated_at"], event["updated_at"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value)
    assert f'"{event["updated_at"]}"' in csv_row  # the same moment, written the same way

import csv
import io
import json

import pytest
from django.db import connection

from closures import exports, services
from closures.models import Event, Organisation


@pytest.fixture
def registry(scenario):
    """The shared scenario, with stated reasons a spreadsheet program would run as formulas
    and a second reason category, edited the way a curator's change is made."""
    ctu_event = scenario.ctu.events.get()
    ctu_event.stated_reason_en = '=HYPERLINK("http://evil.example") said, "quoted"\nand more'
    ctu_event.public_note = "Sources differ on the day."
    ctu_event.public_note_zh = "消息來源對日期說法不一。"
    ctu_event.curator_note = "Curator-only canary"
    ctu_event.confidence = "low"
    ctu_event.save()
    scenario.amnesty.parent_organisation = scenario.ctu
    scenario.amnesty.save()
    scenario.media.parent_organisation = scenario.hidden  # embargoed: never named
    scenario.media.save()
    amnesty_event = scenario.amnesty.events.get()
    amnesty_event.stated_reason_en = "-1 options left"
    amnesty_event.stated_reason_zh = "＝1+1"
    amnesty_event.save()
    amnesty_event.reasons.add("safety_of_staff")
    scenario.ctu.aliases.create(name="職工盟", language="zh-hant")
    for organisation in (scenario.ctu, scenario.amnesty, scenario.media):
        services.refresh_organisation(organisation_id=organisation.pk)
    return scenario


def fetch(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.getvalue()


def read_csv(body: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_events_csv_reads_back_with_every_public_event_and_chinese_intact(client, registry):
    rows = read_csv(fetch(client, "/api/v1/export/events.csv"))
    assert len(rows) == Event.objects.public().count() == 3
    ctu = next(row for row in rows if row["organisation_id"] == "hkctu")
    assert ctu["organisation_name_zh"] == "香港職工會聯盟"
    assert ctu["stated_reason_zh"] == "會員受到威脅。"
    amnesty = next(row for row in rows if row["organisation_id"] == "amnesty")
    assert amnesty["effective"] == "2021-12" and amnesty["effective_precision"] == "month"
    assert amnesty["reasons"] == "nsl_pressure | safety_of_staff"
    for hidden in ("secret plan", "apple-daily-secret-move", "hidden-union", "draft-union"):
        assert hidden not in json.dumps(rows, ensure_ascii=False)


def test_formula_cells_are_neutralised_in_csv(client, registry):
    rows = read_csv(fetch(client, "/api/v1/export/events.csv"))
    reasons = {row["organisation_id"]: row["stated_reason_en"] for row in rows}
    assert reasons["hkctu"].startswith("'=HYPERLINK(")
    assert reasons["hkctu"].endswith('said, "quoted"\nand more')
    assert reasons["amnesty"] == "'-1 options left"
    assert {row["organisation_id"]: row["stated_reason_zh"] for row in rows}["amnesty"] == "'＝1+1"


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r", "＝", "|"])
def test_every_formula_prefix_is_neutralised(prefix):
    assert exports.neutralise(prefix + "cmd") == "'" + prefix + "cmd"
    assert exports.neutralise("a" + prefix) == "a" + prefix


def test_bom_option_for_excel(client, registry):
    assert fetch(client, "/api/v1/export/events.csv?bom=1").startswith("\ufeff".encode())
    assert not fetch(client, "/api/v1/export/events.csv").startswith("\ufeff".encode())


def test_json_and_ndjson_equal_the_api_content(client, registry):
    array = json.loads(fetch(client, "/api/v1/export/events.json"))
    lines = [
        json.loads(line) for line in fetch(client, "/api/v1/export/events.ndjson").splitlines()
    ]
    assert array == lines
    api = {row["id"]: row for row in client.get("/api/v1/events/").json()["results"]}
    assert {row["event_id"] for row in array} == set(api)
    for row in array:
        event = api[row["event_id"]]
        assert row["effective"] == (event["effective"] or "")
        assert row["stated_reason_zh"] == event["stated_reason_zh"]
        assert row["source_ids"].split(" | ") == sorted(c["source"] for c in event["citations"])


def test_exports_take_the_listing_filters(client, registry):
    rows = read_csv(fetch(client, "/api/v1/export/events.csv?country=TW"))
    assert [row["organisation_id"] for row in rows] == ["amnesty"]
    rows = read_csv(fetch(client, "/api/v1/export/organisations.csv?q=職工盟"))
    assert [row["organisation_id"] for row in rows] == ["hkctu"]
    assert rows[0]["aliases"] == "Confederation of Trade Unions | 職工盟"
    assert client.get("/api/v1/export/events.csv?date_from=nonsense").status_code == 400


def test_organisations_and_sources_csv(client, registry):
    organisations = read_csv(fetch(client, "/api/v1/export/organisations.csv"))
    assert sorted(row["organisation_id"] for row in organisations) == [
        "amnesty",
        "apple-daily",
        "hkctu",
    ]
    sources = read_csv(fetch(client, "/api/v1/export/sources.csv"))
    cited = {
        uid
        for row in read_csv(fetch(client, "/api/v1/export/events.csv"))
        for uid in row["source_ids"].split(" | ")
    }
    assert {row["source_id"] for row in sources} == cited


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
@pytest.mark.parametrize("query", ["", "country=TW", "q=union"])
def test_copy_fast_path_gives_the_same_bytes_as_the_portable_path(client, registry, query):
    fast = fetch(client, f"/api/v1/export/events.csv?{query}")
    events = Event.objects.public()
    if query:
        from django.http import QueryDict

        from closures.filters import RegistryFilterSet

        filterset = RegistryFilterSet(QueryDict(query), queryset=Organisation.objects.public())
        assert filterset.is_valid()
        events = filterset.filter_events(events)
    portable = b"".join(exports.csv_lines(exports.event_rows(events), exports.EVENT_COLUMNS))
    assert fast == portable
    assert len(read_csv(fast)) == events.count() > 0  # real rows were compared


def test_exports_carry_public_notes_parents_and_the_unconfirmed_flag(client, registry):
    events = {row["event_id"]: row for row in read_csv(fetch(client, "/api/v1/export/events.csv"))}
    ctu = events["hkctu-disbanded"]
    assert (ctu["public_note"], ctu["public_note_zh"]) == (
        "Sources differ on the day.",
        "消息來源對日期說法不一。",
    )
    assert ctu["organisation_status_unconfirmed"] == "true"
    assert events["amnesty-relocated"]["organisation_status_unconfirmed"] == "false"
    body = fetch(client, "/api/v1/export/organisations.csv")
    organisations = {row["organisation_id"]: row for row in read_csv(body)}
    assert organisations["hkctu"]["status_unconfirmed"] == "true"
    assert organisations["amnesty"]["parent_organisation_id"] == "hkctu"
    assert organisations["apple-daily"]["parent_organisation_id"] == ""
    for url in ("events.csv", "events.json", "organisations.csv"):
        text = fetch(client, f"/api/v1/export/{url}").decode()
        assert "Curator-only canary" not in text and "hidden-union" not in text

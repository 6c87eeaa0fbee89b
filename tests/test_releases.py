import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from frictionless import Package

from closures import releases, services, tasks
from closures.models import Release

TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def releases_dir(settings, tmp_path):
    settings.RELEASES_DIR = tmp_path / "releases"
    return settings.RELEASES_DIR


def members(release: Release) -> dict[str, bytes]:
    path = Path(releases.settings.RELEASES_DIR) / release.filename
    with zipfile.ZipFile(path) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def test_same_data_gives_byte_identical_packages(scenario):
    first = releases.package_bytes(
        version="2026.11.0", released_on=TODAY, snapshot=releases.take_snapshot(), previous=None
    )
    second = releases.package_bytes(
        version="2026.11.0", released_on=TODAY, snapshot=releases.take_snapshot(), previous=None
    )
    assert first == second


def test_a_release_is_numbered_recorded_and_never_rebuilt(scenario):
    release = releases.build_release(today=TODAY)
    assert release.version == "2026.11.0"
    path = Path(releases.settings.RELEASES_DIR) / release.filename
    assert hashlib.sha256(path.read_bytes()).hexdigest() == release.sha256
    assert release.counts["organisations"] == 3 and release.counts["events"] == 3
    with pytest.raises(releases.ReleaseRefused):
        releases.build_release(version="2026.11.0", today=TODAY)
    assert releases.build_release(today=TODAY).version == "2026.11.1"


def test_package_validates_and_holds_only_public_records(scenario, tmp_path):
    files = members(releases.build_release(today=TODAY))
    for name, content in files.items():
        target = tmp_path / "package" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    report = Package(str(tmp_path / "package" / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    text = b"\n".join(files.values()).decode()
    assert "香港職工會聯盟" in text and "Confederation of Trade Unions" in text
    for hidden in ("secret plan", "apple-daily-secret-move", "hidden-union", "draft-union"):
        assert hidden not in text
    sums = dict(line.split("  ")[::-1] for line in files["SHA256SUMS"].decode().splitlines())
    assert sums["data/events.csv"] == hashlib.sha256(files["data/events.csv"]).hexdigest()
    schema = json.loads(files["datapackage.json"])["resources"][1]["schema"]
    assert schema["foreignKeys"][0]["reference"]["resource"] == "organisations"
    assert "disbanded" in schema["fields"][7]["constraints"]["enum"]


def test_citation_cff_is_valid_cff_1_2(scenario):
    files = members(releases.build_release(today=TODAY))
    schema_path = Path(jsonschema.__file__).parents[1] / "cffconvert/schemas/1.2.0/schema.json"
    citation = yaml.safe_load(files["CITATION.cff"])
    citation["date-released"] = str(citation["date-released"])  # YAML reads it as a date
    jsonschema.validate(citation, json.loads(schema_path.read_text()))
    assert citation["version"] == "2026.11.0" and citation["license"] == "CC-BY-4.0"


def test_changes_list_added_changed_and_withdrawn(scenario):
    releases.build_release(today=TODAY)
    services.withdraw(record=scenario.amnesty, user=scenario.reviewer, reason="Duplicate.")
    scenario.ctu.name_en = "HKCTU (renamed)"
    scenario.ctu.save()
    files = members(releases.build_release(today=TODAY))
    changes = files["CHANGES.md"].decode()
    assert "since release 2026.11.0" in changes
    assert "## Changed (1)\n- hkctu" in changes and "## Withdrawn (1)\n- amnesty" in changes


def test_weekly_task_builds_only_when_something_changed(scenario):
    version = tasks.build_weekly_release.delay().get()
    assert version == Release.objects.get().version
    assert tasks.build_weekly_release.delay().get() is None
    assert Release.objects.count() == 1


def test_releases_are_listed_and_downloadable(client, scenario):
    release = releases.build_release(today=TODAY)
    (listed,) = client.get("/api/v1/releases/").json()
    assert listed["version"] == "2026.11.0" and listed["sha256"] == release.sha256
    assert "2026.11.0" in listed["citation"]
    response = client.get(listed["download_url"].replace("http://testserver", ""))
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == release.sha256
    assert zipfile.ZipFile(io.BytesIO(body)).testzip() is None
    assert client.get("/releases/1999.1.0.zip").status_code == 404


def test_data_page_lists_releases_with_checksums_and_dataset_json_ld(client, scenario):
    release = releases.build_release(today=TODAY)
    page = client.get("/en/data/").content.decode()
    assert release.sha256 in page and release.get_download_url() in page
    block = page.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    data = json.loads(block)
    assert data["@type"] == "Dataset" and data["version"] == "2026.11.0"
    assert data["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert client.get("/zh-hant/data/").status_code == 200

import datetime as dt
import hashlib
import io
import json
import threading
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.db import connection, connections
from django.utils import timezone
from frictionless import Package

from closures import releases, services, tasks
from closures.models import Citation, Event, Organisation, Release
from tests.scenario import submit_and_publish

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
    event_type = next(field for field in schema["fields"] if field["name"] == "event_type")
    assert "disbanded" in event_type["constraints"]["enum"]
    assert "removal_notice" in event_type["constraints"]["enum"]


def test_citation_cff_is_valid_cff_1_2(scenario):
    files = members(releases.build_release(today=TODAY))
    schema_path = Path(jsonschema.__file__).parents[1] / "cffconvert/schemas/1.2.0/schema.json"
    citation = yaml.safe_load(files["CITATION.cff"])
    citation["date-released"] = str(citation["date-released"])  # YAML reads it as a date
    jsonschema.validate(citation, json.loads(schema_path.read_text()))
    assert citation["version"] == "2026.11.0" and citation["license"] == "CC-BY-4.0"


def test_changes_list_added_changed_and_no_longer_public(scenario):
    releases.build_release(today=TODAY)
    services.withdraw(
        record=scenario.amnesty, user=scenario.reviewer, reason="Duplicate.", reason_public=True
    )
    scenario.ctu.name_en = "HKCTU (renamed)"
    scenario.ctu.save()
    services.refresh_organisation(organisation_id=scenario.ctu.pk)
    files = members(releases.build_release(today=TODAY))
    changes = files["CHANGES.md"].decode()
    assert "since release 2026.11.0" in changes
    assert "## Changed (1)\n- hkctu" in changes
    # Withdrawn or embargoed alike: a release says no more than that it left public view.
    assert "## No longer public (1)\n- amnesty" in changes and "Duplicate" not in changes


def test_an_edit_of_something_hidden_is_no_change_for_a_release(scenario):
    releases.build_release(today=TODAY)
    secret = scenario.media.events.get(uid="apple-daily-secret-move")
    secret.stated_reason_en = "Another embargoed detail"
    secret.save()
    scenario.media.curator_note = "Curator note"
    scenario.media.save()
    services.refresh_organisation(organisation_id=scenario.media.pk)
    assert releases.build_release(today=TODAY, only_if_changed=True) is None


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
    # The release's row counts say what they count, in the page's language.
    counts = release.counts
    assert f"{counts['organisations']} organisations, {counts['events']} events" in page
    chinese = client.get("/zh-hant/data/").content.decode()
    assert f"{counts['organisations']}個組織、{counts['events']}個事件" in chinese


def data_files(release: Release) -> dict[str, bytes]:
    return {name: content for name, content in members(release).items() if name.startswith("data/")}


def edit_an_embargoed_event_a_day_later(scenario, monkeypatch):
    a_day_later = timezone.now() + dt.timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: a_day_later)
    secret = Event.objects.get(uid="apple-daily-secret-move")
    secret.stated_reason_en = "Another embargoed detail"
    secret.save()
    services.refresh_organisation(organisation_id=scenario.media.pk)


def assert_no_release_and_no_change(first: Release) -> None:
    assert releases.build_release(today=TODAY, only_if_changed=True) is None
    second = releases.build_release(today=TODAY)
    assert data_files(second) == data_files(first)
    assert second.fingerprints == first.fingerprints
    assert "## Changed (0)\n- none" in members(second)["CHANGES.md"].decode()


def test_an_edit_of_an_embargoed_event_builds_no_release_and_changes_nothing(scenario, monkeypatch):
    first = releases.build_release(today=TODAY)
    edit_an_embargoed_event_a_day_later(scenario, monkeypatch)
    assert_no_release_and_no_change(first)


def test_an_edit_of_a_curator_note_builds_no_release_and_changes_nothing(scenario, monkeypatch):
    first = releases.build_release(today=TODAY)
    edit_an_embargoed_event_a_day_later(scenario, monkeypatch)
    scenario.media.curator_note = "Curator note: staff contact changed"
    scenario.media.save()
    services.refresh_organisation(organisation_id=scenario.media.pk)
    assert_no_release_and_no_change(first)


def test_fingerprints_come_from_the_rows_of_each_organisation_in_the_files(scenario):
    snapshot = releases.take_snapshot()
    assert set(snapshot.fingerprints) == {"amnesty", "apple-daily", "hkctu"}
    assert releases.fingerprints_of(snapshot.files) == snapshot.fingerprints
    quote = Citation.objects.filter(event__organisation=scenario.amnesty).first()
    quote.quote = "A quote a reader now sees"
    quote.save()
    changed = releases.take_snapshot()
    assert changed.files["data/citations.csv"] != snapshot.files["data/citations.csv"]
    assert {
        slug
        for slug in snapshot.fingerprints
        if changed.fingerprints[slug] != snapshot.fingerprints[slug]
    } == {"amnesty"}


def test_a_build_that_loses_the_race_for_its_number_takes_the_next(scenario, monkeypatch):
    real_package_bytes = releases.package_bytes

    def another_build_records_it_first(*, version, **kwargs):
        if not Release.objects.filter(version=version).exists() and version == "2026.11.0":
            Release.objects.create(
                version=version, released_on=TODAY, filename="other.zip", size=1, sha256="0"
            )
        return real_package_bytes(version=version, **kwargs)

    monkeypatch.setattr(releases, "package_bytes", another_build_records_it_first)
    release = releases.build_release(today=TODAY)
    assert release.version == "2026.11.1"
    directory = Path(releases.settings.RELEASES_DIR)
    assert sorted(path.name for path in directory.iterdir()) == [release.filename]


def test_a_build_given_a_version_that_another_records_first_writes_nothing(scenario, monkeypatch):
    real_package_bytes = releases.package_bytes

    def another_build_records_it_first(*, version, **kwargs):
        Release.objects.create(
            version=version, released_on=TODAY, filename="other.zip", size=1, sha256="0"
        )
        return real_package_bytes(version=version, **kwargs)

    monkeypatch.setattr(releases, "package_bytes", another_build_records_it_first)
    with pytest.raises(releases.ReleaseRefused, match="exists already"):
        releases.build_release(version="2026.11.5", today=TODAY)
    directory = Path(releases.settings.RELEASES_DIR)
    assert not directory.exists() or not any(directory.iterdir())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="isolation levels are PostgreSQL's")
# Serialized rollback: an earlier transactional test flushes the groups the migrations made.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_publish_committed_mid_build_is_not_half_in_the_release(scenario, monkeypatch):
    """The organisations are read, then another connection publishes draft-union and its
    event, then the events are read: the release must hold all of it or none of it."""
    real_csv_lines = releases.exports.csv_lines

    def publish_from_another_connection():
        try:
            submit_and_publish("draft-union", curator=scenario.curator, reviewer=scenario.reviewer)
        finally:
            connections.close_all()

    published = []

    def publish_once_organisations_are_written(rows, names, **kwargs):
        # organisations.csv is written, events.csv is next (and later files read events too:
        # the other connection publishes once).
        if names[0] == "event_id" and not published:
            published.append(True)
            worker = threading.Thread(target=publish_from_another_connection)
            worker.start()
            worker.join()
        return real_csv_lines(rows, names, **kwargs)

    monkeypatch.setattr(releases.exports, "csv_lines", publish_once_organisations_are_written)
    release = releases.build_release(today=TODAY)
    assert Organisation.objects.public().filter(slug="draft-union").exists()  # it did commit
    tables = releases.read_tables(data_files(release))
    organisations = {row[0] for row in tables["organisations"][1]}
    event_owners = {row[1] for row in tables["events"][1]}
    assert "draft-union" not in organisations and event_owners <= organisations
    assert "draft-union" not in b"".join(members(release).values()).decode()

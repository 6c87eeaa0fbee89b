"""Redacting a release (issue 13.3): a reviewer replaces its file with a rebuild without the
records that are no longer public; the original is never served again."""

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from frictionless import Package

from closures import redaction, releases, services
from closures.models import Citation, Release

from .test_releases import TODAY, members

LATER = dt.date(2026, 12, 3)


@pytest.fixture(autouse=True)
def releases_dir(settings, tmp_path):
    settings.RELEASES_DIR = tmp_path / "releases"
    settings.RELEASES_REDACTED_ORIGINALS_DIR = None
    return settings.RELEASES_DIR


@pytest.fixture
def released_then_embargoed(scenario):
    """Release 2026.11.0 holds amnesty; then a reviewer embargoes amnesty."""
    release = releases.build_release(today=TODAY)
    services.set_embargo(record=scenario.amnesty, user=scenario.reviewer, reason="Staff at risk.")
    return release


def amnesty_only_sources(release_files) -> set[str]:
    tables = releases.read_tables(release_files)
    owners = {row[0]: row[1] for row in tables["events"][1]}
    cited_by = {}
    for event_id, source_id, *_ in tables["citations"][1]:
        cited_by.setdefault(source_id, set()).add(owners[event_id])
    return {source for source, slugs in cited_by.items() if slugs == {"amnesty"}}


def test_a_redacted_release_has_none_of_the_organisation_and_its_own_checksums(
    released_then_embargoed, tmp_path
):
    original = members(released_then_embargoed)
    only_amnesty = amnesty_only_sources(original)
    assert only_amnesty  # the scenario's amnesty cites a source of its own
    release = redaction.redact_release(
        release=released_then_embargoed, reason="Embargoed after the release.", today=LATER
    )
    assert release.file_version == "2026.11.0-r1" and release.redacted_on == LATER
    assert release.filename == "closures-registry-2026.11.0-r1.zip"
    path = Path(releases.settings.RELEASES_DIR) / release.filename
    assert hashlib.sha256(path.read_bytes()).hexdigest() == release.sha256
    assert not (Path(releases.settings.RELEASES_DIR) / released_then_embargoed.filename).exists()
    files = members(release)
    text = b"\n".join(files.values()).decode()
    assert "amnesty" not in text and "Amnesty" not in text
    assert not any(source in text for source in only_amnesty)
    assert "hkctu" in text and "apple-daily" in text
    sums = dict(line.split("  ")[::-1] for line in files["SHA256SUMS"].decode().splitlines())
    for name, content in files.items():
        if name != "SHA256SUMS":
            assert sums[name] == hashlib.sha256(content).hexdigest()
    assert json.loads(files["datapackage.json"])["version"] == "2026.11.0-r1"
    for name, content in files.items():
        target = tmp_path / "package" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    report = Package(str(tmp_path / "package" / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    changes = files["CHANGES.md"].decode()
    assert "redacted on 2026-12-03" in changes and "## Added (2)\n- apple-daily\n- hkctu" in changes
    assert release.counts == {
        "organisations": 2,
        "events": 2,
        "sources": len(releases.read_tables(files)["sources"][1]),
        "citations": Citation.objects.filter(
            event__organisation__slug__in=["hkctu", "apple-daily"], event__embargoed=False
        ).count(),
        "aliases": 1,
    }
    assert set(release.fingerprints) == {"apple-daily", "hkctu"}
    assert release.redaction_log[-1]["organisations"] == ["amnesty"]


def test_rows_of_the_organisations_kept_are_byte_identical(released_then_embargoed):
    original = members(released_then_embargoed)
    data = {name: content for name, content in original.items() if name.startswith("data/")}
    assert redaction.without_organisations(data, set()) == data
    redacted = members(redaction.redact_release(release=released_then_embargoed, reason="Risk."))
    for name in data:
        kept = redacted[name].decode().splitlines()
        assert set(kept) <= set(original[name].decode().splitlines())


def test_the_original_is_never_served_and_its_address_leads_to_the_redacted_file(
    client, released_then_embargoed
):
    original_url = released_then_embargoed.get_download_url()
    release = redaction.redact_release(release=released_then_embargoed, reason="Risk.", today=LATER)
    response = client.get(original_url)
    assert response.status_code == 302 and response["Location"] == release.get_download_url()
    served = client.get(release.get_download_url())
    assert hashlib.sha256(b"".join(served.streaming_content)).hexdigest() == release.sha256
    assert client.get("/releases/2026.11.0-r7.zip").status_code == 404
    (listed,) = client.get("/api/v1/releases/").json()
    assert listed["version"] == "2026.11.0" and listed["redacted_on"] == "2026-12-03"
    assert listed["sha256"] == release.sha256 and "-r1.zip" in listed["download_url"]
    assert "amnesty" not in json.dumps(listed) and "Risk" not in json.dumps(listed)
    page = client.get("/en/data/").content.decode()
    assert "(redacted on 2026-12-03)" in page and release.sha256 in page
    assert released_then_embargoed.sha256 not in page and "Risk" not in page


def test_the_original_is_kept_only_where_the_operator_chose(
    settings, tmp_path, released_then_embargoed
):
    settings.RELEASES_REDACTED_ORIGINALS_DIR = tmp_path / "kept"
    original_path = Path(settings.RELEASES_DIR) / released_then_embargoed.filename
    original_bytes = original_path.read_bytes()
    redaction.redact_release(release=released_then_embargoed, reason="Risk.")
    assert not original_path.exists()
    kept = tmp_path / "kept" / released_then_embargoed.filename
    assert kept.read_bytes() == original_bytes


def test_a_second_redaction_takes_the_next_suffix(scenario, released_then_embargoed, client):
    first = redaction.redact_release(release=released_then_embargoed, reason="Risk.")
    second = redaction.redact_release(
        release=first, reason="Asked by the subject.", organisations=["hkctu"]
    )
    assert second.file_version == "2026.11.0-r2"
    assert "hkctu" not in b"".join(members(second).values()).decode()
    for earlier in ("/releases/2026.11.0.zip", "/releases/2026.11.0-r1.zip"):
        assert client.get(earlier)["Location"] == second.get_download_url()


def test_redaction_refuses_without_a_reason_an_unknown_or_nothing_to_remove(scenario):
    release = releases.build_release(today=TODAY)
    with pytest.raises(releases.ReleaseRefused, match="still public"):
        redaction.redact_release(release=release, reason="Risk.")
    with pytest.raises(releases.ReleaseRefused, match="Not in this release: nowhere"):
        redaction.redact_release(release=release, reason="Risk.", organisations=["nowhere"])
    with pytest.raises(releases.ReleaseRefused, match="reason"):
        redaction.redact_release(release=release, reason=" ", organisations=["hkctu"])
    assert Release.objects.get().redaction == 0
    assert (Path(releases.settings.RELEASES_DIR) / release.filename).exists()


def test_the_command_redacts_the_organisations_no_longer_public(released_then_embargoed, capsys):
    call_command("redact_release", "2026.11.0", "--reason", "Embargoed after the release.")
    release = Release.objects.get()
    assert release.file_version == "2026.11.0-r1" and "1 organisation(s) removed" in (
        capsys.readouterr().out
    )
    with pytest.raises(CommandError, match="No release 1999.1.0"):
        call_command("redact_release", "1999.1.0", "--reason", "x")


def test_only_reviewers_may_redact_in_the_admin(
    client, staff_login, curator, reviewer, released_then_embargoed
):
    changelist = "/admin/closures/release/"
    post = {"action": "redact", "_selected_action": [released_then_embargoed.pk]}
    staff_login(client, curator)
    assert client.get(changelist).status_code == 200
    client.post(changelist, {**post, "apply": "1", "reason": "Risk."})
    assert Release.objects.get().redaction == 0
    staff_login(client, reviewer)
    form = client.post(changelist, post)
    assert b"organisations to remove" in form.content
    client.post(changelist, {**post, "apply": "1", "reason": "Risk.", "organisations": ""})
    release = Release.objects.get()
    assert release.redaction == 1 and release.redaction_log[0]["by"] == "reviewer"

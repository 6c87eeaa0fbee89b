"""The OpenAPI schema as client generators and readers of the docs meet it."""

import csv
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from closures.models.source import source_uid_for


@pytest.fixture
def schema_file(tmp_path, db):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(path))
    return path


def test_a_generated_python_client_parses_every_endpoint(schema_file, tmp_path, client, scenario):
    """openapi-python-client refuses, with --fail-on-warning, any response it cannot parse
    (the taxonomies response used to reference a `Choice` component nothing declared)."""
    output = tmp_path / "registry_client"
    bin_dir = Path(sys.executable).parent  # its formatting step runs ruff from the venv
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(schema_file),
            "--output-path",
            str(output),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        taxonomies = importlib.import_module("registry_client.models.taxonomies").Taxonomies
        parsed = taxonomies.from_dict(client.get("/api/v1/taxonomies/").json())
    finally:
        sys.path.remove(str(tmp_path))
    assert {choice.code for choice in parsed.confidence} == {"high", "medium", "low"}
    assert next(c for c in parsed.organisation_types if c.code == "union").label_zh == "工會"


def test_docs_have_no_authorize_button_and_state_the_rate_limit(schema_file, settings):
    schema = yaml.safe_load(schema_file.read_text())
    assert "securitySchemes" not in schema.get("components", {})
    description = schema["info"]["description"]
    assert f"{settings.API_ANONYMOUS_RATE.split('/')[0]} requests per" in description
    assert "[Back to the registry's site](/en/data/)" in description


@pytest.mark.parametrize(
    "path, example",
    [
        ("/api/v1/organisations/{slug}/", "apple-daily"),
        ("/api/v1/events/{uid}/", "hkctu-societies-removed"),
        ("/api/v1/sources/{uid}/", "src-46f98800a674"),
    ],
)
def test_example_ids_exist_in_the_curated_data(schema_file, path, example):
    schema = yaml.safe_load(schema_file.read_text())
    parameter = schema["paths"][path]["get"]["parameters"][0]
    examples = [entry["value"] for entry in parameter["examples"].values()]
    assert examples == [example]
    assert example in curated_ids()


def curated_ids() -> set[str]:
    """Organisation, event and source IDs of the curated data, as its import assigns them."""
    ids = set()
    for path in (Path(__file__).parent.parent / "fixtures").glob("*.csv"):
        with path.open(encoding="utf-8") as file:
            for row in csv.DictReader(file):
                ids |= {row["id"], row["organisation_id"]}
                ids |= {source_uid_for(url) for url in (row["source_url"], row.get("source2_url"))}
    return ids

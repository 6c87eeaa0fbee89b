"""A re-import never destroys curator work, and its dry run predicts it exactly (issue 12)."""

import io
import os
from pathlib import Path

from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from closures.models import Alias, Citation, Event, Organisation, Source, SourceType
from closures.services import ImportFailed, MergeRules, import_registry
from closures.services.import_parser import EVENT_COLUMNS, ORGANISATION_COLUMNS
from tests.test_import_admin import IMPORT_URL, csv_upload, row, upload
from tests.test_services import valid_row

ROOT = Path(__file__).resolve().parent.parent


def without(column: str, **overrides) -> dict:
    values = valid_row(**{column: "", **overrides})
    del values[column]
    return values


def rename_in_admin(organisation: Organisation, **values) -> None:
    """What the admin's change form does: set the fields and save with a reason."""
    for name, value in values.items():
        setattr(organisation, name, value)
    organisation._change_reason = "Corrected by a curator"
    organisation.save()


def test_a_column_absent_from_the_file_leaves_the_field_untouched(db):
    import_registry(rows=[valid_row(source_type="news_report")])
    source = Source.objects.get()
    assert source.source_type == SourceType.NEWS_REPORT
    report = import_registry(rows=[without("source_type", acronym="TO")])
    source.refresh_from_db()
    assert source.source_type == SourceType.NEWS_REPORT
    assert not report.conflicts
    # Columns that are present still apply.
    assert Organisation.objects.get().acronym == "TO"


def test_a_new_source_without_a_type_column_takes_the_default(db):
    import_registry(rows=[valid_row()])
    assert Source.objects.get().source_type == SourceType.OTHER


def test_an_empty_cell_leaves_the_field_untouched_unless_blanks_are_cleared(db):
    import_registry(
        rows=[valid_row(acronym="TO", destination_city="Taipei", destination_country="TW")]
    )
    import_registry(rows=[valid_row(acronym="", destination_city="", destination_country="")])
    assert Organisation.objects.get().acronym == "TO"
    assert Event.objects.get().destination_city == "Taipei"
    report = import_registry(
        rows=[valid_row(acronym="", destination_city="", destination_country="")],
        rules=MergeRules(clear_blanks=True),
    )
    assert not report.conflicts
    assert Organisation.objects.get().acronym == ""
    assert Event.objects.get().destination_city == ""


def test_a_value_changed_in_the_admin_is_kept_and_listed_as_a_conflict(db):
    import_registry(rows=[valid_row()])
    organisation = Organisation.objects.get()
    rename_in_admin(organisation, name_en="Test Organisation of Hong Kong")
    dry_run = import_registry(rows=[valid_row()], dry_run=True)
    (conflict,) = dry_run.conflicts
    assert (conflict.kind, conflict.record, conflict.column) == (
        "organisation",
        "test-org",
        "name_en",
    )
    assert (conflict.current, conflict.file, conflict.row) == (
        "Test Organisation of Hong Kong",
        "Test Organisation",
        2,
    )
    report = import_registry(rows=[valid_row()])
    assert report.conflicts == dry_run.conflicts
    organisation.refresh_from_db()
    assert organisation.name_en == "Test Organisation of Hong Kong"
    # The file's own name does not come back as an alias either.
    assert not Alias.objects.exists()
    assert "kept, not overwritten" in report.summary()


def test_only_an_explicit_choice_overwrites_a_conflict(db):
    import_registry(rows=[valid_row()])
    organisation = Organisation.objects.get()
    rename_in_admin(organisation, name_en="Renamed", acronym="RN")
    report = import_registry(rows=[valid_row(acronym="TO")], dry_run=True)
    keys = {conflict.column: conflict.key for conflict in report.conflicts}
    assert set(keys) == {"name_en", "acronym"}
    import_registry(rows=[valid_row(acronym="TO")], rules=MergeRules(overwrite={keys["acronym"]}))
    organisation.refresh_from_db()
    assert (organisation.name_en, organisation.acronym) == ("Renamed", "TO")
    report = import_registry(rows=[valid_row(acronym="TO")], rules=MergeRules(prefer_file=True))
    organisation.refresh_from_db()
    assert organisation.name_en == "Test Organisation"
    # What the import wrote is the new baseline: the same file again has nothing to report.
    again = import_registry(rows=[valid_row(acronym="TO")], dry_run=True)
    assert not again.conflicts and not again.changed


def test_a_change_the_file_also_made_is_no_conflict(db):
    import_registry(rows=[valid_row()])
    rename_in_admin(Organisation.objects.get(), name_en="Renamed")
    report = import_registry(rows=[valid_row(name_en="Renamed")])
    assert not report.conflicts


def test_event_fields_reasons_quotes_and_sources_are_protected_too(db):
    import_registry(rows=[valid_row()])
    event = Event.objects.get()
    event.stated_reason_en = "Edited reason"
    event.save()
    event.reasons.set(event.reasons.filter(code="legal_risk"))
    citation = Citation.objects.get()
    citation.quote = "A better quote."
    citation.save()
    source = Source.objects.get()
    source.title = "Corrected title"
    source.save()
    report = import_registry(rows=[valid_row()])
    assert {(c.kind, c.column) for c in report.conflicts} == {
        ("event", "stated_reason"),
        ("event", "reason_category"),
        ("citation", "source_quote"),
        ("source", "source_title"),
    }
    event.refresh_from_db()
    assert event.stated_reason_en == "Edited reason"
    assert list(event.reasons.values_list("code", flat=True)) == ["legal_risk"]
    assert Citation.objects.get().quote == "A better quote."
    assert Source.objects.get().title == "Corrected title"


def test_records_imported_before_baselines_existed_count_their_values_as_a_persons(db):
    import_registry(rows=[valid_row(acronym="TO")])
    Organisation.objects.update(import_baseline={})
    report = import_registry(rows=[valid_row(acronym="XX", name_zh="")], dry_run=True)
    # A value no import is known to have written is protected; an empty one is filled.
    assert [conflict.column for conflict in report.conflicts] == ["acronym"]


def test_the_baseline_is_kept_out_of_the_history(db):
    import_registry(rows=[valid_row()])
    organisation = Organisation.objects.get()
    assert organisation.import_baseline["name_en"] == "Test Organisation"
    field_names = {field.name for field in Organisation.history.model._meta.get_fields()}
    assert "import_baseline" not in field_names


def test_dry_run_command_lists_conflicts_and_prefer_file_overwrites(db, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes(csv_upload([row()]).read())
    call_command("import_registry", str(path), stdout=io.StringIO())
    organisation = Organisation.objects.get()
    rename_in_admin(organisation, name_en="Renamed")
    out = io.StringIO()
    call_command("import_registry", str(path), "--dry-run", stdout=out)
    assert "organisation teachers, column name_en: kept 'Renamed'" in out.getvalue()
    call_command("import_registry", str(path), "--prefer-file", stdout=io.StringIO())
    organisation.refresh_from_db()
    assert organisation.name_en == "Professional Teachers' Union"


def test_admin_preview_lists_conflicts_and_only_ticked_ones_are_overwritten(
    client, curator, staff_login
):
    staff_login(client, curator)
    first = upload(client, csv_upload([row()]))
    client.post(IMPORT_URL, {"token": first.context["token"]})
    rename_in_admin(Organisation.objects.get(), name_en="Renamed", acronym="RN")
    preview = upload(client, csv_upload([row()]))
    conflicts = {c.column: c.key for c in preview.context["preview"].conflicts}
    assert set(conflicts) == {"name_en", "acronym"}
    page = preview.content.decode()
    assert 'id="import-conflicts"' in page and 'name="overwrite"' in page
    client.post(
        IMPORT_URL, {"token": preview.context["token"], "overwrite": [conflicts["acronym"]]}
    )
    organisation = Organisation.objects.get()
    assert (organisation.name_en, organisation.acronym) == ("Renamed", "PTU")


def test_admin_upload_can_ask_to_clear_blanks(client, curator, staff_login):
    staff_login(client, curator)
    first = upload(client, csv_upload([row()]))
    client.post(IMPORT_URL, {"token": first.context["token"]})
    kept = upload(client, csv_upload([row(acronym="")]))
    client.post(IMPORT_URL, {"token": kept.context["token"]})
    assert Organisation.objects.get().acronym == "PTU"
    cleared = upload(client, csv_upload([row(acronym="")]), clear_blanks="on")
    client.post(IMPORT_URL, {"token": cleared.context["token"]})
    assert Organisation.objects.get().acronym == ""


def test_production_start_never_imports():
    script = (ROOT / "deploy" / "serve-prod.sh").read_text()
    commands = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not any("import_registry" in line for line in commands)


# --- The dry run predicts the import: a property over random curator work and files -------

MERGE_EXAMPLES = settings(
    max_examples=int(os.environ.get("IMPORT_MERGE_EXAMPLES", "25")),
    # A failure is reported as found: shrinking through the database takes minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
    deadline=None,
    # The database fixture is set up once; every example runs in a savepoint rolled back.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BASE_ROWS = [
    valid_row(acronym="TO", founded_year="1990", source_type="news_report"),
    valid_row(
        id="test-org-deregistered",
        event_type="deregistered",
        announced_date="2021-11-02",
        stated_reason="",
        reason_category="legal_risk",
        source_url="https://news.example.org/test-org-2",
        source_quote="",
        source_type="",
        acronym="TO",
        founded_year="1990",
    ),
    valid_row(
        id="other-disbanded",
        organisation_id="other",
        name_en="Other Group",
        name_zh="",
        org_type="ngo",
        source_url="https://news.example.org/other",
        source_type="own_statement",
        acronym="",
        founded_year="",
    ),
]
# Columns a file may lack or leave blank: the required ones, names and confidence stay.
OPTIONAL_COLUMNS = [
    "acronym",
    "name_zh",
    "founded_year",
    "announced_date",
    "stated_reason",
    "reason_category",
    "source_publisher",
    "source_date",
    "source_title",
    "source_quote",
    "source_type",
]
FILE_VALUES = {
    "acronym": ["TO", "TOHK", ""],
    "name_en": ["Test Organisation", "Test Org (HK)"],
    "founded_year": ["1990", "1991", ""],
    "stated_reason": ["Cited pressure under the security law.", "Other reason", ""],
    "reason_category": ["nsl_pressure|legal_risk", "legal_risk", "", "arrests_of_leaders"],
    "source_title": ["Test organisation disbands", "Retitled", ""],
    "source_quote": ["The union voted to disband.", "Another quote", ""],
    "source_type": ["news_report", "other", "", "own_statement"],
    "confidence": ["medium", "high"],
}


def admin_edits():
    """Edits a curator could make in the admin between two imports."""
    organisation = st.tuples(
        st.just("organisation"),
        st.sampled_from(["test-org", "other"]),
        st.sampled_from(["name_en", "name_zh", "acronym"]),
        st.sampled_from(["Renamed", "改名", ""]),
    )
    event = st.tuples(
        st.just("event"),
        st.sampled_from(["test-org-disbanded", "test-org-deregistered", "other-disbanded"]),
        st.sampled_from(["stated_reason_en", "confidence", "reasons"]),
        st.sampled_from(["edited", "high", "low"]),
    )
    source = st.tuples(
        st.just("source"),
        st.sampled_from(["https://news.example.org/test-org", "https://news.example.org/other"]),
        st.sampled_from(["title", "publisher", "source_type"]),
        st.sampled_from(["Edited", "government_statement", ""]),
    )
    citation = st.tuples(
        st.just("citation"),
        st.sampled_from(["test-org-disbanded", "other-disbanded"]),
        st.just("quote"),
        st.sampled_from(["Edited quote", ""]),
    )
    return st.lists(st.one_of(organisation, event, source, citation), max_size=5)


def apply_admin_edit(kind, key, name, value) -> None:
    if kind == "organisation":
        record = Organisation.objects.get(slug=key)
        if name == "name_en" and not value and not record.name_zh:
            return  # the admin refuses a record without a name
    elif kind == "event":
        record = Event.objects.get(uid=key)
        if name == "reasons":
            record.reasons.set(record.reasons.all()[:1] if value == "edited" else [])
            return
        if name == "confidence" and value not in ("high", "low"):
            value = "low"
    elif kind == "source":
        record = Source.objects.get(url=key)
        if name == "source_type" and value not in SourceType.values:
            value = SourceType.GOVERNMENT_STATEMENT
    else:
        record = Citation.objects.get(event__uid=key)
    setattr(record, name, value)
    record._change_reason = "Edited in the admin"
    record.save()


@st.composite
def second_files(draw):
    """The base file with columns dropped, cells blanked and values changed."""
    dropped = draw(st.sets(st.sampled_from(OPTIONAL_COLUMNS), max_size=3))
    rows = []
    for base in BASE_ROWS:
        values = dict(base)
        for column in draw(st.lists(st.sampled_from(sorted(FILE_VALUES)), max_size=3)):
            values[column] = draw(st.sampled_from(FILE_VALUES[column]))
        for column in draw(st.lists(st.sampled_from(OPTIONAL_COLUMNS), max_size=2)):
            values[column] = ""
        for column in dropped:
            values.pop(column, None)
        rows.append(values)
    return rows


def registry_state():
    """Every value an import can write, to show that a dry run wrote nothing."""
    return [
        list(model.objects.order_by("pk").values())
        for model in (Organisation, Event, Source, Citation, Alias, Event.reasons.through)
    ] + [model.history.count() for model in (Organisation, Event, Source, Citation)]


def run_import(rows, *, dry_run, rules):
    try:
        report = import_registry(rows=rows, dry_run=dry_run, rules=rules)
    except ImportFailed as failure:
        return None, failure.problems
    return report, []


def outcome(report):
    return (report.rows, report.conflicts, {kind: dict(c) for kind, c in report.counts.items()})


def field_values(column_field: dict) -> dict:
    values = {}
    for model, key in ((Organisation, "slug"), (Event, "uid")):
        for record in model.objects.all():
            for column, name in column_field.items():
                if hasattr(record, name):
                    values[(getattr(record, key), column)] = getattr(record, name)
    return values


@MERGE_EXAMPLES
@given(
    edits=admin_edits(),
    rows=second_files(),
    clear_blanks=st.booleans(),
    prefer_file=st.booleans(),
    data=st.data(),
)
def test_a_dry_run_predicts_exactly_what_the_import_then_does(
    db, edits, rows, clear_blanks, prefer_file, data
):
    with transaction.atomic():
        import_registry(rows=[dict(row) for row in BASE_ROWS])
        for edit in edits:
            apply_admin_edit(*edit)
        before = registry_state()
        rules = MergeRules(clear_blanks=clear_blanks, prefer_file=prefer_file)
        predicted, predicted_problems = run_import(rows, dry_run=True, rules=rules)
        assert registry_state() == before
        if predicted is not None:
            # In the admin, a curator ticks some of the conflicts the preview listed.
            chosen = data.draw(
                st.sets(st.sampled_from([c.key for c in predicted.conflicts] or [""]))
            )
            rules = MergeRules(clear_blanks=clear_blanks, prefer_file=prefer_file, overwrite=chosen)
            predicted, predicted_problems = run_import(rows, dry_run=True, rules=rules)
        absent = {
            column: name
            for column, name in {**ORGANISATION_COLUMNS, **EVENT_COLUMNS}.items()
            if column not in rows[0]
        }
        untouched = field_values(absent)
        report, problems = run_import(rows, dry_run=False, rules=rules)
        assert problems == predicted_problems
        if report is None:
            assert registry_state() == before
        else:
            assert outcome(report) == outcome(predicted)
            # A column absent from the file left its field alone on every record.
            assert {k: v for k, v in field_values(absent).items() if k in untouched} == untouched
            # Kept conflicts stay conflicts and nothing else would change: the import wrote
            # exactly what it said, and its baseline records it.
            again, _ = run_import(rows, dry_run=True, rules=MergeRules(clear_blanks=clear_blanks))
            kept = {c.key for c in report.conflicts if not rules.overwrites(c)}
            assert {c.key for c in again.conflicts} == kept
            assert not again.changed
        transaction.set_rollback(True)

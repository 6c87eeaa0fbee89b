"""Random input never breaks the listing or half-writes an import.

Examples are bounded (a few dozen each, no deadline) so the suite stays fast; hypothesis keeps
any failing example in .hypothesis/ and replays it first next time.
"""

import io
import os
import string
from pathlib import Path

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from closures.filters import RegistryFilterSet
from closures.models import Alias, Citation, Event, Organisation, Source
from closures.services import ImportFailed, import_registry, read_spreadsheet

CURATED = Path(__file__).resolve().parent.parent / "fixtures" / "registry.csv"
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    # The database fixture is set up once per test; every example only reads it or rolls back.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text a browser can send: any character except lone surrogates, which cannot be encoded;
# half the time drawn from characters that have broken parsers and databases before.
any_text = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.text(alphabet="\x00\x01\x7f\u200b\ufeff\u202e=+-@|,;'\"\\%_\n\r\t 香", max_size=12),
)
parameter_value = st.one_of(
    any_text,
    st.integers().map(str),
    st.dates().map(lambda date: date.isoformat()),
    st.dates().map(lambda date: date.strftime("%d/%m/%Y")),
    st.sampled_from(["", "0", "-1", "1900", "2100", "2021-02-30", "9999-12-31", "NaN", "1e309"]),
    st.integers(min_value=1000, max_value=20000).map(lambda size: "9" * size),
    st.integers(min_value=1000, max_value=20000).map(lambda size: "x" * size),
)
FILTER_PARAMETERS = [*RegistryFilterSet.base_filters, "page"]
query_strings = st.dictionaries(
    st.sampled_from(FILTER_PARAMETERS), st.lists(parameter_value, min_size=1, max_size=3)
)


@pytest.fixture
def registry(make_public_organisation, make_organisation):
    make_public_organisation(name_en="Hong Kong Alliance")
    make_public_organisation(name_en="Civil Human Rights Front")
    make_organisation(name_en="Unpublished draft")


def test_filter_parameters_cover_the_whole_filter_definition():
    assert set(FILTER_PARAMETERS) >= {"q", "org_type", "status", "year", "date_from", "ordering"}


@FUZZ
@given(query=query_strings)
def test_listing_answers_any_query_string_without_a_server_error(client, registry, query):
    response = client.get(reverse("closures:organisation-list"), query)
    assert response.status_code in (200, 404)


@FUZZ
@given(slug=st.from_regex(r"[-a-zA-Z0-9_]{1,300}", fullmatch=True))
def test_record_page_answers_any_slug_without_a_server_error(client, registry, slug):
    response = client.get(reverse("closures:organisation-detail", args=[slug]))
    assert response.status_code in (200, 404)


# --- Import -----------------------------------------------------------------------------


def table_counts():
    return tuple(model.objects.count() for model in (Organisation, Event, Source, Citation, Alias))


CURATED_ROWS = read_spreadsheet(CURATED)
COLUMNS = list(CURATED_ROWS[0])
cell_value = st.one_of(
    any_text,
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.dates().map(lambda date: date.isoformat()),
    st.sampled_from(["", "unknown", "ZZ", "2021-13", "2021-00-01", "=cmd|' /C calc'!A0", "|||"]),
)


@st.composite
def mutated_rows(draw):
    """Curated rows with random cells replaced and random columns dropped."""
    rows = [dict(row) for row in draw(st.lists(st.sampled_from(CURATED_ROWS), max_size=4))]
    dropped = draw(st.sets(st.sampled_from(COLUMNS), max_size=3))
    for row in rows:
        for column in draw(st.lists(st.sampled_from(COLUMNS), max_size=4)):
            row[column] = draw(cell_value)
        for column in dropped:
            row.pop(column, None)
        row.update(draw(st.dictionaries(any_text, cell_value, max_size=2)))
    return rows


def import_writes_all_or_nothing(rows):
    """Import the rows; a refused import must name rows and columns and write nothing."""
    before = table_counts()
    try:
        import_registry(rows=rows)
    except ImportFailed as failure:
        assert failure.problems
        for problem in failure.problems:
            assert problem.row >= 1
            assert problem.column
            assert problem.message
        assert table_counts() == before


@FUZZ
@given(rows=mutated_rows())
def test_import_of_mutated_rows_succeeds_or_names_problems_and_writes_nothing(db, rows):
    import_writes_all_or_nothing(rows)


@FUZZ
@given(content=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".ods", ""]))
def test_garbage_bytes_are_refused_as_a_spreadsheet_and_write_nothing(db, content, suffix):
    before = table_counts()
    try:
        rows = read_spreadsheet(io.BytesIO(content), filename=f"upload{suffix}")
    except ImportFailed as failure:
        assert [problem.column for problem in failure.problems] == ["file"]
    else:
        import_writes_all_or_nothing(rows)
        return
    assert table_counts() == before


# openpyxl refuses control characters in cells, as spreadsheet programs do.
xlsx_text = st.text(alphabet=string.printable.strip() + " 香港眾志", max_size=30)


@FUZZ
@given(
    header=st.lists(st.one_of(st.sampled_from(COLUMNS), xlsx_text), max_size=8),
    cells=st.lists(
        st.lists(
            st.one_of(
                xlsx_text,
                st.integers(),
                st.floats(allow_nan=False, allow_infinity=False),
                st.dates(),
            ),
            max_size=8,
        ),
        max_size=5,
    ),
)
def test_xlsx_with_random_cells_imports_or_names_problems(db, header, cells):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in cells:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    import_writes_all_or_nothing(read_spreadsheet(buffer, filename="upload.xlsx"))

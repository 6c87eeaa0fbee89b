"""Trigram indexes for substring search on PostgreSQL.

`icontains` compiles to `UPPER(column::text) LIKE UPPER(%s)` on PostgreSQL, so each index is
on exactly that expression; pg_trgm indexes Chinese as well as English when the database's
LC_CTYPE is a UTF-8 locale. SQLite has no such index and keeps the plain LIKE scan.
"""

from django.db import migrations

TRIGRAM_INDEXES = {
    "closures_organisation": ["name_en", "name_zh", "acronym", "slug"],
    "closures_alias": ["name"],
    "closures_event": ["stated_reason_en", "stated_reason_zh"],
}


def index_name(table, column):
    return f"{table.removeprefix('closures_')}_{column}_trgm"


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, columns in TRIGRAM_INDEXES.items():
        for column in columns:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{index_name(table, column)}" ON "{table}" '
                f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
            )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in TRIGRAM_INDEXES.items():
        for column in columns:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{index_name(table, column)}"')


class Migration(migrations.Migration):
    dependencies = [("closures", "0002_reasons_and_groups")]

    operations = [migrations.RunPython(create_trigram_indexes, drop_trigram_indexes)]

"""Drop the trigram indexes of 0003 that `search_text` (0004) made dead weight.

The public and admin organisation searches now match `search_text` alone, so nothing runs
`icontains` on an organisation's names, acronym or slug, or on an alias's name: those five
indexes only slowed every write. The two on events' stated reasons stay, because the Event
admin still searches those columns with `icontains`.
"""

from django.db import migrations

SUPERSEDED_INDEXES = {
    "closures_organisation": ["name_en", "name_zh", "acronym", "slug"],
    "closures_alias": ["name"],
}


def index_name(table, column):
    return f"{table.removeprefix('closures_')}_{column}_trgm"


def drop_superseded_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in SUPERSEDED_INDEXES.items():
        for column in columns:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{index_name(table, column)}"')


def recreate_superseded_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in SUPERSEDED_INDEXES.items():
        for column in columns:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{index_name(table, column)}" ON "{table}" '
                f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
            )


class Migration(migrations.Migration):
    dependencies = [("closures", "0005_release")]

    operations = [migrations.RunPython(drop_superseded_indexes, recreate_superseded_indexes)]

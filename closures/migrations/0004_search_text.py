"""One indexed search column per organisation, and its indexes on PostgreSQL.

The public search used to OR conditions over four columns, aliases and events; PostgreSQL can
answer that only by scanning every organisation. `search_text` holds the same text in one
column, so a substring search is one trigram index lookup (Chinese included, given a UTF-8
LC_CTYPE), and `search_vector`, generated from it, makes an English word search one full-text
index lookup. SQLite scans the text instead.
"""

from collections import defaultdict

import django.contrib.postgres.search
from django.db import migrations, models

import closures.models

HELP_TEXT = (
    "Its ID, names, acronym, aliases and the stated reasons of its public events, one per "
    "line: what the public search matches, kept in one indexed column."
)
INDEXES = {
    "organisation_search_text_trgm": (
        'USING gin ((UPPER("search_text"::text)) gin_trgm_ops)'
    ),
    "organisation_search_vector": 'USING gin ("search_vector")',
}


def fill_search_text(apps, schema_editor):
    """Fill the column for existing records as `Organisation.build_search_text` does."""
    Organisation = apps.get_model("closures", "Organisation")
    Event = apps.get_model("closures", "Event")
    aliases, reasons = defaultdict(list), defaultdict(list)
    for organisation_id, name in apps.get_model("closures", "Alias").objects.values_list(
        "organisation_id", "name"
    ):
        aliases[organisation_id].append(name)
    public_events = Event.objects.filter(
        review_state="published", embargoed=False, citations__isnull=False
    ).distinct()
    for organisation_id, reason_en, reason_zh in public_events.values_list(
        "organisation_id", "stated_reason_en", "stated_reason_zh"
    ):
        reasons[organisation_id] += [reason_en, reason_zh]
    batch = []
    for organisation in Organisation.objects.iterator(chunk_size=1000):
        parts = [
            organisation.slug,
            organisation.name_en,
            organisation.name_zh,
            organisation.acronym,
            *aliases[organisation.pk],
            *reasons[organisation.pk],
        ]
        organisation.search_text = "\n".join(part for part in parts if part)
        batch.append(organisation)
        if len(batch) == 1000:
            Organisation.objects.bulk_update(batch, ["search_text"])
            batch = []
    Organisation.objects.bulk_update(batch, ["search_text"])


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "closures_organisation" {definition}'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("closures", "0003_search_indexes")]

    operations = [
        migrations.AddField(
            model_name="historicalorganisation",
            name="search_text",
            field=models.TextField(
                blank=True, editable=False, help_text=HELP_TEXT, verbose_name="search text"
            ),
        ),
        migrations.AddField(
            model_name="organisation",
            name="search_text",
            field=models.TextField(
                blank=True, editable=False, help_text=HELP_TEXT, verbose_name="search text"
            ),
        ),
        migrations.AddField(
            model_name="organisation",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=closures.models.EnglishSearchVector("search_text"),
                output_field=django.contrib.postgres.search.SearchVectorField(),
                verbose_name="search words",
            ),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(create_indexes, drop_indexes),
    ]

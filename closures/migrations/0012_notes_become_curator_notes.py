"""Existing notes become curator notes; the old note fields go."""

from django.db import migrations, models

NOTED_MODELS = ("Organisation", "Event", "HistoricalOrganisation", "HistoricalEvent")


def notes_become_curator_notes(apps, schema_editor):
    """Every existing note, sensitive or not, becomes a curator note: the safe direction.

    History is rewritten the same way, so no earlier version can show a note publicly.
    """
    for name in NOTED_MODELS:
        apps.get_model("closures", name).objects.exclude(notes="").update(
            curator_note=models.F("notes")
        )


class Migration(migrations.Migration):
    dependencies = [("closures", "0011_notes_statuses_parents")]

    operations = [
        migrations.RunPython(notes_become_curator_notes, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="event",
            name="notes",
        ),
        migrations.RemoveField(
            model_name="event",
            name="notes_sensitive",
        ),
        migrations.RemoveField(
            model_name="historicalevent",
            name="notes",
        ),
        migrations.RemoveField(
            model_name="historicalevent",
            name="notes_sensitive",
        ),
        migrations.RemoveField(
            model_name="historicalorganisation",
            name="notes",
        ),
        migrations.RemoveField(
            model_name="historicalorganisation",
            name="notes_sensitive",
        ),
        migrations.RemoveField(
            model_name="organisation",
            name="notes",
        ),
        migrations.RemoveField(
            model_name="organisation",
            name="notes_sensitive",
        ),
    ]

"""Record who submitted each event for review, as organisations already do.

The four-eyes rule reads `submitted_by`, never the history. Existing records in review,
published or withdrawn get it from their history: the user of the version that last moved
them into review. A record whose history never shows that step (imported straight into
publication by a superuser) keeps it empty; four eyes then has no submitter to refuse.
"""

from collections import defaultdict

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


SUBMITTED_STATES = ("in_review", "published", "withdrawn")


def submitters_from_history(historical_model, records):
    """Map each record's id to the user of the version that last moved it into review."""
    submitters, previous_state, previous_id = {}, None, None
    versions = (
        historical_model.objects.filter(id__in=records.values("pk"))
        .order_by("id", "history_date", "history_id")
        .values_list("id", "review_state", "history_user_id")
    )
    for record_id, state, user_id in versions.iterator():
        if record_id != previous_id:
            previous_state = None
        if state == "in_review" and previous_state != "in_review":
            submitters[record_id] = user_id
        previous_state, previous_id = state, record_id
    return submitters


def fill_submitters(apps, schema_editor):
    for model_name in ("Event", "Organisation"):
        model = apps.get_model("closures", model_name)
        historical = apps.get_model("closures", f"Historical{model_name}")
        records = model.objects.filter(
            review_state__in=SUBMITTED_STATES, submitted_by__isnull=True
        )
        found = submitters_from_history(historical, records)
        existing_users = set(
            apps.get_model(*settings.AUTH_USER_MODEL.split("."))
            .objects.filter(pk__in={user_id for user_id in found.values() if user_id})
            .values_list("pk", flat=True)
        )
        records_by_user = defaultdict(list)
        for record_id, user_id in found.items():
            if user_id in existing_users:
                records_by_user[user_id].append(record_id)
        for user_id, record_ids in records_by_user.items():
            for start in range(0, len(record_ids), 500):
                model.objects.filter(pk__in=record_ids[start : start + 500]).update(
                    submitted_by_id=user_id
                )


class Migration(migrations.Migration):
    dependencies = [
        ("closures", "0009_import_baseline"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="submitted_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                help_text="Who submitted it for review: they may not publish or withdraw it themselves (four-eyes rule). Empty for a draft.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="submitted for review by",
            ),
        ),
        migrations.AddField(
            model_name="historicalevent",
            name="submitted_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                help_text="Who submitted it for review: they may not publish or withdraw it themselves (four-eyes rule). Empty for a draft.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="submitted for review by",
            ),
        ),
        migrations.AlterField(
            model_name="historicalorganisation",
            name="submitted_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                help_text="Who submitted it for review: they may not publish or withdraw it themselves (four-eyes rule). Empty for a draft.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="submitted for review by",
            ),
        ),
        migrations.AlterField(
            model_name="organisation",
            name="submitted_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                help_text="Who submitted it for review: they may not publish or withdraw it themselves (four-eyes rule). Empty for a draft.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="submitted for review by",
            ),
        ),
        migrations.RunPython(fill_submitters, migrations.RunPython.noop),
    ]

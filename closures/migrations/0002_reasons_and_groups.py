"""Create the reason taxonomy rows and the Curators and Reviewers groups."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.db import migrations

REASON_CODES = [
    "nsl_pressure",
    "arrests_of_leaders",
    "police_investigation",
    "asset_freeze",
    "government_criticism",
    "financial",
    "safety_of_staff",
    "legal_risk",
    "other",
]
CONTENT_MODELS = ["organisation", "alias", "event", "source", "citation"]
# Curators write content; deleting and publishing are the reviewers' (four eyes).
CURATOR_PERMISSIONS = [
    f"{action}_{model}" for model in CONTENT_MODELS for action in ("add", "change", "view")
] + ["view_reason"]
REVIEWER_PERMISSIONS = CURATOR_PERMISSIONS + [
    f"delete_{model}" for model in CONTENT_MODELS
] + ["publish_organisation", "embargo_organisation"]
GROUPS = {"Curators": CURATOR_PERMISSIONS, "Reviewers": REVIEWER_PERMISSIONS}


def create_reasons_and_groups(apps, schema_editor):
    Reason = apps.get_model("closures", "Reason")
    for code in REASON_CODES:
        Reason.objects.get_or_create(code=code)
    # Permissions are normally created after all migrations; the groups need them now.
    app_config = global_apps.get_app_config("closures")
    create_contenttypes(app_config, apps=apps, verbosity=0)
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            content_type__app_label="closures", codename__in=codenames
        )
        group.permissions.set(permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("closures", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_reasons_and_groups, remove_groups)]

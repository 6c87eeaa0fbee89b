"""Deleting records: the admin's delete, with the public told in the same transaction."""

from django.db import transaction

from ..models import Citation, Event, Organisation, Source
from .derived import refresh_organisation
from .public_version import bump_public_data_version, shows_publicly


def delete_records(*, records) -> None:
    """Delete records (the admin's delete); the public sees it at once if any was public."""
    with transaction.atomic():
        records = list(records)
        was_public = any(shows_publicly(record) for record in records)
        organisations_left = {
            record.organisation_id for record in records if isinstance(record, Event)
        }
        # A source's citations go with it: the organisations citing it change publicly too.
        organisations_left |= set(
            Citation.objects.filter(
                source__in=[record for record in records if isinstance(record, Source)]
            ).values_list("event__organisation_id", flat=True)
        )
        # A deleted organisation's sub-organisations lose their parent: their public view too.
        organisations_left |= set(
            Organisation.objects.filter(
                parent_organisation__in=[
                    record for record in records if isinstance(record, Organisation)
                ]
            ).values_list("pk", flat=True)
        )
        for record in records:
            record.delete()
        for organisation_id in organisations_left:
            if Organisation.objects.filter(pk=organisation_id).exists():
                refresh_organisation(organisation_id=organisation_id)
        if was_public:
            bump_public_data_version()

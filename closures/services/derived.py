"""Keeping an organisation's derived fields current after its events change."""

from django.db import transaction

from ..models import Organisation
from .public_version import bump_public_data_version, is_public


def refresh_organisation(*, organisation_id: int) -> Organisation:
    """Recompute an organisation's derived status, dates and search text after a change."""
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        before = [getattr(organisation, name) for name in Organisation.DERIVED_FIELDS]
        organisation.refresh_derived_fields()
        after = [getattr(organisation, name) for name in Organisation.DERIVED_FIELDS]
        if before != after:
            # Derived fields are not a curator's change: keep them out of the history.
            organisation.save_without_historical_record(update_fields=Organisation.DERIVED_FIELDS)
            if is_public(organisation_id):
                bump_public_data_version()
    return organisation

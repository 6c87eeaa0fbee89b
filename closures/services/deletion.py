"""Deleting records: the admin's delete, with the public told in the same transaction.

What the public sees is taken down by the workflow's withdrawal, not by a delete: a published
organisation or event is refused here, for anyone but a superuser (who also edits published
records directly, `services.pending`). Withdrawing keeps the record, its history and the
reason, shows the public a tombstone where one is due, and can be undone through review;
once withdrawn, the record may be deleted, which then changes nothing public.
"""

from django.db import transaction

from ..models import Citation, Event, Organisation, ReviewState, Source
from .derived import refresh_organisation
from .pending import edits_published_directly, is_published
from .public_version import bump_public_data_version, shows_publicly
from .workflow import WorkflowRefused, record_name


def deletion_refusal(records, user) -> str | None:
    """Why `user` may not delete these records, or None when they may."""
    if edits_published_directly(user):
        return None
    published = [
        record
        for record in records
        if isinstance(record, Organisation | Event) and record.review_state == ReviewState.PUBLISHED
    ]
    if published:
        names = ", ".join(record_name(record) for record in published)
        return (
            f"{names}: published, so not deleted. Take a published record down with the "
            "Withdraw action, which keeps its history and the reason; a withdrawn record can "
            "then be deleted. Nothing was deleted."
        )
    cited = [record for record in records if isinstance(record, Source) and is_published(record)]
    if cited:
        return (
            f"{', '.join(str(source) for source in cited)}: cited by a published event, so not "
            "deleted. Remove the citation from the event first (that waits for a reviewer). "
            "Nothing was deleted."
        )
    return None


def delete_records(*, records, user) -> None:
    """Delete records (the admin's delete); the public sees it at once if any was public.

    Refused, with nothing deleted, when `deletion_refusal` says why.
    """
    with transaction.atomic():
        records = list(records)
        refusal = deletion_refusal(records, user)
        if refusal is not None:
            raise WorkflowRefused(refusal)
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
        for record in records:
            record.delete()
        for organisation_id in organisations_left:
            if Organisation.objects.filter(pk=organisation_id).exists():
                refresh_organisation(organisation_id=organisation_id)
        if was_public:
            bump_public_data_version()

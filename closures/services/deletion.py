"""Deleting records: the admin's delete, with the public told in the same transaction.

What the public sees is taken down by the workflow's withdrawal, not by a delete: a published
organisation or event is refused here, for anyone but a superuser (who also edits published
records directly, `services.pending`). Withdrawing keeps the record, its history and the
reason, shows the public a tombstone where one is due, and can be undone through review.

A record the public once saw keeps its tombstone (its 410 page and its row in `withdrawn/`):
mirrors and synced copies learn from it that they must drop the record, so only a superuser
(an operator erasing a record for someone's safety) may delete it, and the data version moves.
A record that was never public, or an event of a withdrawn record, may then be deleted, which
changes nothing public.
"""

from django.db import transaction

from ..models import Event, Organisation, ReviewState, Source
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
            "Withdraw action, which keeps its history and the reason. Nothing was deleted."
        )
    tombstones = _tombstones(records)
    if tombstones:
        names = ", ".join(record_name(record) for record in tombstones)
        return (
            f"{names}: the public once saw it, so its tombstone (the 410 page, the withdrawn "
            "list) stays to tell mirrors to drop it. Only an operator (superuser) can delete "
            "it. Nothing was deleted."
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
        # A tombstone going is a public change too: the withdrawn list and the 410 page.
        was_public = bool(_tombstones(records)) or any(shows_publicly(record) for record in records)
        organisations_left = {
            record.organisation_id for record in records if isinstance(record, Event)
        }
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


def _tombstones(records) -> list[Organisation]:
    """The organisations among `records` that the public once saw and no longer does."""
    ids = [record.pk for record in records if isinstance(record, Organisation)]
    if not ids:
        return []
    return list(Organisation.objects.no_longer_public().filter(pk__in=ids))

"""The public data version: moved by every service that changes what the public sees.

Hook further per-change bookkeeping (a record's public-change time) into
`bump_public_data_version`, which every public-changing service calls in its transaction.
"""

from ..models import Organisation, RegistryVersion, Reviewable, Source


def bump_public_data_version() -> None:
    """Move the version every public cache and validator is keyed by, in this transaction.

    Every service that changes what the public sees calls it, and only then: its time is
    the registry's public Last-Modified, so a change to a draft or an embargoed record must
    not move it.
    """
    RegistryVersion.bump()


def is_public(organisation_id: int) -> bool:
    return Organisation.objects.public().filter(pk=organisation_id).exists()


def shows_publicly(instance) -> bool:
    """Whether a record, or a source through its citations, is part of the public registry."""
    if isinstance(instance, Reviewable):
        return is_public(organisation_id_of(instance))
    if isinstance(instance, Source):
        return Source.objects.public().filter(pk=instance.pk).exists()
    return False


def organisation_id_of(record) -> int:
    return record.pk if isinstance(record, Organisation) else record.organisation_id

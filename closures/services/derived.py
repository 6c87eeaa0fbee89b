"""Keeping an organisation's derived fields and public-change time current after a change."""

from django.db import transaction
from django.utils import timezone

from ..models import Citation, Event, Organisation, PublicEventFacet
from .public_view import NOT_YET_COMPUTED, public_fingerprint, public_view_changed

PUBLIC_VIEW_FIELDS = ["public_fingerprint", "public_changed_at", "first_published_at"]


def refresh_organisation(*, organisation_id: int) -> Organisation:
    """Recompute derived status, dates and search text, whether it is public, and its view.

    The stored public flags of the record and its events are set first, from the rule
    itself: the public view (and every public channel) reads them. The public-change time
    moves only when the fingerprint of what the public sees differs from the stored one;
    `first_published_at` is set the first time the record becomes public, never by a step
    that leaves it hidden (an embargoed record, hidden events). When the record becomes
    public or stops being so, its sub-organisations are refreshed too: their public view
    names the parent only while the public may see it. When its public view changes, its
    parent is refreshed: the parent's page lists its public bodies with their names and status.
    """
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        before = [getattr(organisation, name) for name in Organisation.DERIVED_FIELDS]
        organisation.refresh_derived_fields()
        after = [getattr(organisation, name) for name in Organisation.DERIVED_FIELDS]
        changed_fields = Organisation.DERIVED_FIELDS if before != after else []
        if changed_fields:
            # The fingerprint reads the derived fields (the public status) from the database.
            organisation.save_without_historical_record(update_fields=changed_fields)
        was_public = organisation.is_public
        organisation.is_public = store_public_flags(organisation_id)
        fingerprint = public_fingerprint(organisation_id)
        if organisation.public_fingerprint == NOT_YET_COMPUTED:
            # Filled by the migration that introduced it: take the baseline, move nothing.
            organisation.public_fingerprint = fingerprint
            organisation.save_without_historical_record(update_fields=["public_fingerprint"])
        elif fingerprint != organisation.public_fingerprint:
            now = timezone.now()
            organisation.public_fingerprint = fingerprint
            organisation.public_changed_at = now
            if fingerprint and organisation.first_published_at is None:
                organisation.first_published_at = now
            # Derived fields are not a curator's change: keep them out of the history.
            organisation.save_without_historical_record(update_fields=PUBLIC_VIEW_FIELDS)
            public_view_changed(organisation)
            if organisation.parent_organisation_id is not None:
                # Ends there: the parent's view reads this one's, never the reverse.
                refresh_organisation(organisation_id=organisation.parent_organisation_id)
        if organisation.is_public != was_public:
            refresh_sub_organisations(parent_id=organisation_id)
    return organisation


def refresh_sub_organisations(*, parent_id: int) -> None:
    """Refresh the records naming this parent: whether they may name it has just changed.

    A sub-organisation's own publicness never depends on its parent's, so this goes one
    level down and no further.
    """
    children = Organisation.objects.filter(parent_organisation_id=parent_id).order_by("pk")
    for child_id in children.values_list("pk", flat=True):
        refresh_organisation(organisation_id=child_id)


def store_public_flags(organisation_id: int) -> bool:
    """Set `is_public` of the organisation and its events from the rule, and the facet
    values of its public events; return whether the organisation is public.

    Written with `update()`: derived, not a curator's change, so no history and no
    `updated_at`. Only rows whose flag differs are written.
    """
    public = Organisation.objects.public_by_rule().filter(pk=organisation_id).exists()
    Organisation.objects.filter(pk=organisation_id).exclude(is_public=public).update(
        is_public=public
    )
    events = Event.objects.filter(organisation_id=organisation_id)
    shown = events.public_regardless_of_organisation() if public else events.none()
    events.filter(is_public=False, pk__in=shown.values("pk")).update(is_public=True)
    events.filter(is_public=True).exclude(pk__in=shown.values("pk")).update(is_public=False)
    PublicEventFacet.store_for(organisation_id)
    return public


def refresh_organisations_citing(*, source_id: int) -> None:
    """Refresh every organisation with an event citing the source: its details are public."""
    organisation_ids = (
        Citation.objects.filter(source_id=source_id)
        .values_list("event__organisation_id", flat=True)
        .distinct()
        .order_by("event__organisation_id")
    )
    for organisation_id in list(organisation_ids):
        refresh_organisation(organisation_id=organisation_id)

"""Reverting a record to an earlier version: its content only, never its place in the workflow.

A revert of a published record is an edit of what the public sees, chosen by one reviewer; so
it waits for a second, as an edit does (`services.pending`).
"""

from django.db import transaction

from ..models import (
    Alias,
    Citation,
    Event,
    Organisation,
    Reviewable,
    ReviewState,
    Source,
)
from .derived import refresh_organisation
from .pending import field_value, needs_review, proposable_fields, propose_change
from .workflow import (
    WORKFLOW_FIELDS,
    WorkflowRefused,
    history_reason,
    is_reviewer,
    record_name,
    require,
    validate,
)

# What the last import wrote is bookkeeping, not content: a revert leaves it as it is.
# A citation stays on its event as an event stays on its organisation: re-attaching it would
# put a source before a different public without review.
KEPT_BY_REVERT = WORKFLOW_FIELDS | {"event", "import_baseline"}


def revert_to_version(*, historical_record, user, reason: str = ""):
    """Restore the content of an earlier version; review state, embargo and place stay as now.

    "As now" for a deleted record means as it was when deleted, except that it comes back as a
    draft (embargoed if it was): what was deleted goes through review again before the public
    sees it. An event's reason categories come back with it.

    A published record (see `services.needs_review`) keeps its public fields: the version's
    values of them become a proposal that another reviewer approves, and only the fields the
    public never sees (the curator note) are restored at once. Returns the restored record, or
    the proposal (None when the version's public fields are the live ones).
    """
    require(is_reviewer(user), "Only reviewers can revert to an earlier version.")
    model = historical_record.instance_type
    with transaction.atomic():
        current = model.objects.select_for_update().filter(pk=historical_record.id).first()
        live = current
        restored = historical_record.instance
        restored._state.adding = current is None  # so unique checks skip the record itself
        if current is None:
            current = _as_deleted(historical_record)
            if isinstance(restored, Reviewable):
                current.review_state, current.submitted_by_id = ReviewState.DRAFT, None
        for field in model._meta.concrete_fields:
            if field.name in KEPT_BY_REVERT:
                setattr(restored, field.attname, getattr(current, field.attname))
        _require_parent(restored)
        _require_unpublished_parent(restored, user)
        version = historical_record.history_date.strftime("%Y-%m-%d %H:%M")
        validate(restored, doing=f"be reverted to the version of {version}", unique=True)
        reason = reason or f"Reverted to the version of {version}"
        if live is not None and needs_review(live, user):
            return _propose_revert(live, restored, historical_record, user=user, reason=reason)
        restored._change_reason = history_reason(reason)
        restored._history_user = user
        restored.save()
        if isinstance(restored, Event):
            reasons = {row.reason_id for row in historical_record.reasons.all()}
            if set(restored.reasons.values_list("pk", flat=True)) != reasons:
                restored.reasons.set(reasons)
        for organisation_id in _organisations_of(restored):
            refresh_organisation(organisation_id=organisation_id)
    return restored


def _propose_revert(live, restored, historical_record, *, user, reason: str):
    """Propose the version's public fields for review; restore the never-public ones now."""
    model = type(live)
    values = {
        name: field_value(restored, name)
        for name in proposable_fields(model)
        if not model._meta.get_field(name).many_to_many
    }
    if isinstance(live, Event):
        values["reasons"] = sorted(str(row.reason_id) for row in historical_record.reasons.all())
    private = [
        field
        for field in model._meta.concrete_fields
        if field.editable
        and not field.primary_key
        and field.name not in model.PUBLIC_FIELDS | KEPT_BY_REVERT
        and getattr(live, field.attname) != getattr(restored, field.attname)
    ]
    try:
        change = propose_change(
            record=live, user=user, values=values, reason=history_reason(reason)
        )
    except WorkflowRefused as refused:
        raise WorkflowRefused(str(refused).replace("Your edit was", "The revert was")) from None
    if private:
        for field in private:
            setattr(live, field.attname, getattr(restored, field.attname))
        live._change_reason = history_reason(reason)
        live._history_user = user
        live.save()
    return change


def _require_unpublished_parent(restored, user) -> None:
    """An alias or citation is part of its published record's public view, whose whole list a
    reviewer approves in a proposal: it is not reverted on its own."""
    parent = {Alias: "organisation", Citation: "event"}.get(type(restored))
    if parent is None:
        return
    record = getattr(restored, parent)
    require(
        not needs_review(record, user),
        f"This {restored._meta.verbose_name} belongs to {record_name(record)}, which is "
        "published: change it in that record's form, where the change waits for a reviewer.",
    )


def _as_deleted(historical_record):
    """The record as it was when deleted: its last saved version.

    Not the deletion's own entry, which copies whatever the deleting code held in memory and
    may predate an embargo set since.
    """
    history = (
        type(historical_record).objects.filter(id=historical_record.id).exclude(history_type="-")
    )
    return history.order_by("-history_date", "-history_id").first().instance


def _require_parent(restored) -> None:
    """A restored event needs its organisation, a citation its event and source, to exist."""
    parents = {
        Event: [("organisation", Organisation)],
        Alias: [("organisation", Organisation)],
        Citation: [("event", Event), ("source", Source)],
    }.get(type(restored), [])
    for name, parent in parents:
        require(
            parent.objects.filter(pk=getattr(restored, f"{name}_id")).exists(),
            f"Its {parent._meta.verbose_name} was deleted; restore that first.",
        )


def _organisations_of(record) -> set[int]:
    """Organisations whose derived fields may depend on the reverted record."""
    if isinstance(record, Organisation):
        return {record.pk}
    if isinstance(record, Event | Alias):
        return {record.organisation_id}
    if isinstance(record, Citation):
        return {Event.objects.values_list("organisation_id", flat=True).get(pk=record.event_id)}
    if isinstance(record, Source):
        return set(
            Event.objects.filter(citations__source=record).values_list("organisation_id", flat=True)
        )
    return set()

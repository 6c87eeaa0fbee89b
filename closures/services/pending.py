"""Changes to published records wait for a second person before the public sees them.

Publishing takes two people (who submits, who publishes); an edit of what the public already
sees is a publication too, so it takes two as well. Whoever edits a published record's public
fields, curator or reviewer, proposes a `PendingChange`; the public keeps the live record until
a reviewer other than the proposer approves it. A reviewer is not exempt: a reviewer's own
edit, unseen by anyone else, is exactly what four eyes rules out. Superusers edit directly, as
they may publish what they submitted (`_require_four_eyes`), and so do operators' command-line
imports, which run without a user.

A source cited by a published event is part of what the public sees of that event (its title,
publisher, dates and link), so its edits are proposed the same way; so is a revert of a
published record to an earlier version (`services.revert`).

Fields never shown publicly (the curator note) are not part of a proposal: they are saved at
once. Values are kept as JSON, one entry per proposed field; aliases (of an organisation) and
citations (of an event) are proposed as their whole new list.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..dates import truncate_to_precision
from ..models import (
    Alias,
    Citation,
    Event,
    Organisation,
    PendingChange,
    PendingChangeState,
    Reviewable,
    ReviewState,
    Source,
)
from .derived import refresh_organisation, refresh_organisations_citing
from .workflow import (
    WORKFLOW_FIELDS,
    WorkflowRefused,
    history_reason,
    is_reviewer,
    record_name,
    require,
    validate,
)

# The child rows a proposal may replace as a whole, by the record they belong to.
CHILD_LISTS = {Organisation: "aliases", Event: "citations"}


def edits_published_directly(user) -> bool:
    """Whether `user`'s edits of a published record go live without a second person."""
    return user is None or user.is_superuser


def is_published(record) -> bool:
    """Whether the record is published: an organisation or event in that state (embargoed or
    not, since lifting an embargo shows it as it is), or a source such an event cites."""
    if isinstance(record, Source):
        return Citation.objects.filter(
            source_id=record.pk, event__review_state=ReviewState.PUBLISHED
        ).exists()
    return isinstance(record, Reviewable) and record.review_state == ReviewState.PUBLISHED


def needs_review(record, user) -> bool:
    """Whether a change by `user` to the public fields of `record` waits for a reviewer."""
    return record.pk is not None and not edits_published_directly(user) and is_published(record)


def proposable_fields(model) -> list[str]:
    """The public fields a person edits: not derived, not the workflow's."""
    return sorted(
        name
        for name in model.PUBLIC_FIELDS
        if name not in WORKFLOW_FIELDS and model._meta.get_field(name).editable
    )


def field_value(record, name: str):
    """A field's value as a proposal keeps it: JSON, dates cut to their stored precision."""
    field = record._meta.get_field(name)
    if field.many_to_many:
        return sorted(str(pk) for pk in getattr(record, name).values_list("pk", flat=True))
    value = field.get_prep_value(getattr(record, field.attname))
    if isinstance(value, dt.datetime):
        # One spelling per instant, whichever time zone the form or the database gave it in.
        value = value.astimezone(dt.UTC)
    if isinstance(record, Event) and name in ("announced_on", "effective_on") and value:
        precision = getattr(record, name.replace("_on", "_precision"))
        value = truncate_to_precision(value, precision) if precision else value
    return value.isoformat() if isinstance(value, dt.date) else value


def alias_values(aliases) -> list[list[str]]:
    return sorted([alias.name, alias.language, alias.kind] for alias in aliases)


def citation_values(citations) -> list[dict]:
    return sorted(
        (
            {
                "source": citation.source_id,
                "quote": citation.quote,
                "claims": sorted(citation.claims or []),
            }
            for citation in citations
        ),
        key=lambda value: value["source"],
    )


def live_values(record) -> dict:
    """Every proposable value of the record as it is stored, children included."""
    values = {name: field_value(record, name) for name in proposable_fields(type(record))}
    if isinstance(record, Organisation):
        values["aliases"] = alias_values(record.aliases.all())
    elif isinstance(record, Event):
        values["citations"] = citation_values(record.citations.all())
    return values


def open_change_for(record) -> PendingChange | None:
    if record.pk is None:
        return None
    return _changes_of(record).open().select_related("proposed_by").first()


def _changes_of(record):
    return PendingChange.objects.filter(**{_record_key(record): record})


def propose_change(*, record, user, values: dict, reason: str = "") -> PendingChange | None:
    """Keep `values` (the fields the proposer touched) in the record's open proposal.

    A second edit by the same person continues their proposal; a field set back to its live
    value leaves it, and a proposal left empty is dropped. Someone else's edit is refused while
    a proposal waits, so a reviewer always weighs one proposer's diff against the live record.
    """
    require(needs_review(record, user), f"{record_name(record)} takes changes directly.")
    with transaction.atomic():
        record = type(record).objects.select_for_update().get(pk=record.pk)
        live = live_values(record)
        unknown = sorted(set(values) - set(live))
        require(not unknown, f"Not a public field of {record_name(record)}: {', '.join(unknown)}.")
        change = open_change_for(record)
        if change is not None and change.proposed_by_id != user.pk:
            raise WorkflowRefused(
                f"{record_name(record)} has a change proposed by {change.proposed_by} that "
                "waits for a reviewer; it must be approved or rejected before another is "
                "proposed. Your edit was not saved."
            )
        if change is None:
            change = PendingChange(proposed_by=user, **{_record_key(record): record})
        for name, value in values.items():
            if value == live[name]:
                change.proposed.pop(name, None)
                change.base.pop(name, None)
            else:
                change.base.setdefault(name, live[name])
                change.proposed[name] = value
        if not change.proposed:
            if change.pk is not None:
                change.delete()
            return None
        _validate_proposal(record, change.proposed)
        change.proposed_at = timezone.now()
        change.reason = reason or change.reason
        change.save()
    return change


def _record_key(record) -> str:
    """The foreign key of `PendingChange` that names a record of this kind."""
    return record._meta.model_name


def approve_change(*, change: PendingChange, user, reason: str = ""):
    """Apply a proposal to the live record; the public sees it from this transaction on.

    Refused, with nothing written, when the proposer is the approver (four eyes) or when a
    proposed field changed on the live record since it was proposed: applying it blindly would
    undo that change unseen.
    """
    require(is_reviewer(user), "Only reviewers can approve a change.")
    with transaction.atomic():
        change = PendingChange.objects.select_for_update().get(pk=change.pk)
        require(change.is_open, f"This change was already {change.get_state_display()}.")
        require(
            user.is_superuser or change.proposed_by_id != user.pk,
            "You proposed this change; another reviewer must approve it (four-eyes rule).",
        )
        record = type(change.record).objects.select_for_update().get(pk=change.record.pk)
        conflicts = conflicting_fields(change, record)
        require(
            not conflicts,
            f"{record_name(record)} changed since this change was proposed "
            f"({', '.join(field_label(type(record), name) for name in conflicts)}). Nothing "
            "was applied: reject it, and propose it again from the record as it is now.",
        )
        by = change.proposed_by.get_username() if change.proposed_by else "a deleted user"
        _apply(
            record,
            change.proposed,
            user=user,
            reason=reason
            or f"Approved change proposed by {by}"
            + (f": {change.reason}" if change.reason else ""),
        )
        change.state = PendingChangeState.APPROVED
        change.decided_by, change.decided_at = user, timezone.now()
        change.decision_reason = reason
        change.save()
        _refresh_public_view_of(record)
    return record


def _refresh_public_view_of(record) -> None:
    """Refresh the organisations whose public view shows the record; the data version moves
    with any that changed."""
    if isinstance(record, Source):
        refresh_organisations_citing(source_id=record.pk)
    else:
        organisation_id = record.pk if isinstance(record, Organisation) else record.organisation_id
        refresh_organisation(organisation_id=organisation_id)


def reject_change(*, change: PendingChange, user, reason: str) -> PendingChange:
    """Close a proposal unapplied; it stays on file with the reason. Its proposer may too."""
    require(bool(reason.strip()), "Say why the change is rejected.")
    with transaction.atomic():
        change = PendingChange.objects.select_for_update().get(pk=change.pk)
        require(
            is_reviewer(user) or change.proposed_by_id == user.pk,
            "Only reviewers, or the person who proposed it, can reject a change.",
        )
        require(change.is_open, f"This change was already {change.get_state_display()}.")
        change.state = PendingChangeState.REJECTED
        change.decided_by, change.decided_at = user, timezone.now()
        change.decision_reason = reason
        change.save()
    return change


def conflicting_fields(change: PendingChange, record) -> list[str]:
    """Proposed fields whose live value moved since, to something other than the proposal."""
    live = live_values(record)
    return [
        name
        for name, value in change.proposed.items()
        if live[name] != change.base.get(name) and live[name] != value
    ]


def field_label(model, name: str) -> str:
    return str(model._meta.get_field(name).verbose_name)


def _validate_proposal(record, proposed: dict) -> None:
    """Refuse a proposal the model would refuse, before anyone reviews it."""
    candidate = type(record).objects.get(pk=record.pk)
    _assign(candidate, proposed)
    validate(candidate, doing="take this change", unique=True)
    children = proposed.get(CHILD_LISTS.get(type(record)), [])
    if isinstance(record, Event):
        cited = Source.objects.filter(pk__in=[value["source"] for value in children])
        known = set(cited.values_list("pk", flat=True))
        require(
            all(citation["source"] in known for citation in children),
            "A proposed citation names a source that no longer exists.",
        )
        for value in children:
            citation = Citation(event=candidate, source_id=value["source"], quote=value["quote"])
            citation.claims = value["claims"]
            _validate_child(citation, record, exclude=["event", "source"])
    elif isinstance(record, Organisation):
        for name, language, kind in children:
            alias = Alias(organisation=candidate, name=name, language=language, kind=kind)
            _validate_child(alias, record, exclude=["organisation"])


def _validate_child(child, record, *, exclude) -> None:
    try:
        child.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise WorkflowRefused(
            f"{record_name(record)} cannot take this change: {' '.join(error.messages)}"
        ) from None


def _assign(record, proposed: dict) -> None:
    for name, value in proposed.items():
        if name in CHILD_LISTS.values():
            continue
        field = record._meta.get_field(name)
        if not field.many_to_many:
            setattr(record, field.attname, None if value is None else field.to_python(value))


def _apply(record, proposed: dict, *, user, reason: str) -> None:
    _assign(record, proposed)
    validate(record, doing="take this change", unique=True)
    record._change_reason = history_reason(reason)
    record._history_user = user
    record.save()
    if "reasons" in proposed:
        record.reasons.set(proposed["reasons"])
    if "aliases" in proposed:
        _replace_aliases(record, proposed["aliases"], user=user, reason=reason)
    if "citations" in proposed:
        _replace_citations(record, proposed["citations"], user=user, reason=reason)


def _with_history(row, *, user, reason: str):
    row._change_reason = history_reason(reason)
    row._history_user = user
    return row


def _replace_aliases(organisation, wanted: list, *, user, reason: str) -> None:
    wanted = {name: (language, kind) for name, language, kind in wanted}
    for alias in organisation.aliases.all():
        if alias.name not in wanted:
            _with_history(alias, user=user, reason=reason).delete()
        elif (alias.language, alias.kind) != wanted[alias.name]:
            alias.language, alias.kind = wanted[alias.name]
            _with_history(alias, user=user, reason=reason).save()
    existing = set(organisation.aliases.values_list("name", flat=True))
    for name, (language, kind) in wanted.items():
        if name not in existing:
            alias = Alias(organisation=organisation, name=name, language=language, kind=kind)
            _with_history(alias, user=user, reason=reason).save()


def _replace_citations(event, wanted: list, *, user, reason: str) -> None:
    wanted = {value["source"]: value for value in wanted}
    for citation in event.citations.all():
        value = wanted.pop(citation.source_id, None)
        if value is None:
            _with_history(citation, user=user, reason=reason).delete()
        elif (citation.quote, sorted(citation.claims or [])) != (value["quote"], value["claims"]):
            citation.quote, citation.claims = value["quote"], value["claims"]
            _with_history(citation, user=user, reason=reason).save()
    for source_id, value in wanted.items():
        citation = Citation(
            event=event, source_id=source_id, quote=value["quote"], claims=value["claims"]
        )
        _with_history(citation, user=user, reason=reason).save()

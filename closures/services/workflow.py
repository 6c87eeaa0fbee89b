"""The review workflow: the only way a record's review state, embargo or organisation changes.

Every step either does all it says or raises `WorkflowRefused` with a message a curator can act
on, and writes nothing. Steps that could make something public (submit, publish, lift an
embargo, move) validate the whole record first; steps that hide something (embargo, withdraw,
return to draft) never wait on an unrelated flaw of the record, since hiding outranks tidiness.
Each step refreshes the derived fields of every organisation it touched, in its transaction.
"""

import datetime as dt

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from ..models import Event, Organisation, Reviewable, ReviewState
from .derived import PUBLIC_VIEW_FIELDS, refresh_organisation

# simple-history keeps a change reason of at most this many characters.
HISTORY_REASON_LENGTH = 100


class WorkflowRefused(Exception):
    """Raised when a workflow step is not allowed; nothing has been written."""


def is_reviewer(user) -> bool:
    return bool(user and user.has_perm("closures.publish_organisation"))


def require(condition: bool, message: str) -> None:
    if not condition:
        raise WorkflowRefused(message)


def record_name(record) -> str:
    """How a refusal names a record: an event by its ID, which the event list shows."""
    if isinstance(record, Event):
        return f"Event {record.uid}"
    return str(record)


def _require_state(record: Reviewable, *states: str) -> None:
    if record.review_state not in states:
        allowed = " or ".join(str(ReviewState(state).label) for state in states)
        raise WorkflowRefused(
            f"{record_name(record)} is {record.get_review_state_display()}; "
            f"this step needs it {allowed}."
        )


def submitted_by_user(record: Reviewable, user) -> bool:
    """Whether `user` submitted the record for review, as recorded on the record itself."""
    return record.submitted_by_id is not None and record.submitted_by_id == user.pk


def _require_four_eyes(record: Reviewable, user, verb: str) -> None:
    if user.is_superuser or not submitted_by_user(record, user):
        return
    raise WorkflowRefused(
        f"{record_name(record)} was submitted by you; another reviewer must {verb} it "
        "(four-eyes rule)."
    )


def validation_message(record, error: ValidationError, doing: str) -> str:
    """Say what to fix, field by field, in the labels the admin form shows."""
    problems = []
    for name, messages in getattr(
        error, "message_dict", {NON_FIELD_ERRORS: error.messages}
    ).items():
        label = "" if name == NON_FIELD_ERRORS else f"{record._meta.get_field(name).verbose_name}: "
        problems.extend(f"{label[:1].upper()}{label[1:]}{message}" for message in messages)
    return f"{record_name(record)} cannot {doing} until this is fixed: {' '.join(problems)}"


def validate(record, *, doing: str, unique: bool = False) -> None:
    """Run the model's validation; a problem becomes a refusal that names what to fix."""
    try:
        record.full_clean(validate_unique=unique)
    except ValidationError as error:
        raise WorkflowRefused(validation_message(record, error, doing)) from None


def history_reason(reason: str) -> str:
    if len(reason) <= HISTORY_REASON_LENGTH:
        return reason
    return reason[: HISTORY_REASON_LENGTH - 1] + "…"


def _save_step(record: Reviewable, *, user, reason: str, doing: str | None = None) -> None:
    """Save one record of a step; `doing` names the step when the record must be valid."""
    if doing is not None:
        validate(record, doing=doing)
    record._change_reason = history_reason(reason)
    record._history_user = user
    record.save()


def _locked(record: Reviewable) -> Reviewable:
    return type(record).objects.select_for_update().get(pk=record.pk)


def _events_to_carry(organisation: Organisation, *states: str):
    """Events move with their organisation through review, unless withdrawn on their own."""
    return organisation.events.filter(review_state__in=states).order_by("uid")


def submit_for_review(*, record: Reviewable, user, reason: str = "") -> Reviewable:
    """Hand a draft to the reviewers; an organisation takes its draft events with it."""
    require(user.has_perm("closures.change_organisation"), "You cannot edit records.")
    reason = reason or "Submitted for review"
    with transaction.atomic():
        record = _locked(record)
        _require_state(record, ReviewState.DRAFT)
        record.review_state = ReviewState.IN_REVIEW
        record.submitted_by = user
        if isinstance(record, Organisation):
            for event in _events_to_carry(record, ReviewState.DRAFT):
                event.review_state = ReviewState.IN_REVIEW
                event.submitted_by = user
                _save_step(event, user=user, reason=reason, doing="be submitted for review")
        _save_step(record, user=user, reason=reason, doing="be submitted for review")
        _refresh_after_step(record)
    return record


def publish(*, record: Reviewable, user, reason: str = "") -> Reviewable:
    """Publish a record in review; its events in review are published with it.

    The events it carries obey four eyes as a direct publish does. If the reviewer submitted
    any of them, nothing is published: a record that went public without some of the events
    reviewed with it could show a status or timeline no reviewer approved.
    """
    require(is_reviewer(user), "Only reviewers can publish.")
    reason = reason or "Published"
    with transaction.atomic():
        record = _locked(record)
        _require_state(record, ReviewState.IN_REVIEW)
        _require_four_eyes(record, user, "publish")
        if isinstance(record, Organisation):
            events = list(_events_to_carry(record, ReviewState.IN_REVIEW))
            own = [event.uid for event in events if submitted_by_user(event, user)]
            require(
                user.is_superuser or not own,
                f"{record} carries events you submitted yourself ({', '.join(own)}); another "
                "reviewer must publish it (four-eyes rule). Nothing was published.",
            )
            for event in events:
                event.review_state = ReviewState.PUBLISHED
                _save_step(event, user=user, reason=reason, doing="be published")
        record.review_state = ReviewState.PUBLISHED
        _save_step(record, user=user, reason=reason, doing="be published")
        _refresh_after_step(record)
    return record


def return_to_draft(*, record: Reviewable, user, reason: str) -> Reviewable:
    """Send a record in review (or a withdrawn one, by a reviewer) back to its curators."""
    require(bool(reason.strip()), "Say why the record goes back to draft.")
    with transaction.atomic():
        record = _locked(record)
        _require_state(record, ReviewState.IN_REVIEW, ReviewState.WITHDRAWN)
        require(
            is_reviewer(user)
            or (submitted_by_user(record, user) and record.review_state == ReviewState.IN_REVIEW),
            "Only reviewers, or the curator who submitted it, can return a record to draft.",
        )
        # A draft has no submitter: whoever submits it next is the one four eyes looks at.
        record.review_state, record.submitted_by = ReviewState.DRAFT, None
        if isinstance(record, Organisation):
            for event in _events_to_carry(record, ReviewState.IN_REVIEW):
                event.review_state, event.submitted_by = ReviewState.DRAFT, None
                _save_step(event, user=user, reason=reason)
        _save_step(record, user=user, reason=reason)
        _refresh_after_step(record)
    return record


def withdraw(
    *, record: Reviewable, user, reason: str, reason_zh: str = "", reason_public: bool = False
) -> Reviewable:
    """Take a published record down.

    Its address and tombstone give the `reason` (and `reason_zh`, the same in Chinese for the
    Chinese page) only when the reviewer marks it public (`reason_public`); otherwise they say
    no more than that the record is no longer public.
    """
    require(is_reviewer(user), "Only reviewers can withdraw.")
    require(bool(reason.strip()), "Give the reason for the withdrawal.")
    with transaction.atomic():
        record = _locked(record)
        _require_state(record, ReviewState.PUBLISHED)
        _require_four_eyes(record, user, "withdraw")
        record.review_state = ReviewState.WITHDRAWN
        if isinstance(record, Organisation):
            record.withdrawn_reason = reason
            record.withdrawn_reason_zh = reason_zh.strip()
            record.withdrawn_reason_public = reason_public
        _save_step(record, user=user, reason=f"Withdrawn: {reason}")
        _refresh_after_step(record)
    return record


def set_embargo(
    *, record: Reviewable, user, reason: str, review_on: dt.date | None = None
) -> Reviewable:
    """Hide a record from every public channel, whatever its review state."""
    require(user.has_perm("closures.embargo_organisation"), "Only reviewers can embargo.")
    require(bool(reason.strip()), "Give the reason for the embargo.")
    with transaction.atomic():
        record = _locked(record)
        record.embargoed = True
        record.embargo_reason = reason
        record.embargo_review_on = review_on
        _save_step(record, user=user, reason="Embargo set")
        _refresh_after_step(record)
    return record


def lift_embargo(*, record: Reviewable, user, reason: str = "") -> Reviewable:
    require(user.has_perm("closures.embargo_organisation"), "Only reviewers can lift an embargo.")
    with transaction.atomic():
        record = _locked(record)
        require(record.embargoed, f"{record_name(record)} is not embargoed.")
        record.embargoed = False
        record.embargo_reason = ""
        record.embargo_review_on = None
        _save_step(
            record, user=user, reason=reason or "Embargo lifted", doing="have its embargo lifted"
        )
        _refresh_after_step(record)
    return record


def move_event(*, record: Event, organisation: Organisation, user, reason: str) -> Event:
    """Move an event to another organisation; it arrives there in review, never public.

    Moving can put an event before a different public (an embargoed organisation's event onto
    a public one), so it is a reviewer's step, the mover counts as its submitter, and another
    reviewer must publish it in its new place. Both organisations' derived fields follow.
    """
    require(is_reviewer(user), "Only reviewers can move an event to another organisation.")
    require(bool(reason.strip()), "Say why the event moves to another organisation.")
    require(isinstance(record, Event), "Only events move between organisations.")
    with transaction.atomic():
        event = _locked(record)
        target = Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        require(target is not None, "The organisation to move the event to no longer exists.")
        require(
            event.organisation_id != target.pk,
            f"{record_name(event)} already belongs to {target} ({target.slug}).",
        )
        source = event.organisation
        event.organisation = target
        event.review_state = ReviewState.IN_REVIEW
        event.submitted_by = user
        _save_step(
            event,
            user=user,
            reason=f"Moved from {source.slug} to {target.slug}: {reason}",
            doing=f"move to {target.slug}",
        )
        refresh_organisation(organisation_id=source.pk)
        refresh_organisation(organisation_id=target.pk)
    return event


def _refresh_after_step(record: Reviewable) -> None:
    """Refresh the organisation; a caller holding it sees its new derived and public fields."""
    organisation_id = record.pk if isinstance(record, Organisation) else record.organisation_id
    refreshed = refresh_organisation(organisation_id=organisation_id)
    if isinstance(record, Organisation):
        for name in (*Organisation.DERIVED_FIELDS, *PUBLIC_VIEW_FIELDS, "is_public"):
            setattr(record, name, getattr(refreshed, name))


# Review state, embargo, submitter and an event's organisation change only through the steps
# above, never by a revert or a form.
WORKFLOW_FIELDS = frozenset(
    {
        "review_state",
        "embargoed",
        "embargo_reason",
        "embargo_review_on",
        "withdrawn_reason",
        "withdrawn_reason_zh",
        "withdrawn_reason_public",
        "submitted_by",
        "first_published_at",
        "public_changed_at",
        "public_fingerprint",
        "organisation",
    }
)

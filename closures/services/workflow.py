"""The review workflow: the only way a record's review state or embargo changes."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import Organisation, Reviewable, ReviewState
from .derived import refresh_organisation
from .public_version import (
    bump_public_data_version,
    is_public,
    organisation_id_of,
    shows_publicly,
)


class WorkflowRefused(Exception):
    """Raised when a workflow step is not allowed; nothing has been written."""


def is_reviewer(user) -> bool:
    return bool(user and user.has_perm("closures.publish_organisation"))


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise WorkflowRefused(message)


def _require_state(record: Reviewable, *states: str) -> None:
    if record.review_state not in states:
        allowed = " or ".join(str(ReviewState(state).label) for state in states)
        raise WorkflowRefused(
            f"{record} is {record.get_review_state_display()}; this step needs it {allowed}."
        )


def _author(record: Reviewable):
    """Who submitted the record: the four-eyes rule keeps them from publishing it themselves."""
    if isinstance(record, Organisation):
        return record.submitted_by
    latest = record.history.order_by("-history_date").first()
    return latest.history_user if latest else None


def _require_four_eyes(record: Reviewable, user, verb: str) -> None:
    author = _author(record)
    if user.is_superuser or author is None or author.pk != user.pk:
        return
    raise WorkflowRefused(
        f"{record} was submitted by you; another reviewer must {verb} it (four-eyes rule)."
    )


def _save_step(record: Reviewable, *, user, reason: str) -> None:
    record.full_clean()
    record._change_reason = reason
    record._history_user = user
    record.save()


def _locked(record: Reviewable) -> Reviewable:
    return type(record).objects.select_for_update().get(pk=record.pk)


def _events_to_carry(organisation: Organisation, *states: str):
    """Events move with their organisation through review, unless withdrawn on their own."""
    return organisation.events.filter(review_state__in=states)


def submit_for_review(*, record: Reviewable, user, reason: str = "") -> Reviewable:
    """Hand a draft to the reviewers; an organisation takes its draft events with it."""
    _require(user.has_perm("closures.change_organisation"), "You cannot edit records.")
    with transaction.atomic():
        record = _locked(record)
        _require_state(record, ReviewState.DRAFT)
        record.review_state = ReviewState.IN_REVIEW
        if isinstance(record, Organisation):
            record.submitted_by = user
            for event in _events_to_carry(record, ReviewState.DRAFT):
                event.review_state = ReviewState.IN_REVIEW
                _save_step(event, user=user, reason=reason or "Submitted for review")
        _save_step(record, user=user, reason=reason or "Submitted for review")
    return record


def publish(*, record: Reviewable, user, reason: str = "") -> Reviewable:
    """Publish a record in review; its events in review are published with it."""
    _require(is_reviewer(user), "Only reviewers can publish.")
    with transaction.atomic():
        record = _locked(record)
        was_public = is_public(organisation_id_of(record))
        _require_state(record, ReviewState.IN_REVIEW)
        _require_four_eyes(record, user, "publish")
        if isinstance(record, Organisation):
            for event in _events_to_carry(record, ReviewState.IN_REVIEW):
                event.review_state = ReviewState.PUBLISHED
                _save_step(event, user=user, reason=reason or "Published")
            record.first_published_at = record.first_published_at or timezone.now()
        record.review_state = ReviewState.PUBLISHED
        try:
            _save_step(record, user=user, reason=reason or "Published")
        except ValidationError as error:
            raise WorkflowRefused(" ".join(error.messages)) from None
        _refresh_after_step(record, was_public=was_public)
    return record


def return_to_draft(*, record: Reviewable, user, reason: str) -> Reviewable:
    """Send a record in review (or a withdrawn one, by a reviewer) back to its curators."""
    _require(bool(reason.strip()), "Say why the record goes back to draft.")
    with transaction.atomic():
        record = _locked(record)
        was_public = is_public(organisation_id_of(record))
        _require_state(record, ReviewState.IN_REVIEW, ReviewState.WITHDRAWN)
        author = _author(record)
        own_submission = author is not None and author.pk == user.pk
        _require(
            is_reviewer(user) or (own_submission and record.review_state == ReviewState.IN_REVIEW),
            "Only reviewers, or the curator who submitted it, can return a record to draft.",
        )
        record.review_state = ReviewState.DRAFT
        if isinstance(record, Organisation):
            for event in _events_to_carry(record, ReviewState.IN_REVIEW):
                event.review_state = ReviewState.DRAFT
                _save_step(event, user=user, reason=reason)
        _save_step(record, user=user, reason=reason)
        _refresh_after_step(record, was_public=was_public)
    return record


def withdraw(*, record: Reviewable, user, reason: str) -> Reviewable:
    """Take a published record down; its address then shows the public `reason`."""
    _require(is_reviewer(user), "Only reviewers can withdraw.")
    _require(bool(reason.strip()), "Give the public reason for the withdrawal.")
    with transaction.atomic():
        record = _locked(record)
        was_public = is_public(organisation_id_of(record))
        _require_state(record, ReviewState.PUBLISHED)
        _require_four_eyes(record, user, "withdraw")
        record.review_state = ReviewState.WITHDRAWN
        if isinstance(record, Organisation):
            record.withdrawn_reason = reason
        _save_step(record, user=user, reason=f"Withdrawn: {reason}")
        _refresh_after_step(record, was_public=was_public)
    return record


def set_embargo(
    *, record: Reviewable, user, reason: str, review_on: dt.date | None = None
) -> Reviewable:
    """Hide a record from every public channel, whatever its review state."""
    _require(user.has_perm("closures.embargo_organisation"), "Only reviewers can embargo.")
    _require(bool(reason.strip()), "Give the reason for the embargo.")
    with transaction.atomic():
        record = _locked(record)
        was_public = is_public(organisation_id_of(record))
        record.embargoed = True
        record.embargo_reason = reason
        record.embargo_review_on = review_on
        _save_step(record, user=user, reason="Embargo set")
        _refresh_after_step(record, was_public=was_public)
    return record


def lift_embargo(*, record: Reviewable, user, reason: str = "") -> Reviewable:
    _require(user.has_perm("closures.embargo_organisation"), "Only reviewers can lift an embargo.")
    with transaction.atomic():
        record = _locked(record)
        was_public = is_public(organisation_id_of(record))
        _require(record.embargoed, f"{record} is not embargoed.")
        record.embargoed = False
        record.embargo_reason = ""
        record.embargo_review_on = None
        _save_step(record, user=user, reason=reason or "Embargo lifted")
        _refresh_after_step(record, was_public=was_public)
    return record


def _refresh_after_step(record: Reviewable, *, was_public: bool) -> None:
    """Refresh derived fields; move the data version if the record was or is now public."""
    organisation_id = organisation_id_of(record)
    refresh_organisation(organisation_id=organisation_id)
    if was_public or is_public(organisation_id):
        bump_public_data_version()


# Review state and embargo change only through the steps above, never by a revert.
WORKFLOW_FIELDS = frozenset(
    {
        "review_state",
        "embargoed",
        "embargo_reason",
        "embargo_review_on",
        "withdrawn_reason",
        "submitted_by",
        "first_published_at",
    }
)


def revert_to_version(*, historical_record, user, reason: str = ""):
    """Restore the content of an earlier version; the review state and embargo stay as they are."""
    _require(is_reviewer(user), "Only reviewers can revert to an earlier version.")
    model = historical_record.instance_type
    with transaction.atomic():
        current = model.objects.select_for_update().filter(pk=historical_record.instance.pk)
        current = current.first()
        was_public = current is not None and shows_publicly(current)
        restored = historical_record.instance
        if current is not None:
            for name in WORKFLOW_FIELDS:
                if hasattr(current, name):
                    setattr(restored, name, getattr(current, name))
        version = historical_record.history_date.strftime("%Y-%m-%d %H:%M")
        try:
            restored.full_clean(validate_unique=False)
        except ValidationError as error:
            raise WorkflowRefused(" ".join(error.messages)) from None
        restored._change_reason = reason or f"Reverted to the version of {version}"
        restored._history_user = user
        restored.save()
        if isinstance(restored, Reviewable):
            _refresh_after_step(restored, was_public=was_public)
        elif was_public or shows_publicly(restored):
            bump_public_data_version()
    return restored

"""The public change log of a record: dated summaries of its published changes.

Built from simple-history's versions of the organisation and of its public events. Worded for
the public: no curator names, no reasons, and nothing made while a record was unpublished or
embargoed.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .models import Event, Organisation, ReviewState


@dataclass(frozen=True)
class ChangeLogEntry:
    """One published change, worded for the public: no curator names, no reasons."""

    changed_at: dt.datetime
    summary: str


# Fields whose changes the public change log never mentions: workflow bookkeeping and
# curators' notes. Derived fields (not editable) are left out as well.
CHANGE_LOG_HIDDEN_FIELDS = frozenset(
    {
        "review_state",
        "embargoed",
        "embargo_reason",
        "embargo_review_on",
        "curator_note",
        "withdrawn_reason",
        "withdrawn_reason_zh",
    }
)


def _public_versions(versions):
    """Yield (version, previous version) for each version that was public when it was made.

    `versions` are one record's historical versions, oldest first.
    """
    previous = None
    for version in versions:
        if version.review_state == ReviewState.PUBLISHED and not version.embargoed:
            yield version, previous
        previous = version


def _changed_field_labels(model, version, previous) -> list[str]:
    # Many-to-many changes would cost a query per version: the log names field changes only.
    many_to_many = [field.name for field in model._meta.many_to_many]
    delta = version.diff_against(
        previous, excluded_fields=[*CHANGE_LOG_HIDDEN_FIELDS, *many_to_many]
    )
    fields = [model._meta.get_field(name) for name in delta.changed_fields]
    return [str(field.verbose_name) for field in fields if field.editable]


def public_change_log(organisation: Organisation, limit: int = 20) -> list[ChangeLogEntry]:
    """Dated summaries of published changes to the record and its public events, newest first.

    Only versions made while the record (or event) was published and not embargoed count,
    and only events that are public now, so nothing embargoed or unpublished shows through.
    """
    entries = []
    own_versions = organisation.history.order_by("history_date", "history_id")
    for version, previous in _public_versions(own_versions):
        if previous is None or previous.review_state != ReviewState.PUBLISHED:
            summary = str(_("Record published"))
        elif previous.embargoed:
            continue
        else:
            labels = _changed_field_labels(Organisation, version, previous)
            if not labels:
                continue
            summary = str(_("Updated: %s")) % ", ".join(labels)
        entries.append(ChangeLogEntry(version.history_date, summary))
    # Every public event's history in one query, so the page's cost does not grow with them.
    events = {event.pk: event for event in organisation.events.public_regardless_of_organisation()}
    event_versions = defaultdict(list)
    for version in Event.history.filter(id__in=events).order_by("history_date", "history_id"):
        event_versions[version.id].append(version)
    for event_id, versions in event_versions.items():
        kind = events[event_id].get_event_type_display()
        for version, previous in _public_versions(versions):
            if previous is None or previous.review_state != ReviewState.PUBLISHED:
                summary = str(_("Event added: %s")) % kind
            elif previous.embargoed:
                summary = str(_("Event added: %s")) % kind
            else:
                labels = _changed_field_labels(Event, version, previous)
                if not labels:
                    continue
                summary = str(_("Event updated (%(event)s): %(fields)s")) % {
                    "event": kind,
                    "fields": ", ".join(labels),
                }
            entries.append(ChangeLogEntry(version.history_date, summary))
    entries.sort(key=lambda entry: entry.changed_at, reverse=True)
    return entries[:limit]

"""A change to a published record's public fields, waiting for a second person to approve it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .event import Event
from .organisation import Organisation
from .source import Source
from .taxonomies import choices_constraint


class PendingChangeState(models.TextChoices):
    OPEN = "open", _("waiting for a reviewer")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")


class PendingChangeQuerySet(models.QuerySet):
    def open(self):
        return self.filter(state=PendingChangeState.OPEN)


class PendingChange(models.Model):
    """What a curator proposed for a published organisation or event, or for a source such an
    event cites; the public keeps the last approved version until a reviewer other than the
    proposer approves it.

    Kept after the decision, approved or rejected: the proposal and who decided it are part of
    the record's history. See closures/services/pending.py for the rules.
    """

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="pending_changes",
    )
    event = models.ForeignKey(
        Event,
        verbose_name=_("event"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="pending_changes",
    )
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="pending_changes",
    )
    proposed = models.JSONField(
        _("proposed values"),
        default=dict,
        help_text=_("The public fields that differ from the live record, with their new values."),
    )
    base = models.JSONField(
        _("live values when proposed"),
        default=dict,
        help_text=_(
            "The live values of the same fields when each was first proposed: an approval is "
            "refused if the live record has changed since, rather than overwrite that change."
        ),
    )
    reason = models.CharField(_("reason for the change"), max_length=100, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed"))
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=PendingChangeState.choices,
        default=PendingChangeState.OPEN,
        db_index=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True)

    objects = PendingChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("change waiting for review")
        verbose_name_plural = _("changes waiting for review")
        ordering = ["-proposed_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(organisation__isnull=False) & Q(event__isnull=True) & Q(source__isnull=True)
                )
                | (Q(organisation__isnull=True) & Q(event__isnull=False) & Q(source__isnull=True))
                | (Q(organisation__isnull=True) & Q(event__isnull=True) & Q(source__isnull=False)),
                name="pending_change_of_one_record",
            ),
            # One proposal at a time per record: a reviewer weighs one diff against the live
            # record, never two proposals that may contradict each other.
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(state=PendingChangeState.OPEN),
                name="one_open_change_per_organisation",
            ),
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(state=PendingChangeState.OPEN),
                name="one_open_change_per_event",
            ),
            models.UniqueConstraint(
                fields=["source"],
                condition=Q(state=PendingChangeState.OPEN),
                name="one_open_change_per_source",
            ),
            choices_constraint("state", PendingChangeState, "pending_change_state_valid"),
        ]

    def __str__(self):
        return f"{self.get_state_display()}: {self.record}"

    # The foreign key naming the record is named after the record's model.
    RECORD_KEYS = ("organisation", "event", "source")

    @property
    def record(self) -> Organisation | Event | Source:
        return next(getattr(self, key) for key in self.RECORD_KEYS if getattr(self, f"{key}_id"))

    @property
    def is_open(self) -> bool:
        return self.state == PendingChangeState.OPEN

"""Review state and embargo: what every publicly showable record carries."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .taxonomies import ReviewState


class Reviewable(models.Model):
    """Review state and embargo, shared by organisations and events."""

    review_state = models.CharField(
        _("review state"),
        max_length=16,
        choices=ReviewState.choices,
        default=ReviewState.DRAFT,
        db_index=True,
        help_text=_("Only published records can appear publicly."),
    )
    embargoed = models.BooleanField(
        _("embargoed"),
        default=False,
        db_index=True,
        help_text=_(
            "An embargoed record never appears in any public channel, even when published."
        ),
    )
    embargo_reason = models.TextField(_("embargo reason"), blank=True)
    embargo_review_on = models.DateField(
        _("review embargo on"),
        null=True,
        blank=True,
        help_text=_("When reviewers should reconsider the embargo."),
    )
    notes = models.TextField(
        _("notes"),
        blank=True,
        help_text=_("Context: disagreements between sources, how a date was worked out."),
    )
    notes_sensitive = models.BooleanField(
        _("notes are sensitive"),
        default=False,
        help_text=_("Sensitive notes (e.g. naming individuals) are never shown publicly."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        if self.embargoed and not self.embargo_reason.strip():
            raise ValidationError({"embargo_reason": _("Give the reason for the embargo.")})

    @property
    def public_notes(self) -> str:
        return "" if self.notes_sensitive else self.notes

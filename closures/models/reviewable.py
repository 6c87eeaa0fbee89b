"""Review state and embargo: what every publicly showable record carries."""

from django.conf import settings
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
    curator_note = models.TextField(
        _("curator note"),
        blank=True,
        help_text=_(
            "Never public: research trail, doubts, where a name came from, why a field changed."
        ),
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted for review by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "Who submitted it for review: they may not publish or withdraw it themselves "
            "(four-eyes rule). Empty for a draft."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        if self.embargoed and not self.embargo_reason.strip():
            raise ValidationError({"embargo_reason": _("Give the reason for the embargo.")})

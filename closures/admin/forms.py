"""Form pieces shared by every model admin that keeps a history."""

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

# URLs typed without a scheme are taken as https, as Django 6 will do by default.
URL_FORMFIELD_OVERRIDES = {models.URLField: {"assume_scheme": "https"}}


class ChangeReasonForm(forms.ModelForm):
    """Adds the optional reason that the history records beside each change."""

    change_reason = forms.CharField(
        label=_("reason for this change"),
        required=False,
        max_length=100,
        help_text=_("Kept in the record's history for other curators; never shown publicly."),
    )


REASON_FIELDSET = (_("History"), {"fields": ["change_reason"]})

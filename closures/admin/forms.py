"""Form pieces shared by every model admin that keeps a history."""

from django import forms
from django.contrib import admin
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from ..models import Organisation

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


class PublicityLabels:
    """Say beside each field of a record whether the public sees it.

    A model lists its public fields in `PUBLIC_FIELDS`; every other field is for curators.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        public_fields = getattr(self.model, "PUBLIC_FIELDS", None)
        if formfield is None or public_fields is None:
            return formfield
        label = _("Public.") if db_field.name in public_fields else _("Never public.")
        formfield.help_text = format_lazy("{} {}", label, formfield.help_text or "")
        return formfield


class TranslationMissingFilter(admin.SimpleListFilter):
    """Records with a public text (theirs or an event's) in one language only."""

    title = _("translation")
    parameter_name = "translation"

    def lookups(self, request, model_admin):
        return [("missing", _("missing in one language")), ("complete", _("complete"))]

    def queryset(self, request, queryset):
        lacking = Organisation.objects.lacking_translation().values("pk")
        if self.value() == "missing":
            return queryset.filter(pk__in=lacking)
        if self.value() == "complete":
            return queryset.exclude(pk__in=lacking)
        return queryset

"""The curator admin: declarative; multi-step work is handed to services and tasks."""

import nested_admin
from django import forms
from django.contrib import admin
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import tasks
from .models import Alias, Citation, Claim, Event, Organisation, Source

REVIEWER_ONLY_FIELDS = (
    "review_state",
    "embargoed",
    "embargo_reason",
    "embargo_review_on",
    "withdrawn_reason",
)


def is_reviewer(user) -> bool:
    return user.has_perm("closures.publish_organisation")


def visibility_fields_readonly_for(user, fields=REVIEWER_ONLY_FIELDS) -> tuple[str, ...]:
    """Curators edit content; only reviewers change what the public can see."""
    return () if is_reviewer(user) else tuple(fields)


# URLs typed without a scheme are taken as https, as Django 6 will do by default.
URL_FORMFIELD_OVERRIDES = {models.URLField: {"assume_scheme": "https"}}

EVENT_FIELDSETS = [
    (None, {"fields": ["uid", "event_type", "confidence"]}),
    (
        _("Dates"),
        {
            "fields": [
                ("announced_on", "announced_precision"),
                ("effective_on", "effective_precision"),
            ]
        },
    ),
    (_("Destination"), {"fields": [("destination_country", "destination_city")]}),
    (_("Reason"), {"fields": ["stated_reason_en", "stated_reason_zh", "reasons"]}),
    (_("Notes"), {"fields": ["notes", "notes_sensitive"]}),
    (_("Visibility"), {"fields": list(REVIEWER_ONLY_FIELDS[:4])}),
]
EVENT_FORMFIELD_OVERRIDES = {
    models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple},
    models.TextField: {"widget": forms.Textarea(attrs={"rows": 2})},
}


class CitationForm(forms.ModelForm):
    claims = forms.MultipleChoiceField(
        label=_("claims supported"),
        choices=Claim.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Citation
        fields = ["source", "quote", "claims"]


class CitationInline(nested_admin.NestedTabularInline):
    model = Citation
    form = CitationForm
    extra = 0
    autocomplete_fields = ["source"]
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2})}}


class EventInline(nested_admin.NestedStackedInline):
    model = Event
    extra = 0
    inlines = [CitationInline]
    show_change_link = True
    formfield_overrides = EVENT_FORMFIELD_OVERRIDES
    fieldsets = EVENT_FIELDSETS

    def get_readonly_fields(self, request, obj=None):
        return visibility_fields_readonly_for(request.user, REVIEWER_ONLY_FIELDS[:4])


class AliasInline(nested_admin.NestedTabularInline):
    model = Alias
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin, nested_admin.NestedModelAdmin):
    inlines = [AliasInline, EventInline]
    formfield_overrides = URL_FORMFIELD_OVERRIDES
    list_display = [
        "__str__",
        "name_zh",
        "slug",
        "org_type",
        "current_status",
        "review_state",
        "embargoed",
        "updated_at",
    ]
    list_filter = ["org_type", "current_status", "review_state", "embargoed"]
    search_fields = ["name_en", "name_zh", "acronym", "slug", "aliases__name"]
    readonly_fields = ["current_status", "public_status", "first_published_at", "submitted_by"]
    prepopulated_fields = {"slug": ["name_en"]}
    fieldsets = [
        (None, {"fields": ["slug", "name_en", "name_zh", "acronym", "org_type", "founded_year"]}),
        (
            _("Description"),
            {"fields": ["description_en", "description_zh", "website", "wikidata_id"]},
        ),
        (_("Derived from events"), {"fields": ["current_status", "public_status"]}),
        (_("Notes"), {"fields": ["notes", "notes_sensitive"]}),
        (
            _("Visibility"),
            {"fields": [*REVIEWER_ONLY_FIELDS, "first_published_at", "submitted_by"]},
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return [*readonly, *visibility_fields_readonly_for(request.user)]

    def get_prepopulated_fields(self, request, obj=None):
        # A published record's slug is permanent, so it is not rewritten from the name.
        return {} if obj and obj.first_published_at else super().get_prepopulated_fields(request)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        organisation_id = form.instance.pk
        transaction.on_commit(lambda: tasks.refresh_organisation.delay(organisation_id))


@admin.register(Event)
class EventAdmin(SimpleHistoryAdmin, nested_admin.NestedModelAdmin):
    inlines = [CitationInline]
    list_display = [
        "uid",
        "organisation",
        "event_type",
        "announced_display",
        "effective_display",
        "destination_country",
        "confidence",
        "review_state",
        "embargoed",
    ]
    list_filter = ["event_type", "confidence", "review_state", "embargoed", "reasons"]
    search_fields = ["uid", "organisation__name_en", "organisation__name_zh", "stated_reason_en"]
    autocomplete_fields = ["organisation"]
    list_select_related = ["organisation"]
    fieldsets = [
        (None, {"fields": ["organisation", *EVENT_FIELDSETS[0][1]["fields"]]}),
        *EVENT_FIELDSETS[1:],
    ]
    formfield_overrides = EVENT_FORMFIELD_OVERRIDES

    def get_readonly_fields(self, request, obj=None):
        return visibility_fields_readonly_for(request.user, REVIEWER_ONLY_FIELDS[:4])

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        organisation_id = form.instance.organisation_id
        transaction.on_commit(lambda: tasks.refresh_organisation.delay(organisation_id))


@admin.register(Source)
class SourceAdmin(SimpleHistoryAdmin):
    formfield_overrides = URL_FORMFIELD_OVERRIDES
    list_display = ["__str__", "source_type", "published_on", "last_status_code", "archived_url"]
    list_filter = ["source_type", "language"]
    search_fields = ["url", "title", "publisher", "uid"]
    readonly_fields = [
        "uid",
        "final_url",
        "last_checked_at",
        "last_status_code",
        "consecutive_failures",
    ]

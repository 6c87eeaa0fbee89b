"""Model admins for organisations and events, with their inlines."""

import nested_admin
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import tasks
from ..models import Alias, Citation, Claim, Event, Organisation
from ..pagination import KeysFirstPaginator
from .curation import CurationAdmin
from .forms import REASON_FIELDSET, URL_FORMFIELD_OVERRIDES, ChangeReasonForm
from .views import SpreadsheetImport

REVIEWER_ONLY_FIELDS = (
    "review_state",
    "embargoed",
    "embargo_reason",
    "embargo_review_on",
    "withdrawn_reason",
)


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
    # What the public can see changes only through the workflow actions, which enforce who
    # may do what (four eyes included) and record why; an editable field would bypass both.
    readonly_fields = REVIEWER_ONLY_FIELDS[:4]


class AliasInline(nested_admin.NestedTabularInline):
    model = Alias
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(CurationAdmin, nested_admin.NestedModelAdmin):
    form = ChangeReasonForm
    inlines = [AliasInline, EventInline]
    formfield_overrides = URL_FORMFIELD_OVERRIDES
    change_list_template = "admin/closures/organisation/change_list.html"
    list_display = [
        "__str__",
        "name_zh",
        "slug",
        "org_type",
        "current_status",
        "review_state",
        "embargoed",
        "submitted_by",
        "last_changed_by",
        "updated_at",
    ]
    list_filter = ["org_type", "current_status", "review_state", "embargoed"]
    list_select_related = ["submitted_by"]
    # One trigram-indexed column (names, acronym, ID, aliases) instead of a join on aliases,
    # and no full count on every load: the changelist stays quick at 100,000 records.
    search_fields = ["search_text"]
    show_full_result_count = False
    paginator = KeysFirstPaginator
    readonly_fields = [
        "current_status",
        "public_status",
        "first_published_at",
        "submitted_by",
        *REVIEWER_ONLY_FIELDS,
    ]
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
        REASON_FIELDSET,
    ]

    def get_prepopulated_fields(self, request, obj=None):
        # A published record's slug is permanent, so it is not rewritten from the name.
        return {} if obj and obj.first_published_at else super().get_prepopulated_fields(request)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            for duplicate in obj.likely_duplicates():
                self.message_user(
                    request,
                    format_html(
                        'Possible duplicate of <a href="{}">{}</a> ({}).',
                        reverse("admin:closures_organisation_change", args=[duplicate.pk]),
                        duplicate,
                        duplicate.slug,
                    ),
                    messages.WARNING,
                )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        organisation_id = form.instance.pk
        transaction.on_commit(lambda: tasks.refresh_organisation.delay(organisation_id))

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="closures_organisation_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return SpreadsheetImport(self, request).respond()


@admin.register(Event)
class EventAdmin(CurationAdmin, nested_admin.NestedModelAdmin):
    form = ChangeReasonForm
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
        "last_changed_by",
    ]
    list_filter = ["event_type", "confidence", "review_state", "embargoed", "reasons"]
    search_fields = ["=uid", "organisation__search_text", "stated_reason_en", "stated_reason_zh"]
    show_full_result_count = False
    autocomplete_fields = ["organisation"]
    list_select_related = ["organisation"]
    readonly_fields = REVIEWER_ONLY_FIELDS[:4]
    fieldsets = [
        (None, {"fields": ["organisation", *EVENT_FIELDSETS[0][1]["fields"]]}),
        *EVENT_FIELDSETS[1:],
        REASON_FIELDSET,
    ]
    formfield_overrides = EVENT_FORMFIELD_OVERRIDES

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        organisation_id = form.instance.organisation_id
        transaction.on_commit(lambda: tasks.refresh_organisation.delay(organisation_id))

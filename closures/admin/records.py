"""Model admins for organisations and events, with their inlines."""

import nested_admin
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import Alias, Citation, Claim, Event, Organisation
from ..pagination import KeysFirstPaginator
from .curation import WORKFLOW_ACTIONS, CurationAdmin, MoveEventForm, workflow_action
from .forms import (
    REASON_FIELDSET,
    URL_FORMFIELD_OVERRIDES,
    ChangeReasonForm,
    PublicityLabels,
    TranslationMissingFilter,
)
from .pending import HasPendingChangeFilter, ProposalInline, ReviewedEdits
from .views import SpreadsheetImport

REVIEWER_ONLY_FIELDS = (
    "review_state",
    "embargoed",
    "embargo_reason",
    "embargo_review_on",
    "withdrawn_reason",
    "withdrawn_reason_zh",
    "withdrawn_reason_public",
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
    (_("Notes"), {"fields": ["public_note", "public_note_zh", "curator_note"]}),
    (_("Visibility"), {"fields": [*REVIEWER_ONLY_FIELDS[:4], "submitted_by"]}),
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


class CitationInline(ProposalInline, nested_admin.NestedTabularInline):
    model = Citation
    form = CitationForm
    extra = 0
    autocomplete_fields = ["source"]
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2})}}


class EventInline(PublicityLabels, ProposalInline, nested_admin.NestedStackedInline):
    model = Event
    extra = 0
    inlines = [CitationInline]
    show_change_link = True
    formfield_overrides = EVENT_FORMFIELD_OVERRIDES
    fieldsets = EVENT_FIELDSETS
    # What the public can see changes only through the workflow actions, which enforce who
    # may do what (four eyes included) and record why; an editable field would bypass both.
    readonly_fields = [*REVIEWER_ONLY_FIELDS[:4], "submitted_by"]


class AliasInline(ProposalInline, nested_admin.NestedTabularInline):
    model = Alias
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(
    PublicityLabels, ReviewedEdits, CurationAdmin, nested_admin.NestedModelAdmin
):
    form = ChangeReasonForm
    inlines = [AliasInline, EventInline]
    formfield_overrides = URL_FORMFIELD_OVERRIDES
    change_list_template = "admin/closures/organisation/change_list.html"
    # What a curator scans for at 1280 px without scrolling sideways; the Chinese name, ID and
    # submitter are one click away and searchable.
    list_display = [
        "__str__",
        "org_type",
        "current_status",
        "review_state",
        "embargoed",
        "last_changed_by",
        "updated_at",
    ]
    list_filter = [
        "org_type",
        "current_status",
        "review_state",
        "embargoed",
        HasPendingChangeFilter,
        TranslationMissingFilter,
    ]
    autocomplete_fields = ["parent_organisation"]
    # One trigram-indexed column (names, acronym, ID, aliases) instead of a join on aliases,
    # and no full count on every load: the changelist stays quick at 100,000 records.
    search_fields = ["search_text"]
    show_full_result_count = False
    paginator = KeysFirstPaginator
    # Rendering a row costs more than finding it: fifty keep a page quick to draw.
    list_per_page = 50
    readonly_fields = [
        "current_status",
        "current_status_unconfirmed",
        "public_status",
        "public_status_unconfirmed",
        "missing_translations",
        "first_published_at",
        "public_changed_at",
        "submitted_by",
        *REVIEWER_ONLY_FIELDS,
    ]
    prepopulated_fields = {"slug": ["name_en"]}
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "slug",
                    "name_en",
                    "name_zh",
                    "acronym",
                    "org_type",
                    "founded_year",
                    "parent_organisation",
                ]
            },
        ),
        (
            _("Description"),
            {"fields": ["description_en", "description_zh", "website", "wikidata_id"]},
        ),
        (
            _("Derived from events"),
            {
                "fields": [
                    ("current_status", "current_status_unconfirmed"),
                    ("public_status", "public_status_unconfirmed"),
                ]
            },
        ),
        (_("Translation"), {"fields": ["missing_translations"]}),
        (_("Notes"), {"fields": ["curator_note"]}),
        (
            _("Visibility"),
            {
                "fields": [
                    *REVIEWER_ONLY_FIELDS,
                    "first_published_at",
                    "public_changed_at",
                    "submitted_by",
                ]
            },
        ),
        REASON_FIELDSET,
    ]

    @admin.display(description=_("public texts in one language only"))
    def missing_translations(self, obj):
        return "; ".join(obj.missing_translations()) or _("none")

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
        # In the request's transaction: events added, changed or deleted inline count at once.
        services.refresh_organisation(organisation_id=form.instance.pk)

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
class EventAdmin(PublicityLabels, ReviewedEdits, CurationAdmin, nested_admin.NestedModelAdmin):
    form = ChangeReasonForm
    inlines = [CitationInline]
    list_display = [
        "uid",
        "organisation",
        "event_type",
        "date",
        "confidence",
        "review_state",
        "embargoed",
        "updated_at",
    ]
    list_filter = [
        "event_type",
        "confidence",
        "review_state",
        "embargoed",
        HasPendingChangeFilter,
        "reasons",
    ]
    search_fields = ["=uid", "organisation__search_text", "stated_reason_en", "stated_reason_zh"]
    show_full_result_count = False
    autocomplete_fields = ["organisation"]
    list_select_related = ["organisation"]
    readonly_fields = [*REVIEWER_ONLY_FIELDS[:4], "submitted_by"]
    fieldsets = [
        (None, {"fields": ["organisation", *EVENT_FIELDSETS[0][1]["fields"]]}),
        *EVENT_FIELDSETS[1:],
        REASON_FIELDSET,
    ]
    formfield_overrides = EVENT_FORMFIELD_OVERRIDES
    actions = [
        *WORKFLOW_ACTIONS,
        workflow_action(
            services.move_event,
            description=_("Move to another organisation"),
            form_class=MoveEventForm,
            permission="publish",
        ),
    ]

    @admin.display(description=_("date"), ordering="occurred_from")
    def date(self, event):
        """The timeline date (effective, else announced) at the precision known."""
        return event.effective_display() or event.announced_display() or "—"

    def get_readonly_fields(self, request, obj=None):
        # An event changes organisation only through the reviewers' move action, which sends
        # it back to review: a form field would put it before another public unreviewed.
        readonly = super().get_readonly_fields(request, obj)
        return [*readonly, "organisation"] if obj is not None else readonly

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.refresh_organisation(organisation_id=form.instance.organisation_id)

"""The curator admin: declarative; multi-step work is handed to services and tasks."""

import re
import secrets
from pathlib import Path

import nested_admin
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import services, tasks
from .models import Alias, Citation, Claim, Event, Organisation, ReviewState, Source
from .pagination import KeysFirstPaginator

REVIEWER_ONLY_FIELDS = (
    "review_state",
    "embargoed",
    "embargo_reason",
    "embargo_review_on",
    "withdrawn_reason",
)


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


class ChangeReasonForm(forms.ModelForm):
    """Adds the optional reason that the history records beside each change."""

    change_reason = forms.CharField(
        label=_("reason for this change"),
        required=False,
        max_length=100,
        help_text=_("Kept in the record's history for other curators; never shown publicly."),
    )


REASON_FIELDSET = (_("History"), {"fields": ["change_reason"]})


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


# --- Workflow actions -------------------------------------------------------------------


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def service_kwargs(self) -> dict:
        return {"reason": self.cleaned_data["reason"]}


class ReasonForm(OptionalReasonForm):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))


class WithdrawForm(ReasonForm):
    reason = forms.CharField(
        label=_("public reason for the withdrawal"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown to visitors at the record's address."),
    )


class EmbargoForm(ReasonForm):
    review_on = forms.DateField(
        label=_("review the embargo on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def service_kwargs(self) -> dict:
        return {**super().service_kwargs(), "review_on": self.cleaned_data["review_on"]}


def workflow_action(step, *, description, form_class, permission):
    """Build an admin action that asks for its reason on an intermediate page, then calls `step`.

    Each record goes through the service on its own, so a refusal for one (four eyes, wrong
    state) is reported without stopping the others.
    """

    def action(modeladmin, request, queryset):
        form = form_class(request.POST if "apply" in request.POST else None)
        if not form.is_bound or not form.is_valid():
            context = {
                **modeladmin.admin_site.each_context(request),
                "title": description,
                "form": form,
                "records": queryset,
                "action": step.__name__,
                "opts": modeladmin.model._meta,
                "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
            }
            return TemplateResponse(request, "admin/closures/workflow_action.html", context)
        done = 0
        for record in queryset:
            try:
                step(record=record, user=request.user, **form.service_kwargs())
            except services.WorkflowRefused as refusal:
                modeladmin.message_user(request, str(refusal), messages.ERROR)
            else:
                done += 1
        if done:
            modeladmin.message_user(request, f"{description}: {done} done.", messages.SUCCESS)
        return None

    action.__name__ = step.__name__
    return admin.action(description=description, permissions=[permission])(action)


WORKFLOW_ACTIONS = [
    workflow_action(
        services.submit_for_review,
        description=_("Submit for review"),
        form_class=OptionalReasonForm,
        permission="change",
    ),
    workflow_action(
        services.publish,
        description=_("Publish"),
        form_class=OptionalReasonForm,
        permission="publish",
    ),
    workflow_action(
        services.return_to_draft,
        description=_("Return to draft"),
        form_class=ReasonForm,
        permission="change",
    ),
    workflow_action(
        services.withdraw, description=_("Withdraw"), form_class=WithdrawForm, permission="publish"
    ),
    workflow_action(
        services.set_embargo,
        description=_("Set embargo"),
        form_class=EmbargoForm,
        permission="embargo",
    ),
    workflow_action(
        services.lift_embargo,
        description=_("Lift embargo"),
        form_class=OptionalReasonForm,
        permission="embargo",
    ),
]


class RevertForm(forms.Form):
    reason = forms.CharField(label=_("reason for the revert"), required=False, max_length=100)


class CurationAdmin(SimpleHistoryAdmin):
    """Workflow actions, change reasons, revert and the embargo banner for reviewable records."""

    actions = WORKFLOW_ACTIONS

    def get_history_list_display(self, request):
        return ["revert"] if services.is_reviewer(request.user) else []

    def has_publish_permission(self, request):
        return services.is_reviewer(request.user)

    def has_embargo_permission(self, request):
        return request.user.has_perm("closures.embargo_organisation")

    def get_queryset(self, request):
        latest = self.model.history.model.objects.filter(id=OuterRef("pk")).order_by(
            "-history_date"
        )
        return (
            super()
            .get_queryset(request)
            .annotate(last_changed_by_name=Subquery(latest.values("history_user__username")[:1]))
        )

    @admin.display(description=_("last changed by"))
    def last_changed_by(self, obj):
        return obj.last_changed_by_name or "—"

    @admin.display(description=_("revert"))
    def revert(self, record):
        opts = self.model._meta
        url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_revert",
            args=[record.instance.pk, record.history_id],
        )
        return format_html('<a href="{}">{}</a>', url, _("Revert to this version"))

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/history/<int:history_id>/revert/",
                self.admin_site.admin_view(self.revert_view),
                name=f"{opts.app_label}_{opts.model_name}_revert",
            ),
            *super().get_urls(),
        ]

    def revert_view(self, request, object_id, history_id):
        if not services.is_reviewer(request.user):
            raise PermissionDenied
        version = get_object_or_404(self.model.history.model, id=object_id, history_id=history_id)
        current = self.model.history.model.objects.filter(id=object_id).order_by("-history_date")
        current = current.first()
        form = RevertForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.revert_to_version(
                    historical_record=version, user=request.user, reason=form.cleaned_data["reason"]
                )
            except services.WorkflowRefused as refusal:
                self.message_user(request, str(refusal), messages.ERROR)
            else:
                self.message_user(request, _("Reverted."), messages.SUCCESS)
            opts = self.model._meta
            return redirect(f"admin:{opts.app_label}_{opts.model_name}_history", object_id)
        delta = current.diff_against(version, excluded_fields=services.WORKFLOW_FIELDS)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Revert to an earlier version"),
            "opts": self.model._meta,
            "version": version,
            "changes": delta.changes,
            "form": form,
        }
        return TemplateResponse(request, "admin/closures/revert.html", context)

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data.get("change_reason") or None
        # Read before the save: the database still holds the record as the public saw it.
        obj._was_public = change and services.shows_publicly(obj)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        record = form.instance
        if getattr(record, "_was_public", False) or services.shows_publicly(record):
            services.bump_public_data_version()

    def delete_model(self, request, obj):
        services.delete_records(records=[obj])

    def delete_queryset(self, request, queryset):
        services.delete_records(records=queryset)

    def save_formset(self, request, form, formset, change):
        reason = form.cleaned_data.get("change_reason")
        if reason:
            for inline_form in formset.forms:
                inline_form.instance._change_reason = reason
        super().save_formset(request, form, formset, change)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["embargoed_record"] = obj if obj is not None and obj.embargoed else None
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


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


# --- Sources ----------------------------------------------------------------------------


class BrokenSourceFilter(admin.SimpleListFilter):
    title = _("link health")
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [("broken", _("broken")), ("unchecked", _("never checked"))]

    def queryset(self, request, queryset):
        if self.value() == "broken":
            return queryset.broken()
        if self.value() == "unchecked":
            return queryset.filter(last_checked_at__isnull=True)
        return queryset


def https_by_default(field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class SourceForm(ChangeReasonForm):
    class Meta:
        model = Source
        formfield_callback = https_by_default
        fields = [
            "url",
            "title",
            "publisher",
            "language",
            "published_on",
            "accessed_on",
            "source_type",
            "archived_url",
            "archived_at",
        ]


def enqueue_source_upkeep(source_ids) -> None:
    """Check and archive after the transaction commits, so the worker sees the saved row."""
    source_ids = list(source_ids)

    def enqueue():
        for source_id in source_ids:
            tasks.check_source.delay(source_id)
            tasks.archive_source.delay(source_id)

    transaction.on_commit(enqueue)


@admin.register(Source)
class SourceAdmin(SimpleHistoryAdmin):
    form = SourceForm
    formfield_overrides = URL_FORMFIELD_OVERRIDES
    list_display = [
        "__str__",
        "source_type",
        "published_on",
        "last_status_code",
        "consecutive_failures",
        "last_checked_at",
        "archived_url",
    ]
    list_filter = [BrokenSourceFilter, "source_type", "language"]
    search_fields = ["url", "title", "publisher", "=uid"]
    show_full_result_count = False
    readonly_fields = [
        "uid",
        "final_url",
        "last_checked_at",
        "last_status_code",
        "consecutive_failures",
    ]
    actions = ["check_and_archive"]

    @admin.action(description=_("Check and archive now"), permissions=["change"])
    def check_and_archive(self, request, queryset):
        enqueue_source_upkeep(queryset.values_list("pk", flat=True))
        self.message_user(request, _("Checks queued."), messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data.get("change_reason") or None
        was_public = change and services.shows_publicly(obj)
        super().save_model(request, obj, form, change)
        if was_public:
            services.bump_public_data_version()
        if not change or "url" in form.changed_data:
            enqueue_source_upkeep([obj.pk])

    def delete_model(self, request, obj):
        services.delete_records(records=[obj])

    def delete_queryset(self, request, queryset):
        services.delete_records(records=queryset)


# --- Spreadsheet import with preview ----------------------------------------------------


class ImportUploadForm(forms.Form):
    spreadsheet = forms.FileField(label=_("spreadsheet (.csv or .xlsx)"))
    review_state = forms.ChoiceField(
        label=_("new records arrive as"),
        choices=[
            (ReviewState.DRAFT, ReviewState.DRAFT.label),
            (ReviewState.IN_REVIEW, ReviewState.IN_REVIEW.label),
            (ReviewState.PUBLISHED, ReviewState.PUBLISHED.label),
        ],
        initial=ReviewState.DRAFT,
    )
    reason = forms.CharField(label=_("reason (kept in the history)"), required=False, max_length=80)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Curators' imports arrive as drafts. A reviewer's may go straight into review; only a
        # superuser's may arrive published, since publishing one's own import skips four eyes.
        if not services.is_reviewer(user):
            del self.fields["review_state"]
        elif not user.is_superuser:
            self.fields["review_state"].choices = self.fields["review_state"].choices[:2]

    def clean_spreadsheet(self):
        upload = self.cleaned_data["spreadsheet"]
        suffix = Path(upload.name).suffix.lower()
        if suffix not in settings.IMPORT_ALLOWED_EXTENSIONS:
            raise forms.ValidationError(_("Upload a .csv or .xlsx spreadsheet."))
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(limit)d bytes.")
                % {"limit": settings.IMPORT_MAX_UPLOAD_BYTES}
            )
        return upload


SESSION_KEY = "closures_import"
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class SpreadsheetImport:
    """Upload → preview (a dry run, nothing written) → confirm (one atomic import).

    The upload waits in IMPORT_PREVIEW_DIR under a random token that only this session
    knows, so one curator cannot confirm another's file and nothing is trusted from the
    browser except the token.
    """

    def __init__(self, model_admin, request):
        self.model_admin, self.request = model_admin, request

    def render(self, template: str, **context):
        context = {
            **self.model_admin.admin_site.each_context(self.request),
            "opts": Organisation._meta,
            "title": _("Import a spreadsheet"),
            **context,
        }
        return TemplateResponse(self.request, template, context)

    def respond(self):
        if self.request.method == "POST" and "token" in self.request.POST:
            return self.confirm()
        form = ImportUploadForm(
            self.request.POST or None, self.request.FILES or None, user=self.request.user
        )
        if self.request.method != "POST" or not form.is_valid():
            return self.render("admin/closures/import_upload.html", form=form)
        upload = form.cleaned_data["spreadsheet"]
        token = self.store(upload)
        pending = {
            "filename": Path(upload.name).name,
            "review_state": form.cleaned_data.get("review_state") or ReviewState.DRAFT,
            "reason": form.cleaned_data["reason"],
        }
        self.request.session[SESSION_KEY] = {token: pending}
        preview = services.preview_import(
            file=self.path(token), filename=pending["filename"], **self.options(pending)
        )
        return self.render(
            "admin/closures/import_preview.html", preview=preview, token=token, pending=pending
        )

    def confirm(self):
        token = self.request.POST["token"]
        pending = self.request.session.get(SESSION_KEY, {}).get(token)
        if not TOKEN_PATTERN.match(token) or pending is None or not self.path(token).exists():
            raise Http404("This import has expired; upload the spreadsheet again.")
        try:
            report = services.import_spreadsheet(
                file=self.path(token), filename=pending["filename"], **self.options(pending)
            )
        except services.ImportFailed as failure:
            return self.render(
                "admin/closures/import_preview.html",
                preview=services.ImportPreview(problems=failure.problems),
                pending=pending,
            )
        finally:
            self.path(token).unlink(missing_ok=True)
            self.request.session.pop(SESSION_KEY, None)
        self.model_admin.message_user(self.request, report.summary(), messages.SUCCESS)
        return redirect("admin:closures_organisation_changelist")

    def options(self, pending: dict) -> dict:
        reason = f"Imported from {pending['filename']}"
        if pending["reason"]:
            reason = f"{reason}: {pending['reason']}"
        return {
            "review_state": pending["review_state"],
            "user": self.request.user,
            "reason": reason[:100],
        }

    def store(self, upload) -> str:
        token = secrets.token_urlsafe(24)
        directory = Path(settings.IMPORT_PREVIEW_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        with open(self.path(token), "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        return token

    def path(self, token: str) -> Path:
        return Path(settings.IMPORT_PREVIEW_DIR) / f"{token}.upload"

"""Model admin for sources, whose links are checked and archived by background tasks.

A source cited by a published event is part of what the public sees of it: an edit of its
fields waits for a reviewer (`pending.ReviewedEdits`), and it is not deleted while cited.
"""

from django.contrib import admin, messages
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .. import services, tasks
from ..models import Source
from .curation import RefusedDeletions
from .forms import URL_FORMFIELD_OVERRIDES, ChangeReasonForm
from .pending import HasPendingChangeFilter, ReviewedEdits


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


def enqueue_source_upkeep(source_ids, *, explicit: bool = False) -> None:
    """Check and archive after the transaction commits, so the worker sees the saved row.

    Saving a source checks it only once the public sees it cited (the tasks skip it before);
    the admin action is a curator's explicit request and covers hidden sources too.
    """
    source_ids = list(source_ids)

    def enqueue():
        for source_id in source_ids:
            tasks.check_source.delay(source_id, explicit=explicit)
            tasks.archive_source.delay(source_id, explicit=explicit)

    transaction.on_commit(enqueue)


@admin.register(Source)
class SourceAdmin(ReviewedEdits, RefusedDeletions, SimpleHistoryAdmin):
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
    list_filter = [BrokenSourceFilter, "source_type", "language", HasPendingChangeFilter]
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
        enqueue_source_upkeep(queryset.values_list("pk", flat=True), explicit=True)
        self.message_user(request, _("Checks queued."), messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        if change and services.needs_review(obj, request.user):
            super().save_model(request, obj, form, change)  # a proposal: nothing public moves
            return
        obj._change_reason = form.cleaned_data.get("change_reason") or None
        super().save_model(request, obj, form, change)
        if change:
            services.refresh_organisations_citing(source_id=obj.pk)
        if not change or "url" in form.changed_data:
            enqueue_source_upkeep([obj.pk])

    def change_approved(self, record, change):
        if "url" in change.proposed:
            enqueue_source_upkeep([record.pk])

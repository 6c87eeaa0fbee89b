"""Curators' side of coverage: the trackers, and the queue of entries to match or add.

Decisions go through `closures.coverage`, so a later import keeps them and every decision
records who made it and when.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import coverage
from ..models import EntryDecision, Tracker, TrackerEntry

ENTRY_AS_LISTED = [
    "tracker",
    "position",
    "name_as_listed",
    "name_en",
    "name_zh",
    "date_as_listed",
    "category_as_listed",
    "listed_organisation_slug",
]


class TrackerEntryInline(admin.TabularInline):
    model = TrackerEntry
    fields = ["position", "name_as_listed", "decision", "organisation"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Tracker)
class TrackerAdmin(admin.ModelAdmin):
    list_display = ["slug", "publisher_name", "published_on", "claimed_display", "completeness"]
    list_filter = ["completeness"]
    search_fields = ["slug", "title", "publisher"]
    inlines = [TrackerEntryInline]
    # URLs typed without a scheme are taken as https, as Django 6 will do by default.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description=_("publisher"))
    def publisher_name(self, tracker):
        return tracker.publisher_name

    @admin.display(description=_("claimed count"))
    def claimed_display(self, tracker):
        return tracker.claimed_display or "–"


class QueueFilter(admin.SimpleListFilter):
    title = _("curator queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("lacking", _("not yet in the registry (proposals included)")),
            ("proposed", _("proposed matches to confirm")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "lacking":
            return queryset.lacking()
        if self.value() == "proposed":
            return queryset.filter(decision=EntryDecision.PROPOSED)
        return queryset


@admin.register(TrackerEntry)
class TrackerEntryAdmin(admin.ModelAdmin):
    list_display = [
        "name_as_listed",
        "name_zh",
        "tracker",
        "position",
        "listed_by",
        "decision",
        "organisation",
        "decided_by_source",
    ]
    list_filter = [QueueFilter, "decision", "decided_by_source", "tracker"]
    list_select_related = ["tracker", "organisation"]
    search_fields = ["name_as_listed", "name_en", "name_zh", "name_key"]
    autocomplete_fields = ["organisation"]
    readonly_fields = [*ENTRY_AS_LISTED, "decided_by_source", "decided_by", "decided_at"]
    fieldsets = [
        (_("As the tracker lists it"), {"fields": ENTRY_AS_LISTED}),
        (
            _("Decision"),
            {
                "fields": [
                    "decision",
                    "organisation",
                    "out_of_scope_reason",
                    "curator_note",
                    "decided_by_source",
                    "decided_by",
                    "decided_at",
                ]
            },
        ),
    ]
    actions = ["confirm_matches", "reject_matches", "create_draft_organisations"]

    def get_queryset(self, request):
        # Annotated before ordering: the queue is ordered by the annotation.
        return TrackerEntry.objects.with_listed_by().order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        # The queue: groups listed by the most trackers first.
        return ["-listed_by", "name_key", "tracker__slug"]

    @admin.display(description=_("trackers listing it"), ordering="listed_by")
    def listed_by(self, entry):
        return entry.listed_by or "–"

    def has_add_permission(self, request):
        return False  # entries come from the tracker files (manage.py import_trackers)

    def save_model(self, request, obj, form, change):
        coverage.decide_entry(
            entry=obj,
            user=request.user,
            decision=obj.decision,
            organisation=obj.organisation,
            out_of_scope_reason=obj.out_of_scope_reason,
            curator_note=obj.curator_note,
        )

    @admin.action(description=_("Confirm the proposed match"), permissions=["change"])
    def confirm_matches(self, request, queryset):
        count = coverage.confirm_proposed_matches(entries=queryset, user=request.user)
        self.message_user(
            request,
            ngettext("%d match confirmed.", "%d matches confirmed.", count) % count,
        )

    @admin.action(
        description=_("Reject the match: not yet in the registry"), permissions=["change"]
    )
    def reject_matches(self, request, queryset):
        count = coverage.reject_matches(entries=queryset, user=request.user)
        self.message_user(
            request, ngettext("%d match rejected.", "%d matches rejected.", count) % count
        )

    @admin.action(
        description=_("Create a draft organisation from the entry and match it"),
        permissions=["change"],
    )
    def create_draft_organisations(self, request, queryset):
        created = []
        for entry in queryset:
            entry.refresh_from_db()
            if entry.decision not in (EntryDecision.NOT_IN_REGISTRY, EntryDecision.PROPOSED):
                continue  # matched already, perhaps by an earlier entry of this selection
            try:
                created.append(coverage.create_draft_from_entry(entry=entry, user=request.user))
            except (PermissionDenied, ValidationError) as error:
                self.message_user(request, f"{entry}: {error}", messages.ERROR)
        if len(created) == 1:
            return redirect("admin:closures_organisation_change", created[0].pk)
        if created:
            self.message_user(
                request,
                ngettext(
                    "%d draft organisation created.",
                    "%d draft organisations created.",
                    len(created),
                )
                % len(created),
            )
        return None

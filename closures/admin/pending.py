"""Edits of published records wait for a reviewer: the change form, the diff, approve, reject.

The rules live in `services.pending`; this module turns a change form's save into a proposal
(public fields, aliases, citations and published events edited inline; a cited source's
fields) and shows the diff (`pending_diff`) with its Approve and Reject buttons on the
record's change page.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import (
    Alias,
    Citation,
    Event,
    PendingChange,
    PendingChangeState,
)
from ..services.pending import CHILD_LISTS, field_value, proposable_fields
from ..services.workflow import history_reason, record_name
from .curation import ViewOnlyAdmin
from .pending_diff import diff_rows

DATE_PAIRS = [("announced_on", "announced_precision"), ("effective_on", "effective_precision")]


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


def touched_fields(form) -> list[str]:
    """The public fields the person changed in this form; a date goes with its precision."""
    public = set(proposable_fields(form._meta.model))
    touched = {name for name in form.changed_data if name in public}
    if form._meta.model is Event:
        for pair in DATE_PAIRS:
            if touched & set(pair):
                touched |= set(pair)
    return sorted(touched)


def private_fields(form) -> list[str]:
    """Changed fields the public never sees (the curator note): saved at once."""
    model = form._meta.model
    public = set(proposable_fields(model))
    names = {field.name for field in model._meta.get_fields()}
    return [name for name in form.changed_data if name in names and name not in public]


def form_values(form, names) -> dict:
    values = {}
    for name in names:
        if form._meta.model._meta.get_field(name).many_to_many:
            values[name] = sorted(str(row.pk) for row in form.cleaned_data.get(name, []))
        else:
            values[name] = field_value(form.instance, name)
    return values


def child_values(formset) -> list:
    """The whole list of aliases or citations the formset would leave."""
    kept = [
        form
        for form in formset.forms
        if form.cleaned_data
        and not formset._should_delete_form(form)
        and (form.instance.pk is not None or form.has_changed())
    ]
    if formset.model is Alias:
        return sorted(
            [form.cleaned_data["name"], form.cleaned_data["language"], form.cleaned_data["kind"]]
            for form in kept
        )
    return sorted(
        (
            {
                "source": form.cleaned_data["source"].pk,
                "quote": form.cleaned_data.get("quote", ""),
                "claims": sorted(form.cleaned_data.get("claims") or []),
            }
            for form in kept
        ),
        key=lambda value: value["source"],
    )


def other_proposer(record, user):
    """Someone else's open proposal on `record`, which blocks this user's edit."""
    change = services.open_change_for(record)
    return change if change is not None and change.proposed_by_id != user.pk else None


def refusal(change) -> str:
    return (
        f"A change proposed by {change.proposed_by} waits for a reviewer; it must be approved "
        "or rejected before another change to the public fields is saved. Nothing was saved."
    )


def proposal_form(form_class, record, user):
    """The record's form, showing the user's own waiting proposal as the values to edit."""
    change = services.open_change_for(record)
    mine = change.proposed if change is not None and change.proposed_by_id == user.pk else {}
    initial = {}
    for name, value in mine.items():
        if name in CHILD_LISTS.values():
            continue
        field = record._meta.get_field(name)
        initial[name] = value if field.many_to_many or value is None else field.to_python(value)

    class ProposalForm(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.initial.update({k: v for k, v in initial.items() if k in self.fields})

        def clean(self):
            cleaned = super().clean()
            blocking = other_proposer(record, user)
            if blocking is not None and touched_fields(self):
                raise forms.ValidationError(refusal(blocking))
            return cleaned

    ProposalForm.__name__ = form_class.__name__
    return ProposalForm


class ProposalFormSet:
    """Refuse an inline edit of a published record while someone else's proposal waits, and
    an inline delete of a published event (withdrawn first: `services.deletion`)."""

    def clean(self):
        super().clean()
        user = self.proposal_user
        if self.model is Event:
            for form in self.forms:
                event = form.instance
                if event.pk is not None and self._should_delete_form(form):
                    refused = services.deletion_refusal([event], user)
                    if refused is not None:
                        raise forms.ValidationError(refused)
                    continue
                blocking = (
                    other_proposer(event, user)
                    if services.needs_review(event, user) and form.has_changed()
                    else None
                )
                if blocking is not None and touched_fields(form):
                    raise forms.ValidationError(f"Event {event.uid}: {refusal(blocking)}")
        elif services.needs_review(self.instance, user) and self.has_changed():
            blocking = other_proposer(self.instance, user)
            if blocking is not None:
                raise forms.ValidationError(refusal(blocking))


class ProposalInline:
    """An inline whose edits of a published parent (or published event) become proposals."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (ProposalFormSet, formset), {"proposal_user": request.user})


class ReviewedEdits:
    """Save a published record's public fields as a proposal; the rest as usual."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is None or not services.needs_review(obj, request.user):
            return form_class
        return proposal_form(form_class, obj, request.user)

    def save_model(self, request, obj, form, change):
        if not (change and services.needs_review(obj, request.user)):
            super().save_model(request, obj, form, change)
            return
        reason = form.cleaned_data.get("change_reason") or ""
        self._propose(request, obj, form_values(form, touched_fields(form)), reason)
        save_private_fields(form, user=request.user, reason=reason)

    def save_related(self, request, form, formsets, change):
        if not services.needs_review(form.instance, request.user):
            form.save_m2m()
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        self._send_proposals(request)

    def save_formset(self, request, form, formset, change):
        parent, user = formset.instance, request.user
        reason = form.cleaned_data.get("change_reason") or ""
        if formset.model in (Alias, Citation) and services.needs_review(parent, user):
            if formset.has_changed():
                self._propose(request, parent, {CHILD_LISTS[type(parent)]: child_values(formset)})
            # Nothing saved, so the admin's log names no added, changed or deleted rows.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            return
        if formset.model is Event:
            for event_form in formset.forms:
                event = event_form.instance
                if (
                    event.pk is None
                    or not services.needs_review(event, user)
                    or formset._should_delete_form(event_form)
                    or not event_form.has_changed()
                ):
                    continue
                self._propose(
                    request, event, form_values(event_form, touched_fields(event_form)), reason
                )
                save_private_fields(event_form, user=user, reason=reason)
                # Left unsaved by the formset: the proposal holds what was typed.
                event_form.__dict__["changed_data"] = []
        super().save_formset(request, form, formset, change)

    def _propose(self, request, record, values: dict, reason: str = "") -> None:
        proposals = request.__dict__.setdefault("_closures_proposals", {})
        key = (type(record), record.pk)
        entry = proposals.setdefault(key, {"record": record, "values": {}, "reason": ""})
        entry["values"].update(values)
        entry["reason"] = entry["reason"] or reason

    def _send_proposals(self, request) -> None:
        for entry in request.__dict__.pop("_closures_proposals", {}).values():
            record = entry["record"]
            name = record_name(record)
            try:
                change = services.propose_change(
                    record=record,
                    user=request.user,
                    values=entry["values"],
                    reason=entry["reason"],
                )
            except services.WorkflowRefused as refused:
                self.message_user(request, str(refused), messages.ERROR)
                continue
            if change is None:
                continue
            request.__dict__["_closures_held_back"] = True
            self.message_user(
                request,
                f"Your change to the public fields of {name} waits for a reviewer; the public "
                "sees the last approved version until another reviewer approves it.",
                messages.WARNING,
            )

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        # Django's "changed successfully" would tell a proposer their public edit is live.
        if level == messages.SUCCESS and request.__dict__.get("_closures_held_back"):
            return
        super().message_user(request, message, level, *args, **kwargs)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        change = services.open_change_for(obj) if obj is not None else None
        context["pending_change"] = change
        if change is not None:
            context["pending_rows"] = diff_rows(change, obj)
            context["pending_may_approve"] = services.is_reviewer(request.user) and (
                request.user.is_superuser or change.proposed_by_id != request.user.pk
            )
            context["pending_may_reject"] = (
                services.is_reviewer(request.user) or change.proposed_by_id == request.user.pk
            )
            context["pending_form"] = DecisionForm()
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/pending/<int:change_id>/<str:decision>/",
                self.admin_site.admin_view(self.decide_view),
                name=f"{opts.app_label}_{opts.model_name}_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, object_id, change_id, decision):
        """Approve or reject a proposal from the diff on the record's change page."""
        if request.method != "POST" or decision not in ("approve", "reject"):
            raise PermissionDenied
        key = self.model._meta.model_name
        change = get_object_or_404(PendingChange, pk=change_id, **{f"{key}_id": object_id})
        form = DecisionForm(request.POST)
        form.is_valid()
        reason = form.cleaned_data.get("reason", "")
        try:
            if decision == "approve":
                record = services.approve_change(change=change, user=request.user, reason=reason)
                self.change_approved(record, change)
            else:
                services.reject_change(change=change, user=request.user, reason=reason)
        except services.WorkflowRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
        else:
            done = _("Approved: the public sees the change.") if decision == "approve" else None
            self.message_user(
                request, done or _("Rejected: nothing public changed."), messages.SUCCESS
            )
        opts = self.model._meta
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", object_id)

    def change_approved(self, record, change: PendingChange) -> None:
        """What the admin does after an approval beyond the service (a source's link checks)."""


def save_private_fields(form, *, user, reason: str) -> None:
    """Write the never-public fields of a form to the live row, leaving its public fields."""
    names = private_fields(form)
    if not names:
        return
    edited = form.instance
    live = type(edited).objects.get(pk=edited.pk)
    for name in names:
        attname = live._meta.get_field(name).attname
        setattr(live, attname, getattr(edited, attname))
    live._change_reason = history_reason(reason) if reason else None
    live._history_user = user
    live.save()


# --- Lists -----------------------------------------------------------------------------------


class HasPendingChangeFilter(admin.SimpleListFilter):
    title = _("change waiting for review")
    parameter_name = "pending"

    def lookups(self, request, model_admin):
        return [("yes", _("has a change waiting"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pending_changes__state=PendingChangeState.OPEN)
        return queryset


@admin.register(PendingChange)
class PendingChangeAdmin(ViewOnlyAdmin):
    """Every proposal, open or decided: read-only, decided on the record's own page."""

    list_display = ["record_link", "state", "proposed_by", "proposed_at", "decided_by"]
    list_filter = ["state"]
    list_select_related = ["organisation", "event", "source", "proposed_by", "decided_by"]

    @admin.display(description=_("record"))
    def record_link(self, change):
        record = change.record
        opts = record._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, record_name(record))

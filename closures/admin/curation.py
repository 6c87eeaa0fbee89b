"""Review workflow for curated records: the workflow actions, revert and change reasons."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import OuterRef, Subquery
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .. import services
from ..models import Organisation
from . import views


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
        label=_("reason for the withdrawal"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept for curators; shown to visitors only if marked public below."),
    )
    reason_zh = forms.CharField(
        label=_("the same reason in Chinese"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For the Chinese page when the reason is public; else it gives the English."),
    )
    reason_public = forms.BooleanField(
        label=_("the reason may be shown publicly"),
        required=False,
        help_text=_(
            "Shown at the record's address and in its tombstone. Otherwise they say only that "
            "the record is no longer public, which is what any record hidden for safety says."
        ),
    )

    def service_kwargs(self) -> dict:
        return {
            **super().service_kwargs(),
            "reason_zh": self.cleaned_data["reason_zh"],
            "reason_public": self.cleaned_data["reason_public"],
        }


class EmbargoForm(ReasonForm):
    review_on = forms.DateField(
        label=_("review the embargo on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def service_kwargs(self) -> dict:
        return {**super().service_kwargs(), "review_on": self.cleaned_data["review_on"]}


class MoveEventForm(ReasonForm):
    organisation = forms.SlugField(
        label=_("ID of the organisation to move it to"),
        help_text=_("The event arrives there in review; another reviewer publishes it."),
    )

    def clean_organisation(self):
        slug = self.cleaned_data["organisation"]
        organisation = Organisation.objects.filter(slug=slug).first()
        if organisation is None:
            raise forms.ValidationError(_("No organisation has the ID %(slug)s.") % {"slug": slug})
        return organisation

    def service_kwargs(self) -> dict:
        return {**super().service_kwargs(), "organisation": self.cleaned_data["organisation"]}


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


class RefusedDeletions:
    """Say why a delete is refused (`services.deletion_refusal`) before its confirmation page.

    Covers the delete button and the "delete selected" action; the service refuses again, in
    the deleting transaction.
    """

    def delete_view(self, request, object_id, extra_context=None):
        record = self.get_object(request, unquote(object_id))
        if record is not None and self.has_delete_permission(request, record):
            refusal = services.deletion_refusal([record], request.user)
            if refusal is not None:
                self.message_user(request, refusal, messages.ERROR)
                opts = self.model._meta
                return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", record.pk)
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            delete_selected, name, description = actions["delete_selected"]
            actions[name] = (refusing_deletions(delete_selected), name, description)
        return actions

    def delete_model(self, request, obj):
        services.delete_records(records=[obj], user=request.user)

    def delete_queryset(self, request, queryset):
        services.delete_records(records=queryset, user=request.user)


def refusing_deletions(delete_selected):
    """Django's "delete selected" action, refused with the reason for what may not go."""

    def action(modeladmin, request, queryset):
        refusal = services.deletion_refusal(queryset, request.user)
        if refusal is not None:
            modeladmin.message_user(request, refusal, messages.ERROR)
            return None
        return delete_selected(modeladmin, request, queryset)

    action.allowed_permissions = delete_selected.allowed_permissions
    return action


class CurationAdmin(RefusedDeletions, SimpleHistoryAdmin):
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
        return views.revert_to_version(self, request, object_id, history_id)

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data.get("change_reason") or None
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        reason = form.cleaned_data.get("change_reason")
        if reason:
            for inline_form in formset.forms:
                inline_form.instance._change_reason = reason
        super().save_formset(request, form, formset, change)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["embargoed_record"] = obj if obj is not None and obj.embargoed else None
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


class ViewOnlyAdmin(admin.ModelAdmin):
    """Records written only by services (releases, pending changes): the admin lists them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

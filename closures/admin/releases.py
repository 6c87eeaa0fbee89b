"""Releases in the admin: read-only records, and the reviewers' redaction (issue 13.3)."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from ..models import Release
from ..redaction import redact_release
from ..releases import ReleaseRefused
from .curation import ViewOnlyAdmin


class RedactionForm(forms.Form):
    reason = forms.CharField(
        label=_("reason (for reviewers only, never published)"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    organisations = forms.CharField(
        label=_("organisations to remove"),
        required=False,
        help_text=_(
            "IDs (slugs) separated by spaces; empty: every organisation in the release that is "
            "no longer public."
        ),
    )

    def service_kwargs(self) -> dict:
        return {
            "reason": self.cleaned_data["reason"],
            "organisations": self.cleaned_data["organisations"].split() or None,
        }


@admin.action(
    description=_("Redact: replace the file without records no longer public"),
    permissions=["embargo"],
)
def redact(modeladmin, request, queryset):
    form = RedactionForm(request.POST if "apply" in request.POST else None)
    if not form.is_bound or not form.is_valid():
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": _("Redact releases"),
            "form": form,
            "records": queryset,
            "action": "redact",
            "opts": modeladmin.model._meta,
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/closures/workflow_action.html", context)
    for release in queryset:
        try:
            redacted = redact_release(release=release, user=request.user, **form.service_kwargs())
        except ReleaseRefused as refusal:
            modeladmin.message_user(request, str(refusal), messages.ERROR)
        else:
            modeladmin.message_user(
                request, f"{release.version}: now {redacted.filename}.", messages.SUCCESS
            )
    return None


@admin.register(Release)
class ReleaseAdmin(ViewOnlyAdmin):
    """Releases are built by `build_release`; here they are only read, and redacted."""

    list_display = ["version", "released_on", "redacted_on", "filename", "size"]
    readonly_fields = [field.name for field in Release._meta.fields]
    actions = [redact]

    def has_embargo_permission(self, request):
        return request.user.has_perm("closures.embargo_organisation")

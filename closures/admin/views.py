"""Admin pages that are views rather than declarations: revert and the spreadsheet import."""

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import Organisation, PendingChange, ReviewState
from ..services import import_uploads


class RevertForm(forms.Form):
    reason = forms.CharField(label=_("reason for the revert"), required=False, max_length=100)


def revert_to_version(model_admin, request, object_id, history_id):
    """Show what reverting to a historical version changes, and revert on confirmation."""
    model = model_admin.model
    if not services.is_reviewer(request.user):
        raise PermissionDenied
    version = get_object_or_404(model.history.model, id=object_id, history_id=history_id)
    current = model.history.model.objects.filter(id=object_id).order_by("-history_date")
    current = current.first()
    form = RevertForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.revert_to_version(
                historical_record=version, user=request.user, reason=form.cleaned_data["reason"]
            )
        except services.WorkflowRefused as refusal:
            model_admin.message_user(request, str(refusal), messages.ERROR)
        else:
            model_admin.message_user(request, *revert_message(result))
        opts = model._meta
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_history", object_id)
    delta = current.diff_against(version, excluded_fields=services.WORKFLOW_FIELDS)
    live = model.objects.filter(pk=object_id).first()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Revert to an earlier version"),
        "opts": model._meta,
        "version": version,
        "changes": delta.changes,
        "form": form,
        "needs_review": live is not None and services.needs_review(live, request.user),
    }
    return TemplateResponse(request, "admin/closures/revert.html", context)


def revert_message(result) -> tuple[str, int]:
    """What a revert did: restored the record, or proposed its public fields for review."""
    if isinstance(result, PendingChange):
        return (
            _(
                "The revert of the public fields waits for a reviewer: the public sees the live "
                "version until another reviewer approves it. Fields never shown publicly were "
                "restored."
            ),
            messages.WARNING,
        )
    if result is None:
        return (
            _(
                "Nothing public differs from that version, so nothing waits for a reviewer; "
                "fields never shown publicly were restored."
            ),
            messages.INFO,
        )
    return _("Reverted."), messages.SUCCESS


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
    clear_blanks = forms.BooleanField(
        label=_("empty cells clear their fields"),
        required=False,
        help_text=_("Otherwise an empty cell leaves the field as it is."),
    )

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


class SpreadsheetImport:
    """Upload → preview (a dry run, nothing written) → confirm (one atomic import).

    The upload waits under a random token that only this session knows (see
    `services.import_uploads`), so one curator cannot confirm another's file and nothing is
    trusted from the browser except the token. It is deleted on confirmation, cancel, a
    failed preview, a newer upload in the same session, or when it grows too old.
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
            if "cancel" in self.request.POST:
                return self.cancel()
            return self.confirm()
        form = ImportUploadForm(
            self.request.POST or None, self.request.FILES or None, user=self.request.user
        )
        if self.request.method != "POST" or not form.is_valid():
            return self.render("admin/closures/import_upload.html", form=form)
        self.forget_pending()
        upload = form.cleaned_data["spreadsheet"]
        token = import_uploads.store_upload(upload.chunks())
        pending = {
            "filename": Path(upload.name).name,
            "review_state": form.cleaned_data.get("review_state") or ReviewState.DRAFT,
            "reason": form.cleaned_data["reason"],
            "clear_blanks": form.cleaned_data["clear_blanks"],
        }
        try:
            preview = services.preview_import(
                file=import_uploads.upload_path(token),
                filename=pending["filename"],
                **self.options(pending, overwrite=()),
            )
        except BaseException:
            import_uploads.discard_upload(token)
            raise
        if preview.problems:
            # Nothing can be confirmed: the file is of no further use on the server.
            import_uploads.discard_upload(token)
        else:
            self.request.session[SESSION_KEY] = {token: pending}
        return self.render(
            "admin/closures/import_preview.html", preview=preview, token=token, pending=pending
        )

    def confirm(self):
        token = self.request.POST["token"]
        pending = self.request.session.get(SESSION_KEY, {}).get(token)
        path = import_uploads.waiting_upload(token) if pending is not None else None
        if path is None:
            self.forget_pending()
            raise Http404("This import has expired; upload the spreadsheet again.")
        try:
            # Only the conflicts ticked in the preview overwrite what a person changed.
            overwrite = self.request.POST.getlist("overwrite")
            report = services.import_spreadsheet(
                file=path, filename=pending["filename"], **self.options(pending, overwrite)
            )
        except services.ImportFailed as failure:
            return self.render(
                "admin/closures/import_preview.html",
                preview=services.ImportPreview(problems=failure.problems),
                pending=pending,
            )
        finally:
            self.forget_pending()
        self.model_admin.message_user(self.request, report.summary(), messages.SUCCESS)
        return redirect("admin:closures_organisation_changelist")

    def cancel(self):
        self.forget_pending()
        self.model_admin.message_user(self.request, _("Import cancelled; nothing was written."))
        return redirect("admin:closures_organisation_changelist")

    def forget_pending(self) -> None:
        """Delete this session's waiting upload, if any, and forget its token."""
        for token in self.request.session.pop(SESSION_KEY, None) or {}:
            import_uploads.discard_upload(token)

    def options(self, pending: dict, overwrite) -> dict:
        reason = f"Imported from {pending['filename']}"
        if pending["reason"]:
            reason = f"{reason}: {pending['reason']}"
        return {
            "review_state": pending["review_state"],
            "user": self.request.user,
            "reason": reason[:100],
            "rules": services.MergeRules(
                clear_blanks=pending.get("clear_blanks", False), overwrite=frozenset(overwrite)
            ),
        }

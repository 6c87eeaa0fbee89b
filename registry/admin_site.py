"""The admin site: a second factor for every staff account, and a guarded view-on-site link.

Staff sign in with a password and a TOTP code from an authenticator app (django-otp), or one
of their one-time recovery codes. A staff account without a confirmed device can reach only
the enrolment page, which shows a QR code, confirms the device with a first code and hands
out the recovery codes once. `manage.py reset_otp_device USERNAME` removes a lost device.
"""

from base64 import b32encode
from functools import update_wrapper
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.utils import unquote
from django.contrib.auth.signals import user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10


class StaffLoginForm(AdminAuthenticationForm):
    """Password, then the code of the account's confirmed device.

    A wrong code answers with the same message as a wrong password, so a guesser learns
    nothing about the password from it, and counts as a failed login for the lockout.
    """

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _(
            "Please enter the correct username, password and code for a staff account. "
            "Note that both fields may be case-sensitive."
        ),
    }
    otp_token = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def clean(self):
        cleaned_data = super().clean()
        user = self.get_user()
        if user is None or not user_has_device(user, confirmed=True):
            return cleaned_data
        token = (cleaned_data.get("otp_token") or "").strip().replace(" ", "").lower()
        device = match_token(user, token) if token else None
        if device is None:
            user_login_failed.send(
                sender=__name__,
                credentials={"username": user.get_username()},
                request=self.request,
            )
            raise self.get_invalid_login_error()
        # django-otp's login signal handler marks the session verified with this device.
        user.otp_device = device
        return cleaned_data


class EnrolmentForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Code shown by your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def needs_enrolment(user) -> bool:
    return (
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and not user.is_verified()
        and not user_has_device(user, confirmed=True)
    )


def qr_code_svg(text: str) -> str:
    """An inline SVG QR code: no image library, and nothing the content policy forbids."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=8)
    return image.to_string(encoding="unicode")


@transaction.atomic
def confirm_device(device: TOTPDevice) -> list[str]:
    """Confirm the TOTP device and replace the user's recovery codes; returns the new codes."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    StaticDevice.objects.filter(user=device.user).delete()
    recovery = StaticDevice.objects.create(user=device.user, name="recovery codes")
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
    return codes


class RegistryAdminSite(admin.AdminSite):
    login_form = StaffLoginForm
    login_template = "admin/otp_login.html"
    # The admin is deliberately English (registry.middleware.english_admin): the names stay
    # untranslated so every curator's screen and every screenshot in a review reads alike.
    site_header = "Hong Kong Civil Society Closures Registry"
    site_title = "Closures Registry admin"
    index_title = "Curation"
    # At 1280 px the app sidebar took a quarter of the width and pushed the changelists'
    # embargo and update columns out of sight; the breadcrumbs and index lead everywhere.
    enable_nav_sidebar = False

    def has_permission(self, request):
        return super().has_permission(request) and request.user.is_verified()

    def admin_view(self, view, cacheable=False):
        """Send staff without a confirmed device to enrolment, from every admin page."""
        protected = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if request.path == reverse("admin:logout", current_app=self.name):
                # Django's wrapper sends a user without admin access to the index instead of
                # signing them out, which would leave a staff member midway through enrolment
                # (or with an unverified session) no way out.
                return view(request, *args, **kwargs)
            if needs_enrolment(request.user):
                enrol = reverse("admin:otp_enrol", current_app=self.name)
                return redirect(f"{enrol}?{urlencode({'next': request.get_full_path()})}")
            return protected(request, *args, **kwargs)

        return update_wrapper(inner, view)

    def get_urls(self):
        urls = [
            path("otp/enrol/", self.enrol_view, name="otp_enrol"),
            *super().get_urls(),
        ]
        for index, pattern in enumerate(urls):
            if getattr(pattern, "name", None) == "view_on_site":
                urls[index] = path(
                    "r/<int:content_type_id>/<path:object_id>/",
                    self.admin_view(self.view_on_site),
                    name="view_on_site",
                )
        return urls

    def view_on_site(self, request, content_type_id, object_id):
        """Follow an object's public link only for staff who may view that object here.

        Django's shortcut checks nothing beyond staff status, so any staff account could
        walk content types and IDs and collect every record's permanent slug.
        """
        content_type = ContentType.objects.filter(pk=content_type_id).first()
        model = content_type.model_class() if content_type else None
        model_admin = self._registry.get(model)
        if model_admin is None or not model_admin.has_view_or_change_permission(request):
            raise PermissionDenied
        obj = model_admin.get_object(request, unquote(object_id))
        if obj is None or not model_admin.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return shortcut(request, content_type_id, object_id)

    @method_decorator(never_cache)
    @method_decorator(csrf_protect)
    def enrol_view(self, request):
        """Show the QR code of a new TOTP device; a first valid code confirms it."""
        user = request.user
        login_url = reverse("admin:login", current_app=self.name)
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = ""
        next_url = next_url or reverse("admin:index", current_app=self.name)
        if not needs_enrolment(user):
            # A confirmed device is replaced only through `manage.py reset_otp_device`.
            return redirect(next_url if user.is_verified() else login_url)
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
        form = EnrolmentForm(request.POST or None)
        context = {**self.each_context(request), "title": _("Set up your second factor")}
        if form.is_valid() and device.verify_token(form.cleaned_data["otp_token"].strip()):
            recovery_codes = confirm_device(device)
            request.session.cycle_key()
            otp_login(request, device)
            context.update(recovery_codes=recovery_codes, next=next_url)
            return TemplateResponse(request, "admin/otp_recovery_codes.html", context)
        if form.is_bound and not form.errors:
            form.add_error("otp_token", _("That code is not valid. Enter the current one."))
        context.update(
            form=form,
            next=next_url,
            qr_code=mark_safe(qr_code_svg(device.config_url)),
            secret=b32encode(device.bin_key).decode(),
        )
        return TemplateResponse(request, "admin/otp_enrol.html", context)

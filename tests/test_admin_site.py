"""The admin site: sign-in with a second factor, enrolment, recovery codes, view on site."""

import re

import pytest
from axes.models import AccessFailureLog
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from closures import services
from closures.models import Release
from closures.tracker_import import import_trackers
from tests.test_tracker_import import entry_row, write_trackers

PASSWORD = "lantern-harbour-7-ferry"
ADMIN_INDEX = "/admin/"
ENROL = "/admin/otp/enrol/"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_member(curator):
    curator.set_password(PASSWORD)
    curator.save()
    return curator


def code_for(device, drift=0) -> str:
    """The device's TOTP code now (drift=1: the next step, as a phone slightly ahead shows)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, drift):0{device.digits}d}"


def sign_in(client, username, password=PASSWORD, code=""):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "otp_token": code, "next": ADMIN_INDEX},
    )


def signed_in(client) -> bool:
    return client.get(ADMIN_INDEX).status_code == 200


def enrol(client) -> tuple[TOTPDevice, str]:
    """Go through enrolment as a person would; returns the device and the recovery page."""
    page = client.get(ENROL)
    assert page.status_code == 200
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(ENROL, {"otp_token": code_for(device), "next": ADMIN_INDEX})
    device.refresh_from_db()
    return device, response.content.decode()


# --- Enrolment ---------------------------------------------------------------------------


def test_staff_without_a_device_reach_only_the_enrolment_page(
    client, staff_member, make_organisation
):
    organisation = make_organisation()
    assert sign_in(client, "curator").status_code == 302
    changelists = [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    for url in [
        ADMIN_INDEX,
        *changelists,
        f"/admin/closures/organisation/{organisation.pk}/change/",
        "/admin/closures/organisation/add/",
        "/admin/password_change/",
        "/admin/jsi18n/",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(ENROL), url
    assert client.get(ENROL).status_code == 200


def test_enrolment_shows_a_qr_code_and_the_key_without_inline_style(client, staff_member):
    sign_in(client, "curator")
    response = client.get(ENROL)
    page = response.content.decode()
    device = TOTPDevice.objects.get(user=staff_member)
    assert not device.confirmed
    assert "<svg" in page and "<path" in page
    assert re.search(r"<code>[A-Z2-7]{32}</code>", page)
    assert " style=" not in page and "<style" not in page
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    # Reloading shows the same device, so a scanned code stays valid.
    client.get(ENROL)
    assert TOTPDevice.objects.filter(user=staff_member).count() == 1


def test_a_wrong_code_does_not_confirm_the_device(client, staff_member):
    sign_in(client, "curator")
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=staff_member)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = client.post(ENROL, {"otp_token": wrong})
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(ADMIN_INDEX)["Location"].startswith(ENROL)


def test_a_real_code_confirms_the_device_and_hands_out_recovery_codes_once(client, staff_member):
    sign_in(client, "curator")
    device, page = enrol(client)
    assert device.confirmed
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page)
    assert len(codes) == 10
    recovery = StaticDevice.objects.get(user=staff_member)
    assert sorted(recovery.token_set.values_list("token", flat=True)) == sorted(codes)
    assert signed_in(client)
    # Enrolment is over: the page no longer shows a new device or codes.
    assert client.get(ENROL).status_code == 302
    assert TOTPDevice.objects.filter(user=staff_member).count() == 1


def test_the_enrolment_page_needs_a_signed_in_staff_account(client, django_user_model):
    assert client.get(ENROL)["Location"].startswith(reverse("admin:login"))
    visitor = django_user_model.objects.create_user("visitor", password=PASSWORD)
    client.force_login(visitor)
    assert client.get(ENROL)["Location"].startswith(reverse("admin:login"))
    assert not TOTPDevice.objects.exists()


# --- Sign-in ------------------------------------------------------------------------------


def test_sign_in_needs_the_password_and_a_current_code(client, staff_member):
    sign_in(client, "curator")
    device, _ = enrol(client)
    client.logout()

    response = sign_in(client, "curator")
    assert response.status_code == 200
    assert "code for a staff account" in response.content.decode()
    assert not signed_in(client)

    wrong_password = sign_in(client, "curator", password="wrong-password", code=code_for(device, 1))
    assert wrong_password.status_code == 200
    assert not signed_in(client)

    response = sign_in(client, "curator", code=code_for(device, drift=1))
    assert response.status_code == 302
    assert signed_in(client)


def test_a_code_is_accepted_once(client, staff_member):
    sign_in(client, "curator")
    device, _ = enrol(client)
    client.logout()
    code = code_for(device, drift=1)
    assert sign_in(client, "curator", code=code).status_code == 302
    client.logout()
    assert sign_in(client, "curator", code=code).status_code == 200
    assert not signed_in(client)


def test_a_recovery_code_signs_in_once(client, staff_member):
    sign_in(client, "curator")
    _, page = enrol(client)
    recovery_code = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page)[0]
    client.logout()
    assert sign_in(client, "curator", code=recovery_code).status_code == 302
    assert signed_in(client)
    client.logout()
    assert sign_in(client, "curator", code=recovery_code).status_code == 200
    assert not signed_in(client)


def test_wrong_codes_count_towards_the_lockout(client, settings, staff_member):
    sign_in(client, "curator")
    device, _ = enrol(client)
    client.logout()
    # Device throttling aside, only the lockout is under test here.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "curator", code="000000").status_code == 200
    assert sign_in(client, "curator", code="000000").status_code == 429
    assert sign_in(client, "curator", code=code_for(device, drift=1)).status_code == 429


def test_a_password_session_without_the_second_factor_is_not_enough(
    client, staff_member, staff_login
):
    staff_login(client, staff_member)  # gives the account a confirmed device
    client.logout()
    client.force_login(staff_member)
    response = client.get(ADMIN_INDEX)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_superusers_need_the_second_factor_too(client, admin_user):
    admin_user.set_password(PASSWORD)
    admin_user.save()
    sign_in(client, "admin")
    assert client.get(ADMIN_INDEX)["Location"].startswith(ENROL)


def test_logout_works_before_enrolment(client, staff_member):
    sign_in(client, "curator")
    response = client.post(reverse("admin:logout"))
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


# --- Resetting a lost device ------------------------------------------------------------


def test_reset_command_removes_the_devices_and_signs_the_account_out(client, staff_member):
    sign_in(client, "curator")
    enrol(client)
    assert signed_in(client)

    call_command("reset_otp_device", "curator")

    assert not TOTPDevice.objects.filter(user=staff_member).exists()
    assert not StaticDevice.objects.filter(user=staff_member).exists()
    assert client.get(ADMIN_INDEX)["Location"].startswith(reverse("admin:login"))
    assert sign_in(client, "curator").status_code == 302
    assert client.get(ADMIN_INDEX)["Location"].startswith(ENROL)


def test_reset_command_names_an_unknown_user(db):
    with pytest.raises(CommandError, match="nobody"):
        call_command("reset_otp_device", "nobody")


# --- View on site -----------------------------------------------------------------------

REGISTERED_MODELS = sorted(model._meta.label for model in admin.site._registry)


@pytest.fixture
def any_object_of(make_public_organisation, staff_member, tmp_path):
    """An existing row of every registered model, so the shortcut has something to find."""
    organisation = make_public_organisation()
    services.propose_change(record=organisation, user=staff_member, values={"acronym": "X"})
    Release.objects.create(
        version="2026.11.0", released_on="2026-11-22", filename="r.zip", size=1, sha256="0"
    )
    trackers = write_trackers(tmp_path / "trackers", {"list-a": [entry_row("list-a", 1, "A")]})
    import_trackers(directory=trackers)
    StaticDevice.objects.create(user=staff_member, name="recovery codes")
    TOTPDevice.objects.create(user=staff_member, name="authenticator")
    sign_in(Client(), "curator", password="wrong-password")  # a lockout record
    AccessFailureLog.objects.create(
        username="curator", ip_address="127.0.0.1", user_agent="test", path_info="/admin/login/"
    )

    def find(model):
        return model._default_manager.order_by("pk").values_list("pk", flat=True)[0]

    return find


@pytest.mark.parametrize("label", REGISTERED_MODELS)
def test_view_on_site_needs_view_permission_on_the_model(
    client, django_user_model, any_object_of, staff_login, label
):
    model = apps.get_model(label)
    stranger = django_user_model.objects.create_user("stranger", is_staff=True)
    staff_login(client, stranger)
    content_type = ContentType.objects.get_for_model(model)
    url = f"/admin/r/{content_type.pk}/{any_object_of(model)}/"
    assert client.get(url).status_code == 403

    stranger.user_permissions.add(
        Permission.objects.get(content_type=content_type, codename=f"view_{model._meta.model_name}")
    )
    assert client.get(url).status_code != 403


def test_view_on_site_leads_a_permitted_curator_to_the_public_page(
    client, curator, make_public_organisation, staff_login
):
    organisation = make_public_organisation()
    staff_login(client, curator)
    content_type = ContentType.objects.get_for_model(organisation)
    response = client.get(f"/admin/r/{content_type.pk}/{organisation.pk}/")
    assert response.status_code == 302
    assert organisation.slug in response["Location"]


def test_view_on_site_answers_the_same_for_missing_and_hidden_objects(
    client, django_user_model, make_organisation, staff_login
):
    hidden = make_organisation()
    stranger = django_user_model.objects.create_user("stranger", is_staff=True)
    staff_login(client, stranger)
    content_type = ContentType.objects.get_for_model(hidden)
    existing = client.get(f"/admin/r/{content_type.pk}/{hidden.pk}/")
    missing = client.get(f"/admin/r/{content_type.pk}/{hidden.pk + 1000}/")
    assert existing.status_code == missing.status_code == 403
    assert hidden.slug not in existing.content.decode()


# --- Issue 15: the admin at 1280 px, deliberately English ----------------------------------


def test_the_admin_is_english_whatever_the_browser_asks(client, reviewer, staff_login, scenario):
    staff_login(client, reviewer)
    page = client.get("/admin/closures/organisation/", headers={"accept-language": "zh-HK"})
    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="en"' in html
    assert "Hong Kong Civil Society Closures Registry" in html  # the site header
    assert "Select organisation to change" in html
    # The public site still follows the browser.
    public = client.get("/", headers={"accept-language": "zh-HK"})
    assert public.status_code == 302 and public["Location"].startswith("/zh-hant/")


def test_the_changelists_show_what_a_curator_scans_for(client, reviewer, staff_login, scenario):
    staff_login(client, reviewer)
    html = client.get("/admin/closures/organisation/").content.decode()
    headers = re.findall(r'<th scope="col" class="([^"]*column-[^"]*)"', html)
    columns = [re.search(r"column-(\S+)", header).group(1) for header in headers]
    assert columns == [
        "__str__",
        "org_type",
        "current_status",
        "review_state",
        "embargoed",
        "last_changed_by",
        "updated_at",
    ]
    events = client.get("/admin/closures/event/").content.decode()
    assert "column-date" in events and "column-updated_at" in events
    assert "closures/admin.css" in html

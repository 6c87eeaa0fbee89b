"""Response headers, admin login throttling, password rules and production settings."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

BASE_DIR = Path(django_settings.BASE_DIR)
STRONG_PASSWORD = "lantern-harbour-7-ferry"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Each login hashes a password; the strength of the hash is not what is tested here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def public_page_url(make_public_organisation):
    make_public_organisation()
    return reverse("closures:organisation-list")


def header_pages(public_page_url):
    return {
        "public listing": (public_page_url, 200),
        "admin login": (reverse("admin:login"), 200),
        "missing page": ("/en/organisations/no-such-organisation/", 404),
    }


PAGES = ["public listing", "admin login", "missing page"]


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    directives = (part.strip().split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_sends_the_security_headers(client, public_page_url, page):
    url, status = header_pages(public_page_url)[page]
    response = client.get(url)
    assert response.status_code == status
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.parametrize("page", PAGES)
def test_content_security_policy_forbids_inline_code_framing_and_plugins(
    client, public_page_url, page
):
    url, _ = header_pages(public_page_url)[page]
    directives = csp_directives(client.get(url))
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in value for values in directives.values() for value in values)


@pytest.mark.parametrize("page", PAGES)
def test_https_deployment_adds_hsts_and_redirects_plain_http(
    client, settings, public_page_url, page
):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    url, status = header_pages(public_page_url)[page]

    assert client.get(url).status_code == 301
    response = client.get(url, headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == status
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_https_deployment_marks_session_and_csrf_cookies_secure(
    client, settings, django_user_model
):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    django_user_model.objects.create_user("curator", password=STRONG_PASSWORD, is_staff=True)
    login_page = client.get(reverse("admin:login"), secure=True)
    assert login_page.cookies["csrftoken"]["secure"]
    response = client.post(
        reverse("admin:login"),
        {"username": "curator", "password": STRONG_PASSWORD},
        secure=True,
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"]
    assert response.cookies["sessionid"]["httponly"]


def test_templates_need_no_inline_script_or_style():
    """The policy forbids inline code, so a template that relied on it would break silently."""
    # A JSON-LD block is data, which no browser runs, so the policy does not apply to it.
    inline = re.compile(
        r'<script(?![^>]*\b(src=|type="application/ld\+json"))[^>]*>|<style\b|\sstyle=|\son[a-z]+=',
        re.I,
    )
    offenders = [
        str(path.relative_to(BASE_DIR))
        for path in (BASE_DIR / "templates").rglob("*.html")
        if inline.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# --- Admin login throttling -------------------------------------------------------------


def log_in(client, password):
    return client.post(
        reverse("admin:login"),
        {"username": "curator", "password": password, "next": reverse("admin:index")},
    )


@pytest.fixture
def curator_with_password(django_user_model):
    return django_user_model.objects.create_user("curator", password=STRONG_PASSWORD, is_staff=True)


def test_admin_login_locks_out_after_the_failure_limit(client, settings, curator_with_password):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong password").status_code == 200
    assert log_in(client, "wrong password").status_code == 429
    # Once locked out, even the right password is refused.
    response = log_in(client, STRONG_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_resetting_a_lockout_lets_the_curator_log_in_again(client, settings, curator_with_password):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong password")
    assert log_in(client, STRONG_PASSWORD).status_code == 429

    call_command("axes_reset_username", "curator")

    assert log_in(client, STRONG_PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(curator_with_password.pk)


def test_successful_login_clears_earlier_failures(client, settings, curator_with_password):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong password")
    assert log_in(client, STRONG_PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong password").status_code == 200
    assert log_in(client, STRONG_PASSWORD).status_code == 302


def test_lockout_of_one_curator_leaves_another_free(
    client, settings, django_user_model, curator_with_password
):
    django_user_model.objects.create_user("reviewer", password=STRONG_PASSWORD, is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "wrong password")
    response = client.post(
        reverse("admin:login"), {"username": "reviewer", "password": STRONG_PASSWORD}
    )
    assert response.status_code == 302


def test_behind_the_proxy_lockout_is_per_visitor_not_per_proxy(
    client, settings, curator_with_password
):
    settings.TRUSTED_PROXY_ADDRESSES = ["10.0.0.1"]
    attacker = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("admin:login"), {"username": "curator", "password": "wrong"}, **attacker
        )
    # A forged first entry does not escape the lockout: only the proxy's own entry counts.
    forged = {**attacker, "HTTP_X_FORWARDED_FOR": "203.0.113.9, 198.51.100.7"}
    response = client.post(
        reverse("admin:login"), {"username": "curator", "password": STRONG_PASSWORD}, **forged
    )
    assert response.status_code == 429

    curator = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.44"}
    response = client.post(
        reverse("admin:login"), {"username": "curator", "password": STRONG_PASSWORD}, **curator
    )
    assert response.status_code == 302


def test_a_client_that_is_not_the_proxy_cannot_choose_its_address(
    client, settings, curator_with_password
):
    settings.TRUSTED_PROXY_ADDRESSES = ["10.0.0.1"]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("admin:login"),
            {"username": "curator", "password": "wrong"},
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        )
    response = client.post(
        reverse("admin:login"),
        {"username": "curator", "password": STRONG_PASSWORD},
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="203.0.113.200",
    )
    assert response.status_code == 429


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),
        ("10.0.0.1", "203.0.113.9, 192.0.2.44", "192.0.2.44"),
        ("10.0.0.1", "", "10.0.0.1"),
        ("10.0.0.1", "192.0.2.44, 10.0.0.2", "192.0.2.44"),
        ("10.0.0.1", "not-an-address", "10.0.0.1"),
        ("::1", "192.0.2.44", "192.0.2.44"),
    ],
    ids=["not a proxy", "proxy", "no header", "two proxies", "garbage", "ipv6 proxy"],
)
def test_client_address_believes_forwarded_for_only_from_trusted_proxies(
    rf, settings, remote, forwarded, expected
):
    from registry.middleware import client_ip

    settings.TRUSTED_PROXY_ADDRESSES = ["10.0.0.0/30", "::1"]
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_many_addresses_together_lock_the_account(client, settings, curator_with_password):
    """Each address stays under its own limit; the account's limit stops the sum."""
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_ACCOUNT_FAILURE_LIMIT = 6
    statuses = [
        client.post(
            reverse("admin:login"),
            {"username": "curator", "password": "wrong"},
            REMOTE_ADDR=f"203.0.113.{attempt // 2}",
        ).status_code
        for attempt in range(settings.AXES_ACCOUNT_FAILURE_LIMIT)
    ]
    assert statuses == [200, 200, 200, 200, 200, 429]
    fresh_address = {"REMOTE_ADDR": "192.0.2.44"}
    response = client.post(
        reverse("admin:login"),
        {"username": "curator", "password": STRONG_PASSWORD},
        **fresh_address,
    )
    assert response.status_code == 429
    # From the curator's own address too, until the lockout is lifted.
    assert log_in(client, "wrong password").status_code == 429
    call_command("axes_reset_username", "curator")
    assert log_in(client, STRONG_PASSWORD).status_code == 302


# --- Passwords --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["short-pw-9", "password1234", "123456789012345", "curator-curator"],
    ids=["shorter than 12", "common", "all digits", "like the username"],
)
def test_weak_curator_passwords_are_rejected(django_user_model, password):
    user = django_user_model(username="curator-curator", email="curator@example.org")
    with pytest.raises(ValidationError):
        validate_password(password, user)


def test_a_long_uncommon_password_is_accepted(django_user_model):
    user = django_user_model(username="curator", email="curator@example.org")
    assert validate_password(STRONG_PASSWORD, user) is None


# --- Settings read from the environment -------------------------------------------------


def settings_in_subprocess(expression: str, **environment) -> str:
    """Evaluate a settings expression in a fresh interpreter with the given environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CACHE_URL", "REDIS_URL"))
    }
    env.update(
        {"DJANGO_SECRET_KEY": "subprocess-test-key", **environment},
        DJANGO_SETTINGS_MODULE="registry.settings",
    )
    code = f"from django.conf import settings; print({expression})"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_cache_is_shared_through_redis_when_an_address_is_given():
    backend = "settings.CACHES['default']['BACKEND'], settings.CACHES['default'].get('LOCATION')"
    assert settings_in_subprocess(backend, REDIS_URL="redis://127.0.0.1:6379/10") == (
        "django.core.cache.backends.redis.RedisCache redis://127.0.0.1:6379/10"
    )
    assert settings_in_subprocess(backend, CACHE_URL="redis://127.0.0.1:6379/11") == (
        "django.core.cache.backends.redis.RedisCache redis://127.0.0.1:6379/11"
    )
    assert settings_in_subprocess(backend) == ("django.core.cache.backends.locmem.LocMemCache None")


def test_https_flag_switches_on_every_https_only_protection():
    expression = (
        "settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, "
        "settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS > 0, "
        "settings.SECURE_PROXY_SSL_HEADER is not None"
    )
    assert settings_in_subprocess(expression, DJANGO_HTTPS="true") == "True True True True True"
    assert settings_in_subprocess(expression) == "False False False False False"


def test_without_debug_the_registry_refuses_to_start_without_a_secret_key():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_SECRET", "DJANGO_SETTINGS"))
    }
    env.update(DJANGO_DEBUG="false", DJANGO_HTTPS="true")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_development_with_debug_on_keeps_the_development_key():
    key = settings_in_subprocess("settings.SECRET_KEY", DJANGO_DEBUG="true", DJANGO_SECRET_KEY="")
    assert key.startswith("insecure-development-key")
    assert settings_in_subprocess("settings.SECRET_KEY", DJANGO_SECRET_KEY="a-real-key") == (
        "a-real-key"
    )

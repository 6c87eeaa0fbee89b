"""Response headers Django has no setting for, the admin's language, and the client address
behind the proxy."""

import ipaddress

from django.conf import settings
from django.utils import translation


def permissions_policy(get_response):
    """Deny browser features no page uses, so injected markup cannot ask for them."""

    def middleware(request):
        response = get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response

    return middleware


def english_admin(get_response):
    """Serve the admin in English whatever the browser asks for.

    The public site is bilingual; the admin is deliberately English: its labels and help
    texts are the codebook's English (the words curators and reviewers discuss records in),
    and a half-translated admin would mix languages on one screen. Must follow
    LocaleMiddleware, which would otherwise pick the language from Accept-Language.
    """
    admin_prefixes = ("/admin/", "/_nested_admin/")

    def middleware(request):
        if request.path_info.startswith(admin_prefixes):
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        return get_response(request)

    return middleware


def is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(
        ip in ipaddress.ip_network(proxy, strict=False)
        for proxy in settings.TRUSTED_PROXY_ADDRESSES
    )


def client_ip(request) -> str | None:
    """The visitor's address for login throttling, as the nearest trusted proxy saw it.

    Behind a proxy every request comes from the proxy's address, so locking by it would lock
    everyone out at once; each proxy appends the address it saw to X-Forwarded-For. The
    header is believed only when it arrives from a configured proxy (TRUSTED_PROXY_ADDRESSES),
    and only back to the first entry not added by one: anything further left, and the whole
    header from any other client, is whatever the client claimed.
    """
    address = request.META.get("REMOTE_ADDR")
    if not address or not is_trusted_proxy(address):
        return address
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for entry in reversed(forwarded):
        if not is_ip_address(entry):
            break
        address = entry
        if not is_trusted_proxy(entry):
            break
    return address


def is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True

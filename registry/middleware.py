"""Response headers Django has no setting for."""

from django.conf import settings


def permissions_policy(get_response):
    """Deny browser features no page uses, so injected markup cannot ask for them."""

    def middleware(request):
        response = get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response

    return middleware


def client_ip(request) -> str | None:
    """The visitor's address for login throttling, as the trusted proxy saw it.

    Behind the https proxy every request comes from the proxy's address, so locking by it
    would lock everyone out at once. The proxy appends the address it saw to
    X-Forwarded-For; earlier entries are whatever the client claimed and are ignored.
    """
    if settings.HTTPS:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR")

"""Response headers Django has no setting for."""

from django.conf import settings


def permissions_policy(get_response):
    """Deny browser features no page uses, so injected markup cannot ask for them."""

    def middleware(request):
        response = get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response

    return middleware

"""Caches and conditional requests keyed by the registry's data version.

Every service that changes what the public sees moves the one-row data version in the same
transaction (`services.bump_public_data_version`). Everything cached for the public is keyed
by that version, read once per request from the database, so no process serves a count or a
page from before a publish, embargo, withdrawal, deletion or import once it has committed,
and no invalidation message can be lost. The key also holds a hash of the code and templates:
a deployment that changes a page never serves the page the previous code rendered.
"""

import contextvars
import hashlib
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date
from django.utils.translation import get_language
from rest_framework.response import Response

from .models import RegistryVersion

# Pages are whole responses; facet counts and overview figures are smaller pieces reused by
# many pages. An old version's entries are never read again and expire on their own.
TIMEOUT_SECONDS = 24 * 60 * 60
PUBLIC_NAMESPACES = frozenset({"closures", "api"})
# Views whose answers do not come from the registry's data (the code and settings make them).
# The tracker coverage is data: a change to what the public sees of it moves the version
# (`coverage.moving_the_data_version_if_coverage_changes`).
NOT_CONDITIONAL_URL_NAMES = frozenset({"schema", "docs", "about"})
CACHED_PAGE_NAMESPACE = "closures"
CODE_DIRECTORIES = ("closures", "registry", "templates", "locale")
CODE_SUFFIXES = (".py", ".html", ".mo", ".txt", ".xml", ".md")
REQUEST_ATTRIBUTE = "_registry_data_version"
# The version the current request read, for code that has no request (a form's choices).
request_version: contextvars.ContextVar = contextvars.ContextVar("request_version", default=None)


@cache
def code_generation() -> str:
    """Hash the code, templates and translations this process serves pages from."""
    digest = hashlib.sha256()
    root = Path(settings.BASE_DIR)
    for directory in CODE_DIRECTORIES:
        for path in sorted((root / directory).rglob("*")):
            if path.suffix in CODE_SUFFIXES and ".venv" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def data_version(request=None) -> RegistryVersion:
    """The current data version, read from the database at most once per request."""
    if request is not None and hasattr(request, REQUEST_ATTRIBUTE):
        return getattr(request, REQUEST_ATTRIBUTE)
    if request is None and request_version.get() is not None:
        return request_version.get()
    version = RegistryVersion.current()
    if request is not None:
        setattr(request, REQUEST_ATTRIBUTE, version)
        request_version.set(version)
    return version


def key(kind: str, version: RegistryVersion, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"registry:{kind}:{code_generation()}:{version.number}:{digest}"


def cached(kind: str, version: RegistryVersion, parts: tuple[str, ...], compute):
    """Return the value cached for this data version, computing and storing it on a miss."""
    cache_key = key(kind, version, *parts)
    value = shared_cache.get(cache_key)
    if value is None:
        value = compute()
        shared_cache.set(cache_key, value, TIMEOUT_SECONDS)
    return value


def normalised_query(params, names) -> str:
    """The query string reduced to what selects rows: known names, non-empty values, sorted.

    `?status=a&org_type=b` and `?org_type=b&status=a&page=3` select the same organisations,
    so they share one entry.
    """
    pairs = sorted(
        (name, value.strip()) for name in names for value in params.getlist(name) if value.strip()
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


# --- Conditional requests and the page cache ----------------------------------------------


def is_anonymous(request) -> bool:
    """No session user and no credentials of any other kind (an API client's header)."""
    if request.META.get("HTTP_AUTHORIZATION"):
        return False
    user = getattr(request, "user", None)
    return user is None or not user.is_authenticated


def entity_tag(request, version: RegistryVersion) -> str:
    """A weak tag for this URL's representation: version, language and negotiated format."""
    variant = "\x1f".join(
        [get_language() or "", request.META.get("HTTP_ACCEPT", ""), code_generation()]
    )
    return f'W/"{version.number}-{hashlib.sha256(variant.encode()).hexdigest()[:16]}"'


class PublicCacheMiddleware:
    """Answer anonymous public GETs with validators, 304s and (pages) the shared page cache.

    Public pages, the feed, API responses and exports carry an ETag and Last-Modified from
    the data version and `Cache-Control: public` with a short max-age. Anything a signed-in
    user asks for, and the admin, is left alone. Only HTML pages and the feed are stored
    whole: API views keep their throttling, and exports stream.
    Must follow the authentication and locale middleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_version.set(None)
        try:
            response = self.get_response(request)
        finally:
            request_version.reset(token)
        validators = getattr(request, "_public_validators", None)
        if validators is None or response.status_code != 200 or response.cookies:
            return response
        etag, last_modified, page_key = validators
        with_validators(response, etag, last_modified)
        if page_key and not response.streaming:
            shared_cache.set(page_key, stored_page(response), TIMEOUT_SECONDS)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if (
            request.method not in ("GET", "HEAD")
            or match is None
            or match.namespace not in PUBLIC_NAMESPACES
            or match.url_name in NOT_CONDITIONAL_URL_NAMES
            or not is_anonymous(request)
        ):
            return None
        version = data_version(request)
        etag = entity_tag(request, version)
        last_modified = version.changed_at
        not_modified = get_conditional_response(
            request, etag=etag, last_modified=int(last_modified.timestamp())
        )
        if not_modified is not None:
            return with_validators(not_modified, etag, last_modified)
        page_key = None
        if match.namespace == CACHED_PAGE_NAMESPACE:
            # The whole address: pages carry absolute links built from the host.
            page_key = key("page", version, get_language() or "", request.build_absolute_uri())
            stored = shared_cache.get(page_key)
            if stored is not None:
                request._public_validators = (etag, last_modified, None)
                return restored_page(stored)
        request._public_validators = (etag, last_modified, page_key)
        return None


def with_validators(response, etag: str, last_modified):
    """Let browsers and shared caches keep the response briefly and revalidate it cheaply."""
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified.timestamp())
    patch_cache_control(response, public=True, max_age=settings.PUBLIC_CACHE_MAX_AGE)
    patch_vary_headers(response, ("Accept-Language",))
    return response


def cached_api_read(request, read):
    """Answer an anonymous API read from the shared cache, keyed by the data version."""
    if not is_anonymous(request):
        return read()
    version = data_version(request._request)
    parts = (get_language() or "", request.build_absolute_uri(), request.accepted_media_type or "")
    cache_key = key("api", version, *parts)
    data = shared_cache.get(cache_key)
    if data is not None:
        return Response(data)
    response = read()
    if response.status_code == 200:
        shared_cache.set(cache_key, response.data, TIMEOUT_SECONDS)
    return response


def stored_page(response) -> dict:
    return {
        "content": response.content,
        "status": response.status_code,
        "content_type": response["Content-Type"],
        "language": response.get("Content-Language"),
    }


def restored_page(stored: dict) -> HttpResponse:
    response = HttpResponse(
        stored["content"], status=stored["status"], content_type=stored["content_type"]
    )
    if stored["language"]:
        response["Content-Language"] = stored["language"]
    return response

"""System checks for what code cannot fix later: how the database was created, and the
settings a public deployment needs."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connections


@register(Tags.database)
def trigram_search_needs_utf8_ctype(app_configs, databases=None, **kwargs):
    """pg_trgm only makes trigrams of characters its LC_CTYPE calls alphanumeric.

    In a database created with LC_CTYPE C, Chinese characters are not, so a search for 職工會
    would silently fall back to scanning every organisation.
    """
    problems = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT datctype FROM pg_database WHERE datname = current_database()")
            (ctype,) = cursor.fetchone()
        if "utf" not in ctype.lower().replace("-", ""):
            problems.append(
                Warning(
                    f"Database {alias!r} has LC_CTYPE {ctype!r}: Chinese search cannot use its "
                    "trigram index.",
                    hint="Create the database with ENCODING 'UTF8' LC_CTYPE 'C.UTF-8' "
                    "TEMPLATE template0 (see the README).",
                    id="closures.W001",
                )
            )
    return problems


@register(Tags.security, deploy=True)
def corrections_need_an_address(app_configs, **kwargs):
    """Every page offers "Report a correction"; in production it must lead somewhere."""
    if settings.DEBUG or settings.REGISTRY_CORRECTIONS_EMAIL.strip():
        return []
    return [
        Error(
            "REGISTRY_CORRECTIONS_EMAIL is not set: the site's “Report a correction” link "
            "would name no address to write to.",
            hint="Set REGISTRY_CORRECTIONS_EMAIL to the address curators read (see the README).",
            id="closures.E002",
        )
    ]


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", ""})


@register(Tags.security, deploy=True)
def site_url_is_public(app_configs, **kwargs):
    """Releases, CITATION.cff, the data page's JSON-LD and citations carry SITE_URL.

    A release is immutable: built with the development default it would cite an address on
    the curator's own machine for good.
    """
    if settings.DEBUG:
        return []
    address = urlsplit(settings.SITE_URL)
    if address.scheme == "https" and (address.hostname or "") not in LOCAL_HOSTS:
        return []
    return [
        Error(
            f"SITE_URL is {settings.SITE_URL!r}: releases, CITATION.cff and citations would "
            "give readers an address they cannot open.",
            hint="Set SITE_URL to the registry's public https:// address (see the README).",
            id="closures.E003",
        )
    ]

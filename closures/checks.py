"""System checks for how the database was created, which code cannot fix later."""

from django.core.checks import Tags, Warning, register
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

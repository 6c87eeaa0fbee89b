from unittest import mock

import pytest
from django.db import connection

from closures.checks import (
    corrections_need_an_address,
    site_url_is_public,
    trigram_search_needs_utf8_ctype,
)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="only PostgreSQL has trigrams")
@pytest.mark.django_db
def test_a_utf8_database_passes():
    # The test database copies the UTF-8 database CI and the README create.
    assert trigram_search_needs_utf8_ctype(None, databases=["default"]) == []


def test_a_c_ctype_database_is_warned_about():
    with mock.patch("closures.checks.connections") as fake_connections:
        fake = fake_connections.__getitem__.return_value
        fake.vendor = "postgresql"
        fake.cursor.return_value.__enter__.return_value.fetchone.return_value = ("C",)
        (warning,) = trigram_search_needs_utf8_ctype(None, databases=["default"])
    assert warning.id == "closures.W001"
    assert "'C'" in warning.msg


def test_production_without_a_corrections_address_is_an_error(settings):
    settings.DEBUG = False
    settings.REGISTRY_CORRECTIONS_EMAIL = ""
    (error,) = corrections_need_an_address(None)
    assert error.id == "closures.E002"
    settings.REGISTRY_CORRECTIONS_EMAIL = "corrections@registry.example"
    assert corrections_need_an_address(None) == []
    settings.DEBUG, settings.REGISTRY_CORRECTIONS_EMAIL = True, ""
    assert corrections_need_an_address(None) == []


@pytest.mark.parametrize(
    "site_url",
    ["http://127.0.0.1:8000", "https://localhost", "http://registry.example", "https://"],
)
def test_production_citing_an_address_readers_cannot_open_is_an_error(settings, site_url):
    settings.DEBUG, settings.SITE_URL = False, site_url
    (error,) = site_url_is_public(None)
    assert error.id == "closures.E003"


def test_production_with_a_public_https_address_passes(settings):
    settings.DEBUG, settings.SITE_URL = False, "https://registry.example"
    assert site_url_is_public(None) == []
    settings.DEBUG, settings.SITE_URL = True, "http://127.0.0.1:8000"
    assert site_url_is_public(None) == []

import pytest
from django.core.paginator import Paginator
from django.test import Client

from closures.models import Organisation
from closures.pagination import KeysFirstPaginator


@pytest.fixture
def admin_client(admin_user, staff_login):
    """A superuser signed into the admin with both factors, beside the anonymous `client`."""
    signed_in = Client()
    staff_login(signed_in, admin_user)
    return signed_in


@pytest.mark.parametrize("keys_at_once", [7, 10_000])
def test_keys_first_pages_hold_the_same_rows_in_the_same_order(
    make_organisation, monkeypatch, keys_at_once
):
    """Whether the keys come at once or page by page (past `KEYS_AT_ONCE` matches)."""
    monkeypatch.setattr("closures.pagination.KEYS_AT_ONCE", keys_at_once)
    for number in range(23):
        make_organisation(name_en=f"Group {number % 7}", slug=f"group-{number:02d}")
    organisations = Organisation.objects.order_by("name_en", "slug")
    plain, keyed = (
        Paginator(organisations, 5, orphans=2),
        KeysFirstPaginator(organisations, 5, orphans=2),
    )
    assert keyed.count == plain.count == 23
    assert keyed.num_pages == plain.num_pages == 5
    for number in plain.page_range:
        expected = [row.slug for row in plain.page(number)]
        assert [row.slug for row in keyed.page(number)] == expected
        assert expected


def test_admin_changelist_deep_page_lists_the_rows_of_that_page(admin_client, make_organisation):
    for number in range(130):
        make_organisation(name_en=f"Deep {number:03d}", slug=f"deep-{number:03d}")
    response = admin_client.get("/admin/closures/organisation/?p=3")
    assert response.status_code == 200
    listed = [row.slug for row in response.context["cl"].result_list]
    assert listed == [f"deep-{number:03d}" for number in range(100, 130)]


@pytest.mark.parametrize("query", ["", "q=Group"])
def test_listing_pages_hold_the_rows_of_the_listing_order(client, make_public_organisation, query):
    """The listing's pages come keys first: the same rows, in the order the listing gives."""
    for number in range(60):
        make_public_organisation(name_en=f"Group {number % 9}", slug=f"group-{number:02d}")
    ordered = Organisation.objects.public().for_listing()
    if query:
        ordered = ordered.search("Group")
    slugs = list(ordered.values_list("slug", flat=True))
    listed = []
    for page in (1, 2, 3):
        response = client.get(f"/en/organisations/?{query}&page={page}")
        listed += [row.slug for row in response.context["organisations"]]
    assert listed == slugs

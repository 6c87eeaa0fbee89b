import pytest

from closures.models import Event, EventType, Organisation, ReviewState, Status
from closures.services import refresh_organisation

CONTENT_MODELS = ["organisation", "alias", "event", "source", "citation"]


@pytest.mark.parametrize("model", CONTENT_MODELS)
def test_curators_add_and_change_but_do_not_delete(curator, model):
    assert curator.has_perm(f"closures.add_{model}")
    assert curator.has_perm(f"closures.change_{model}")
    assert not curator.has_perm(f"closures.delete_{model}")


def test_curators_lack_the_publish_and_embargo_permissions(curator):
    assert not curator.has_perm("closures.publish_organisation")
    assert not curator.has_perm("closures.embargo_organisation")


@pytest.mark.parametrize("model", CONTENT_MODELS)
def test_reviewers_have_every_content_permission(reviewer, model):
    for action in ("add", "change", "delete", "view"):
        assert reviewer.has_perm(f"closures.{action}_{model}")
    assert reviewer.has_perm("closures.publish_organisation")
    assert reviewer.has_perm("closures.embargo_organisation")


def test_changelist_searches_chinese_names_and_aliases(
    client, admin_user, make_organisation, staff_login
):
    make_organisation(name_en="Hong Kong Confederation of Trade Unions", name_zh="香港職工會聯盟")
    alias_owner = make_organisation(name_en="Hospital Authority Employees Alliance")
    alias_owner.aliases.create(name="HAEA staff front", language="en")
    refresh_organisation(organisation_id=alias_owner.pk)  # as saving the admin form does
    make_organisation(name_en="Unrelated Group", name_zh="無關")
    staff_login(client, admin_user)
    response = client.get("/admin/closures/organisation/", {"q": "職工會"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list.values_list("name_zh", flat=True)) == [
        "香港職工會聯盟"
    ]
    response = client.get("/admin/closures/organisation/", {"q": "staff front"})
    assert [o.pk for o in response.context["cl"].result_list] == [alias_owner.pk]


def test_curator_sees_visibility_fields_read_only(client, curator, make_organisation, staff_login):
    organisation = make_organisation()
    staff_login(client, curator)
    response = client.get(f"/admin/closures/organisation/{organisation.pk}/change/")
    assert response.status_code == 200
    form_fields = response.context["adminform"].form.fields
    assert "name_en" in form_fields
    assert "review_state" not in form_fields
    assert "embargoed" not in form_fields


def test_visibility_fields_change_only_through_actions_even_for_reviewers(
    client, reviewer, make_organisation, staff_login
):
    organisation = make_organisation()
    staff_login(client, reviewer)
    response = client.get(f"/admin/closures/organisation/{organisation.pk}/change/")
    form_fields = set(response.context["adminform"].form.fields)
    assert not {"review_state", "embargoed", "embargo_reason"} & form_fields


def test_admin_pages_render(client, admin_user, make_public_organisation, staff_login):
    organisation = make_public_organisation()
    event = organisation.events.get()
    staff_login(client, admin_user)
    for url in [
        "/admin/closures/organisation/",
        "/admin/closures/organisation/add/",
        f"/admin/closures/organisation/{organisation.pk}/change/",
        f"/admin/closures/organisation/{organisation.pk}/history/",
        "/admin/closures/event/",
        f"/admin/closures/event/{event.pk}/change/",
        "/admin/closures/source/",
        "/admin/autocomplete/?app_label=closures&model_name=citation&field_name=source&term=Story",
    ]:
        assert client.get(url).status_code == 200, url


def test_adding_an_event_in_the_admin_refreshes_the_status(
    client, admin_user, make_public_organisation, django_capture_on_commit_callbacks, staff_login
):
    organisation = make_public_organisation()
    citation = organisation.events.get().citations.get()
    staff_login(client, admin_user)
    data = {
        "organisation": organisation.pk,
        "uid": "liquidation",
        "event_type": EventType.LIQUIDATED,
        "confidence": "high",
        "effective_on": "2022-05-01",
        "effective_precision": "month",
        "review_state": ReviewState.PUBLISHED,
        "citations-TOTAL_FORMS": "1",
        "citations-INITIAL_FORMS": "0",
        "citations-0-source": citation.source_id,
        "citations-0-claims": ["event", "date"],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/closures/event/add/", data)
    assert response.status_code == 302, response.context and response.context["errors"]
    event = Event.objects.get(uid="liquidation")
    assert event.effective_display() == "May 2022"
    assert event.citations.get().claims == ["event", "date"]
    organisation.refresh_from_db()
    assert organisation.current_status == Status.LIQUIDATED
    assert Organisation.objects.public().get() == organisation

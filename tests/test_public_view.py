"""The public-change time: it moves exactly when what the public sees of a record changes."""

import datetime as dt
from importlib import import_module
from types import SimpleNamespace

from django.apps import apps
from django.db import connection

from closures import services
from closures.models import Event, Organisation, ReviewState
from closures.services.public_view import NOT_YET_COMPUTED, public_fingerprint


def current(organisation) -> Organisation:
    return Organisation.objects.get(pk=organisation.pk)


def edit(record, **values):
    """Save a change as the admin does, then refresh its organisation as the admin does."""
    for name, value in values.items():
        setattr(record, name, value)
    record.save()
    organisation_id = getattr(record, "organisation_id", record.pk)
    return services.refresh_organisation(organisation_id=organisation_id)


def test_a_record_embargoed_before_publication_was_never_public(scenario):
    hidden = current(scenario.hidden)
    assert hidden.review_state == ReviewState.PUBLISHED
    assert hidden.first_published_at is None
    assert hidden.public_changed_at is None and hidden.public_fingerprint == ""


def test_publishing_while_every_event_is_embargoed_does_not_publish_the_record(
    make_organisation, make_event, curator, reviewer
):
    organisation = make_organisation()
    event = make_event(organisation, review_state=ReviewState.DRAFT)
    services.set_embargo(record=event, user=reviewer, reason="Source at risk")
    services.submit_for_review(record=organisation, user=curator)
    published = services.publish(record=organisation, user=reviewer)
    assert published.first_published_at is None and published.public_changed_at is None
    services.lift_embargo(record=Event.objects.get(pk=event.pk), user=reviewer)
    became_public = current(organisation)
    assert became_public.first_published_at is not None
    assert became_public.public_changed_at == became_public.first_published_at


def test_a_public_edit_moves_the_time_and_the_fingerprint(scenario):
    before = current(scenario.ctu)
    after = edit(before, description_en="A federation of independent unions.")
    assert after.public_changed_at > before.public_changed_at
    assert after.public_fingerprint != before.public_fingerprint
    assert after.first_published_at == before.first_published_at


def test_a_public_event_edit_moves_the_time(scenario):
    before = current(scenario.ctu)
    after = edit(before.events.get(), destination_city="Hong Kong")
    assert after.public_changed_at > before.public_changed_at


def test_edits_the_public_cannot_see_leave_the_time_alone(scenario, make_event):
    before = current(scenario.media)
    edit(current(scenario.media), curator_note="Names a member")
    edit(Event.objects.get(uid="apple-daily-secret-move"), destination_city="London")
    make_event(current(scenario.media), review_state=ReviewState.DRAFT, uid="draft-step")
    services.refresh_organisation(organisation_id=scenario.media.pk)
    edit(Event.objects.get(uid="apple-daily-ceased"))  # a save that changes nothing
    after = current(scenario.media)
    assert (after.public_changed_at, after.public_fingerprint) == (
        before.public_changed_at,
        before.public_fingerprint,
    )


def test_hiding_and_showing_again_each_move_the_time(scenario):
    published = current(scenario.ctu)
    services.set_embargo(record=published, user=scenario.reviewer, reason="Staff at risk")
    hidden = current(scenario.ctu)
    assert (
        hidden.public_fingerprint == "" and hidden.public_changed_at > published.public_changed_at
    )
    services.lift_embargo(record=hidden, user=scenario.reviewer)
    shown = current(scenario.ctu)
    assert shown.public_fingerprint == published.public_fingerprint
    assert shown.public_changed_at > hidden.public_changed_at
    assert shown.first_published_at == published.first_published_at


def test_a_source_edit_in_the_admin_refreshes_every_record_citing_it(
    client, scenario, admin_user, staff_login
):
    # A superuser's edit is direct; anyone else's waits for a reviewer, whose approval
    # refreshes the same way (tests/test_four_eyes_paths.py).
    before = current(scenario.ctu)
    source = before.events.get().citations.get().source
    staff_login(client, admin_user)
    response = client.post(
        f"/admin/closures/source/{source.pk}/change/",
        {
            "url": source.url,
            "title": "A corrected title",
            "publisher": source.publisher,
            "language": source.language,
            "source_type": source.source_type,
            "change_reason": "Title as published",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert current(scenario.ctu).public_changed_at > before.public_changed_at
    assert current(scenario.amnesty).public_changed_at == scenario.amnesty.public_changed_at


def test_the_data_migration_leaves_a_baseline_the_first_refresh_fills_without_moving_time(
    scenario,
):
    changed_at = current(scenario.ctu).public_changed_at
    Organisation.objects.update(public_fingerprint="", public_changed_at=None)
    # As the old publish() left a record embargoed before it was ever public.
    Organisation.objects.filter(pk=scenario.hidden.pk).update(first_published_at=changed_at)
    migration = import_module("closures.migrations.0008_public_change_time")
    migration.fill_public_view(apps, SimpleNamespace(connection=connection))
    filled = current(scenario.ctu)
    assert filled.public_fingerprint == NOT_YET_COMPUTED
    assert filled.public_changed_at >= changed_at - dt.timedelta(seconds=5)
    refreshed = services.refresh_organisation(organisation_id=scenario.ctu.pk)
    assert refreshed.public_changed_at == filled.public_changed_at
    assert current(scenario.ctu).public_fingerprint == public_fingerprint(scenario.ctu.pk)
    assert current(scenario.hidden).first_published_at is None


def test_a_parent_becoming_public_or_hidden_moves_its_sub_organisations_view(
    make_organisation, make_event, make_public_organisation, curator, reviewer
):
    parent = make_organisation(name_en="Federation")
    make_event(parent)
    child = make_public_organisation(parent_organisation=parent)
    assert public_fingerprint(child.pk) == current(child).public_fingerprint

    services.submit_for_review(record=parent, user=curator)
    services.publish(record=current(parent), user=reviewer)
    named = current(child)
    assert named.public_changed_at > child.public_changed_at
    assert named.public_fingerprint == public_fingerprint(child.pk) != child.public_fingerprint

    services.set_embargo(record=current(parent), user=reviewer, reason="Staff at risk")
    unnamed = current(child)
    assert unnamed.public_changed_at > named.public_changed_at
    assert unnamed.public_fingerprint == public_fingerprint(child.pk) == child.public_fingerprint


def test_deleting_a_public_parent_moves_its_sub_organisations_view(
    make_public_organisation, admin_user
):
    """Only a superuser deletes a published record; its sub-organisations lose their parent."""
    parent = make_public_organisation(name_en="Federation")
    child = make_public_organisation(parent_organisation=parent)
    services.delete_records(records=[current(parent)], user=admin_user)
    orphan = current(child)
    assert orphan.parent_organisation_id is None
    assert orphan.public_changed_at > child.public_changed_at
    assert orphan.public_fingerprint == public_fingerprint(child.pk) != child.public_fingerprint


def test_a_sub_organisation_appearing_changing_or_going_moves_its_parents_view(
    client, make_public_organisation, make_organisation, make_event, curator, reviewer
):
    """The parent's page lists its public bodies with name and status: its "last updated",
    `updated_since` and feed entry follow them, and a hidden body moves nothing."""
    parent = make_public_organisation(name_en="Federation")
    child = make_organisation(parent_organisation=parent, name_en="College Union")
    make_event(child)
    alone = current(parent)
    assert alone.public_fingerprint == public_fingerprint(parent.pk)
    assert "College Union" not in client.get(parent.get_absolute_url()).content.decode()

    services.submit_for_review(record=current(child), user=curator)
    services.publish(record=current(child), user=reviewer)
    listed = current(parent)
    assert "College Union" in client.get(parent.get_absolute_url()).content.decode()
    assert listed.public_changed_at > alone.public_changed_at
    assert listed.public_fingerprint == public_fingerprint(parent.pk) != alone.public_fingerprint

    services.set_embargo(record=current(child), user=reviewer, reason="Members at risk")
    hidden = current(parent)
    assert hidden.public_changed_at > listed.public_changed_at
    assert hidden.public_fingerprint == alone.public_fingerprint

    # An edit of the hidden body is nothing the public sees: the parent stays as it was.
    embargoed = current(child)
    embargoed.name_en = "College Union (renamed)"
    embargoed.save()
    services.refresh_organisation(organisation_id=child.pk)
    assert current(parent).public_changed_at == hidden.public_changed_at

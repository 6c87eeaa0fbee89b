import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from closures.models import Citation, Event, Organisation, PublicEventFacet, Source


def seed(count, *args):
    out = io.StringIO()
    call_command("seed_synthetic", "--organisations", str(count), *args, stdout=out)
    return out.getvalue()


def test_seed_synthetic_creates_public_records_with_events_and_sources(db):
    output = seed(30)
    assert output.startswith("Created 30 organisations")
    assert Organisation.objects.public().count() == 30
    events_per_organisation = set(
        Organisation.objects.annotate(n=Count("events")).values_list("n", flat=True)
    )
    assert events_per_organisation <= {1, 2, 3}
    assert set(Event.objects.annotate(n=Count("citations")).values_list("n", flat=True)) == {2}
    assert Event.objects.public().count() == Event.objects.count()
    # Created in bulk, its stored flags and facet values are still what the rule gives.
    call_command("check_public_flags", stdout=io.StringIO())
    assert PublicEventFacet.objects.filter(facet="event_type").count() == len(
        set(Event.objects.values_list("organisation_id", "event_type"))
    )
    assert all(o.name_zh and o.name_en for o in Organisation.objects.all())
    relocated = Event.objects.filter(event_type="relocated")
    assert not relocated.filter(destination_country="").exists()


def test_seed_synthetic_is_deterministic_and_replaceable(db):
    seed(10)
    names = list(Organisation.objects.order_by("slug").values_list("name_en", flat=True))
    with pytest.raises(CommandError, match="--replace"):
        seed(10)
    seed(10, "--replace")
    assert list(Organisation.objects.order_by("slug").values_list("name_en", flat=True)) == names
    assert Source.objects.count() == 2 * Event.objects.count()


def test_seed_synthetic_leaves_curated_records_alone(db, make_public_organisation):
    curated = make_public_organisation()
    seed(5)
    seed(5, "--replace")
    assert Organisation.objects.filter(pk=curated.pk).exists()
    assert curated.events.get().citations.count() == 1


def test_check_public_flags_finds_and_fixes_a_write_that_bypassed_the_refresh(
    make_public_organisation,
):
    organisation = make_public_organisation(name_en="Checked Union")
    call_command("check_public_flags", stdout=io.StringIO())
    # A write that skipped refresh_organisation: the citation gone, the record still flagged.
    Citation.objects.filter(event__organisation=organisation).delete()
    with pytest.raises(CommandError, match="1 organisation"):
        call_command("check_public_flags", stdout=io.StringIO())
    call_command("check_public_flags", "--fix", stdout=io.StringIO())
    assert not Organisation.objects.filter(pk=organisation.pk, is_public=True).exists()
    assert not PublicEventFacet.objects.filter(organisation=organisation).exists()
    call_command("check_public_flags", stdout=io.StringIO())

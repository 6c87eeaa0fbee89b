from django.core.management.base import BaseCommand, CommandError

from closures.models import Event, Organisation, PublicEventFacet
from closures.services import refresh_organisation


class Command(BaseCommand):
    help = (
        "Compare the stored public flags and event facet values with the rule they are kept "
        "from (every public channel reads them); with --fix, refresh each organisation that "
        "differs. A difference means a write bypassed refresh_organisation."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Refresh what differs.")

    def handle(self, *args, fix, **options):
        differing = drifted_organisations()
        for organisation_id in sorted(differing):
            if fix:
                refresh_organisation(organisation_id=organisation_id)
        if differing and not fix:
            raise CommandError(
                f"{len(differing)} organisation(s) differ from the rule: run with --fix."
            )
        self.stdout.write(f"{len(differing)} organisation(s) differed; all now follow the rule.")


def drifted_organisations() -> set[int]:
    """Organisations whose stored flag, events' flags or facet values differ from the rule."""
    public = set(Organisation.objects.public_by_rule().values_list("pk", flat=True))
    flagged = set(Organisation.objects.filter(is_public=True).values_list("pk", flat=True))
    differing = public ^ flagged
    events = set(Event.objects.public_by_rule().values_list("pk", "organisation_id"))
    events_flagged = set(Event.objects.filter(is_public=True).values_list("pk", "organisation_id"))
    differing |= {organisation_id for _pk, organisation_id in events ^ events_flagged}
    stored = set(PublicEventFacet.objects.values_list("organisation_id", "facet", "value"))
    expected = PublicEventFacet.values_from_events(
        Event.objects.filter(pk__in=[pk for pk, _organisation_id in events])
    )
    differing |= {organisation_id for organisation_id, *_value in stored ^ expected}
    return differing

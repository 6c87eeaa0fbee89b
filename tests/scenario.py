"""The shared registry scenario, built the way records really arrive: through the services.

A curator imports a spreadsheet (drafts), submits each record, a second person publishes it
and embargoes what must stay hidden. First-publication times, derived fields (status, latest
event, search text) and the history are therefore the ones the site would hold.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from closures import services
from closures.models import Event, Organisation


def staff_in(username: str, group: str):
    """A staff account in one of the groups the migrations create (Curators, Reviewers)."""
    user = get_user_model().objects.create_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def curation_team() -> dict:
    """A curator and two reviewers: what four eyes needs, by the names the machines use."""
    return {
        "curator": staff_in("curator", "Curators"),
        "reviewer": staff_in("reviewer", "Reviewers"),
        "second_reviewer": staff_in("second_reviewer", "Reviewers"),
    }


def spreadsheet_row(organisation: dict, event_id: str, **event) -> dict:
    """One spreadsheet row: an organisation's columns, one event and its (made-up) source."""
    return {
        "id": event_id,
        "event_type": "disbanded",
        "confidence": "high",
        "source_url": f"https://news.example.org/{event_id}",
        "source_publisher": "Example News",
        "source_title": f"Report on {event_id}",
        **organisation,
        **event,
    }


def import_drafts(rows: list[dict], *, curator) -> None:
    services.import_registry(rows=rows, user=curator, reason="Imported from a spreadsheet")


def submit_and_publish(slug: str, *, curator, reviewer) -> Organisation:
    """Take an imported draft through review: the curator submits, the reviewer publishes."""
    organisation = Organisation.objects.get(slug=slug)
    services.submit_for_review(record=organisation, user=curator)
    return services.publish(record=organisation, user=reviewer, reason="Sources agree")


HKCTU = {
    "organisation_id": "hkctu",
    "name_en": "Hong Kong Confederation of Trade Unions",
    "name_zh": "香港職工會聯盟",
    "acronym": "HKCTU",
    "org_type": "union",
}
AMNESTY = {
    "organisation_id": "amnesty",
    "name_en": "Amnesty International regional office",
    "name_zh": "",
    "org_type": "international_ngo",
}
APPLE_DAILY = {
    "organisation_id": "apple-daily",
    "name_en": "Apple Daily",
    "name_zh": "蘋果日報",
    "org_type": "media",
}
HIDDEN_UNION = {
    "organisation_id": "hidden-union",
    "name_en": "Hidden Union",
    "org_type": "union",
}
DRAFT_UNION = {"organisation_id": "draft-union", "name_en": "Draft Union", "org_type": "union"}

SCENARIO_ROWS = [
    spreadsheet_row(
        HKCTU,
        "hkctu-disbanded",
        effective_date="2021-10-03",
        stated_reason="Threats to members.",
        stated_reason_zh="會員受到威脅。",
    ),
    spreadsheet_row(
        AMNESTY,
        "amnesty-relocated",
        event_type="relocated",
        destination_country="TW",
        destination_city="Taipei",
        effective_date="2021-12",  # known only to the month
        stated_reason="The security law made free work impossible.",
        reason_category="nsl_pressure",
    ),
    spreadsheet_row(
        APPLE_DAILY,
        "apple-daily-ceased",
        event_type="ceased_operations",
        effective_date="2022-06-24",
    ),
    spreadsheet_row(
        APPLE_DAILY,
        "apple-daily-secret-move",
        event_type="relocated",
        destination_country="GB",
        effective_date="2023-01-01",
        stated_reason="secret plan",
    ),
    spreadsheet_row(
        HIDDEN_UNION,
        "hidden-union-relocated",
        event_type="relocated",
        destination_country="CA",
        effective_date="2021-09-01",
    ),
    spreadsheet_row(DRAFT_UNION, "draft-union-disbanded", effective_date="2021-08-01"),
]


@dataclass
class Scenario:
    """Three public records, an embargoed and a draft one, and an embargoed event.

    - hkctu: a union with an English alias and a Chinese stated reason, disbanded 3 Oct 2021.
    - amnesty: no Chinese name; relocated to Taipei, TW in December 2021 (month precision),
      for the reason `nsl_pressure`.
    - apple-daily: ceased operations 24 Jun 2022; its relocation to GB on 1 Jan 2023
      ("secret plan") is embargoed ("Staff at risk.").
    - hidden-union: embargoed ("Members at risk.") while still a draft, then published;
      the public never saw it.
    - draft-union: imported and never submitted.
    """

    ctu: Organisation
    amnesty: Organisation
    media: Organisation
    hidden: Organisation
    draft: Organisation
    curator: object
    reviewer: object


def build_scenario(*, curator, reviewer) -> Scenario:
    import_drafts(SCENARIO_ROWS, curator=curator)
    ctu = Organisation.objects.get(slug="hkctu")
    ctu.aliases.create(name="Confederation of Trade Unions", language="en")
    ctu = submit_and_publish("hkctu", curator=curator, reviewer=reviewer)
    amnesty = submit_and_publish("amnesty", curator=curator, reviewer=reviewer)
    media = submit_and_publish("apple-daily", curator=curator, reviewer=reviewer)
    services.set_embargo(
        record=Event.objects.get(uid="apple-daily-secret-move"),
        user=reviewer,
        reason="Staff at risk.",
    )
    services.set_embargo(
        record=Organisation.objects.get(slug="hidden-union"),
        user=reviewer,
        reason="Members at risk.",
    )
    hidden = submit_and_publish("hidden-union", curator=curator, reviewer=reviewer)
    return Scenario(
        ctu=Organisation.objects.get(pk=ctu.pk),
        amnesty=Organisation.objects.get(pk=amnesty.pk),
        media=Organisation.objects.get(pk=media.pk),
        hidden=Organisation.objects.get(pk=hidden.pk),
        draft=Organisation.objects.get(slug="draft-union"),
        curator=curator,
        reviewer=reviewer,
    )

"""Curation invariants, proven over random sequences of curator and reviewer actions (issue 12).

A hypothesis state machine creates, edits, imports, submits, publishes, returns, withdraws,
embargoes, lifts, deletes, reverts and moves records through the services (and the admin's own
delete and save paths), as a curator, two reviewers and a superuser would, and after every
step checks what must always hold:

- the public sees exactly the records that are published, not embargoed and cited (computed
  here from the raw rows, not by the gate under test): in `Organisation.objects.public()`, the
  API lists, the CSV exports and the listing's counts;
- every organisation's derived status, latest date and search text are what its events give;
- the stored public flags (what the gate reads) and the stored event facet values (what the
  listing counts) are exactly what the rule gives from the raw rows;
- no record was ever published by the person who submitted it, unless a superuser;
- a refused step wrote nothing, a dry run wrote nothing and predicted the import exactly.

`make test` runs the bounded profile; `INVARIANTS_PROFILE=nightly` searches much longer.
"""

import csv
import io
import json
import os
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from closures import services
from closures.models import (
    Alias,
    Citation,
    Event,
    Organisation,
    PublicEventFacet,
    ReviewState,
    Source,
    derive_status,
)
from closures.services import ImportFailed, WorkflowRefused
from closures.views import OrganisationListView

from .scenario import curation_team

settings.register_profile(
    "invariants-ci",
    max_examples=8,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "invariants-nightly",
    max_examples=400,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = settings.get_profile(f"invariants-{os.environ.get('INVARIANTS_PROFILE', 'ci')}")

# Small pools, so that random steps keep meeting the same records.
ORGANISATIONS = ["org-a", "org-b", "org-c"]
EVENT_IDS = ["ev-1", "ev-2", "ev-3", "ev-4", "ev-5"]
EVENT_TYPES = ["disbanded", "suspended", "police_investigation", "liquidated"]
DATES = ["2021-06", "2021-09-25", "2022", ""]
SOURCE_URLS = ["https://news.example.org/a", "https://news.example.org/b"]
USERS = ["curator", "reviewer", "second_reviewer", "superuser"]
STEPS = {
    "submit": services.submit_for_review,
    "publish": services.publish,
    "return": services.return_to_draft,
    "withdraw": services.withdraw,
    "embargo": services.set_embargo,
    "lift": services.lift_embargo,
}
indexes = st.integers(min_value=0, max_value=30)
spreadsheet_rows = st.lists(
    st.tuples(
        st.sampled_from(EVENT_IDS),
        st.sampled_from(ORGANISATIONS),
        st.sampled_from(EVENT_TYPES),
        st.sampled_from(DATES),
        st.sampled_from(SOURCE_URLS),
        st.sampled_from(["", " (renamed)"]),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda row: row[0],
)


def spreadsheet_row(uid, slug, event_type, date, source_url, rename) -> dict:
    return {
        "id": uid,
        "organisation_id": slug,
        "name_en": f"Organisation {slug}{rename}",
        "org_type": "union",
        "event_type": event_type,
        "announced_date": date,
        "stated_reason": f"Reason given for {uid}",
        "source_url": source_url,
        "source_quote": f"Quote about {uid}",
        "confidence": "medium",
    }


CONTENT = {
    Organisation: ["slug", "name_en", "review_state", "embargoed", "submitted_by_id"],
    Event: ["uid", "organisation_id", "event_type", "announced_on", "review_state", "embargoed"],
    Source: ["url", "title", "source_type"],
    Citation: ["event_id", "source_id", "quote"],
    Alias: ["organisation_id", "name"],
}


def snapshot() -> tuple:
    """What is stored, and how many versions the history holds: any write changes it."""
    rows = tuple(
        tuple(sorted(model.objects.values_list(*fields), key=repr))
        for model, fields in CONTENT.items()
    )
    versions = tuple(model.history.count() for model in CONTENT)
    return rows, versions


def outcome(result) -> tuple:
    if isinstance(result, ImportFailed):
        return ("failed", tuple(result.problems))
    rows = tuple((row.row, row.event_uid, row.organisation_slug, row.action) for row in result.rows)
    counts = {kind: dict(counter) for kind, counter in result.counts.items()}
    return ("imported", rows, sorted(counts.items()))


def import_outcome(**kwargs):
    try:
        return services.import_registry(**kwargs)
    except ImportFailed as failure:
        return failure


def streamed(response) -> list[dict]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def without_times(value):
    """The public representation with its change times left out: what the times describe."""
    if isinstance(value, dict):
        return {key: without_times(item) for key, item in value.items() if key != "updated_at"}
    if isinstance(value, list):
        return [without_times(item) for item in value]
    return value


class CurationMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example runs in its own transaction, rolled back at teardown.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        cache.clear()
        self.client = Client()
        self.public_views = {}
        superuser = get_user_model().objects.create_superuser("superuser", "su@example.org")
        self.users = {"superuser": superuser, **curation_team()}

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)
        cache.clear()

    @initialize(published=spreadsheet_rows, drafts=spreadsheet_rows)
    def import_the_curated_file(self, published, drafts):
        """Start from public records (a superuser's import) and a curator's drafts."""
        for rows, user, state in [
            (published, "superuser", ReviewState.PUBLISHED),
            (drafts, "curator", ReviewState.DRAFT),
        ]:
            self.import_spreadsheet_as(rows, self.users[user], state)

    # --- Steps ---------------------------------------------------------------------------

    def import_spreadsheet_as(self, rows, user, state):
        options = {"rows": [spreadsheet_row(*row) for row in rows], "review_state": state}
        before = snapshot()
        predicted = import_outcome(dry_run=True, user=user, **options)
        assert snapshot() == before, "the dry run wrote something"
        done = import_outcome(user=user, **options)
        assert outcome(predicted) == outcome(done)
        changed = not isinstance(done, ImportFailed) and done.changed
        assert (snapshot() != before) == changed, "the report and the writes disagree"

    def pick(self, model, index):
        records = list(model.objects.order_by("pk"))
        return records[index % len(records)] if records else None

    @rule(rows=spreadsheet_rows, user=st.sampled_from(USERS), into_review=st.booleans())
    def import_spreadsheet(self, rows, user, into_review):
        """Create records or re-import changed ones; the dry run must predict the import."""
        user = self.users[user]
        state = ReviewState.IN_REVIEW if into_review and services.is_reviewer(user) else "draft"
        self.import_spreadsheet_as(rows, user, state)

    def form_accepts(self, record) -> bool:
        """Whether the admin form would save the edit or show its errors instead."""
        try:
            record.full_clean()
        except ValidationError:
            return False
        return True

    @rule(index=indexes, event_type=st.sampled_from(EVENT_TYPES))
    def edit_event(self, index, event_type):
        """A curator's edit in the event form: saved, then the organisation refreshed."""
        event = self.pick(Event, index)
        if event is None:
            return
        event.event_type = event_type
        if not self.form_accepts(event):
            return
        event._history_user = self.users["curator"]
        event.save()
        services.refresh_organisation(organisation_id=event.organisation_id)

    @rule(index=indexes, name=st.sampled_from(["Renamed Union", "Another Name"]))
    def edit_organisation(self, index, name):
        organisation = self.pick(Organisation, index)
        if organisation is None:
            return
        organisation.name_en = name
        if not self.form_accepts(organisation):
            return
        organisation._history_user = self.users["curator"]
        organisation.save()
        services.refresh_organisation(organisation_id=organisation.pk)

    @rule(
        step=st.sampled_from(sorted(STEPS)),
        model=st.sampled_from([Organisation, Event]),
        index=indexes,
        user=st.sampled_from(USERS),
    )
    def workflow_step(self, step, model, index, user):
        record = self.pick(model, index)
        if record is None:
            return
        before = snapshot()
        try:
            STEPS[step](record=record, user=self.users[user], reason="A reason")
        except WorkflowRefused:
            assert snapshot() == before, f"a refused {step} wrote something"

    @rule(index=indexes, destination=indexes, user=st.sampled_from(USERS))
    def move_event(self, index, destination, user):
        event, organisation = self.pick(Event, index), self.pick(Organisation, destination)
        if event is None:
            return
        before = snapshot()
        try:
            services.move_event(
                record=event, organisation=organisation, user=self.users[user], reason="Moved"
            )
        except WorkflowRefused:
            assert snapshot() == before, "a refused move wrote something"

    def in_the_admin(self, user, step) -> None:
        """An admin step by `user`; a refused one (a published record's delete) writes nothing."""
        before = snapshot()
        try:
            step(SimpleNamespace(user=self.users[user]))
        except WorkflowRefused:
            assert snapshot() == before, "a refused delete wrote something"

    @rule(model=st.sampled_from([Organisation, Event]), index=indexes, user=st.sampled_from(USERS))
    def delete_in_the_admin(self, model, index, user):
        record = self.pick(model, index)
        if record is not None:
            self.in_the_admin(
                user, lambda request: admin.site._registry[model].delete_model(request, record)
            )

    @rule(index=indexes)
    def remove_an_events_citations_in_its_form(self, index):
        """The citation inline's deletions, then the form's refresh: the event, and so the
        record, may stop being public."""
        event = self.pick(Event, index)
        if event is not None:
            Citation.objects.filter(event=event).delete()
            services.refresh_organisation(organisation_id=event.organisation_id)

    @rule(index=indexes, user=st.sampled_from(USERS))
    def bulk_delete_events_in_the_admin(self, index, user):
        event = self.pick(Event, index)
        if event is not None:
            queryset = Event.objects.filter(organisation_id=event.organisation_id)
            self.in_the_admin(
                user, lambda request: admin.site._registry[Event].delete_queryset(request, queryset)
            )

    @rule(
        model=st.sampled_from([Organisation, Event]),
        index=indexes,
        user=st.sampled_from(USERS),
    )
    def revert(self, model, index, user):
        version = self.pick(model.history.model, index)
        if version is None:
            return
        version = model.history.model.objects.get(history_id=version.history_id)
        before = snapshot()
        try:
            services.revert_to_version(historical_record=version, user=self.users[user])
        except WorkflowRefused:
            assert snapshot() == before, "a refused revert wrote something"

    # --- What must always hold -----------------------------------------------------------

    def expected_public(self) -> tuple[set[str], set[str]]:
        """Organisation slugs and event IDs the public may see, from the raw rows."""
        cited = set(Citation.objects.values_list("event_id", flat=True))
        shown = [
            event
            for event in Event.objects.all()
            if event.review_state == ReviewState.PUBLISHED
            and not event.embargoed
            and event.pk in cited
        ]
        organisations = {
            organisation.pk: organisation.slug
            for organisation in Organisation.objects.all()
            if organisation.review_state == ReviewState.PUBLISHED
            and not organisation.embargoed
            and any(event.organisation_id == organisation.pk for event in shown)
        }
        events = {event.uid for event in shown if event.organisation_id in organisations}
        return set(organisations.values()), events

    @invariant()
    def public_channels_show_exactly_the_public_records(self):
        organisations, events = self.expected_public()
        assert set(Organisation.objects.public().values_list("slug", flat=True)) == organisations
        assert set(Event.objects.public().values_list("uid", flat=True)) == events
        cache.clear()  # the anonymous throttle would otherwise stop a long run
        api = self.client.get("/api/v1/organisations/?page_size=500").json()["results"]
        assert {row["id"] for row in api} == organisations
        api = self.client.get("/api/v1/events/?page_size=500").json()["results"]
        assert {row["id"] for row in api} == events
        exported = streamed(self.client.get("/api/v1/export/organisations.csv"))
        assert {row["organisation_id"] for row in exported} == organisations
        exported = streamed(self.client.get("/api/v1/export/events.csv"))
        assert {row["event_id"] for row in exported} == events
        # The listing's own queryset and facet counts (rendering the page would only add time).
        listing = OrganisationListView(request=RequestFactory().get("/en/organisations/"))
        assert listing.get_queryset().count() == len(organisations)
        counts = listing.filterset.facet_counts()
        for facet in ("org_type", "status"):
            assert sum(counts[facet].values()) == len(organisations), facet
        shown_events = Event.objects.public()
        assert sum(counts["event_type"].values()) == len(
            {(row.organisation_id, row.event_type) for row in shown_events}
        )

    @invariant()
    def stored_public_flags_and_facets_are_what_the_rule_gives(self):
        organisations, events = self.expected_public()
        flagged = Organisation.objects.filter(is_public=True).values_list("slug", flat=True)
        assert set(flagged) == organisations
        assert set(Event.objects.filter(is_public=True).values_list("uid", flat=True)) == events
        assert set(Organisation.objects.public_by_rule().values_list("slug", flat=True)) == (
            organisations
        )
        assert set(Event.objects.public_by_rule().values_list("uid", flat=True)) == events
        shown = Event.objects.filter(uid__in=events)
        stored = PublicEventFacet.objects.values_list("organisation_id", "facet", "value")
        assert set(stored) == PublicEventFacet.values_from_events(shown)

    @invariant()
    def derived_fields_are_what_the_events_give(self):
        for organisation in Organisation.objects.all():
            events = list(organisation.events.all())
            shown = list(organisation.events.public_regardless_of_organisation())
            kept = [event for event in events if event.review_state != ReviewState.WITHDRAWN]
            assert organisation.current_status == derive_status(kept), organisation.slug
            assert organisation.public_status == derive_status(shown), organisation.slug
            dates = [event.occurred_from for event in shown if event.occurred_from]
            assert organisation.public_latest_event_on == max(dates, default=None)
            assert organisation.search_text == organisation.build_search_text(
                aliases=organisation.aliases.values_list("name", flat=True), public_events=shown
            )

    @invariant()
    def the_public_change_time_moves_exactly_when_the_public_view_changes(self):
        """Compare each record's public API detail (its times aside) with the last step's."""
        cache.clear()
        views = {}
        for organisation in Organisation.objects.order_by("pk"):
            response = self.client.get(f"/api/v1/organisations/{organisation.slug}/")
            body = without_times(response.json()) if response.status_code == 200 else None
            views[organisation.pk] = (
                json.dumps(body, sort_keys=True),
                organisation.public_changed_at,
            )
        for pk, (view, changed_at) in views.items():
            if pk in self.public_views:
                view_before, changed_at_before = self.public_views[pk]
                assert (view != view_before) == (changed_at != changed_at_before), pk
        self.public_views = views

    @invariant()
    def nothing_was_published_by_its_submitter(self):
        for model in (Organisation, Event):
            previous = {}
            versions = model.history.order_by("id", "history_date", "history_id")
            for version in versions.select_related("history_user"):
                before = previous.get(version.id)
                previous[version.id] = version
                if version.review_state != ReviewState.PUBLISHED or version.history_type == "-":
                    continue
                if before is not None and before.review_state == ReviewState.PUBLISHED:
                    continue
                publisher = version.history_user
                if publisher is not None and publisher.is_superuser:
                    continue
                # Published by someone other than a superuser: only from review, by a reviewer
                # who did not submit it.
                assert before is not None and before.review_state == ReviewState.IN_REVIEW, (
                    f"{model.__name__} {version.id} published without review"
                )
                assert services.is_reviewer(publisher)
                assert version.submitted_by_id != publisher.pk, (
                    f"{model.__name__} {version.id} published by its submitter"
                )


@pytest.mark.django_db
def test_curation_invariants_hold_under_random_curator_and_reviewer_actions():
    run_state_machine_as_test(CurationMachine, settings=PROFILE)

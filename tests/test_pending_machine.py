"""Any sequence of proposals, decisions, reverts and deletes: the public view moves only when
a second person approves (issue 13.7), for organisations, events and the sources they cite."""

from django.db import transaction
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from closures import services
from closures.models import Event, EventType, Organisation, PendingChange, RegistryVersion
from closures.services.public_view import public_representation

from .scenario import AMNESTY, curation_team, spreadsheet_row

PROPOSALS = st.sampled_from(
    [
        ("organisation", {"name_en": "Union, renamed"}),
        ("organisation", {"acronym": "U"}),
        ("organisation", {"acronym": ""}),
        ("event", {"stated_reason_en": "A reason proposed later."}),
        ("event", {"event_type": EventType.SUSPENDED}),
        ("event", {"reasons": ["legal_risk"]}),
        ("source", {"title": "A report, retitled"}),
        ("source", {"publisher": "Another publisher", "published_on": "2021-07-01"}),
    ]
)
KINDS = st.sampled_from(["organisation", "event", "source"])
PEOPLE = st.sampled_from(["curator", "reviewer", "second_reviewer"])


class PendingChangeMachine(RuleBasedStateMachine):
    """Whatever people propose, approve, reject, revert or delete, the public view moves only
    on an approval by someone other than the proposer, and then shows exactly the approved
    values."""

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.users = curation_team()
        services.import_registry(
            rows=[spreadsheet_row(AMNESTY, "union-closed", stated_reason="First reason.")],
            review_state="published",
        )
        # The operator's import corrects all three directly: each has an earlier version to
        # revert to from the start.
        corrected = {**AMNESTY, "name_en": "Amnesty International (corrected)"}
        services.import_registry(
            rows=[
                spreadsheet_row(
                    corrected,
                    "union-closed",
                    stated_reason="Second reason.",
                    source_title="A corrected report",
                )
            ]
        )
        event = Event.objects.get(uid="union-closed")
        self.records = {
            "organisation": Organisation.objects.get(slug="amnesty"),
            "event": event,
            "source": event.citations.get().source,
        }
        self.expected = {kind: services.live_values(r) for kind, r in self.records.items()}
        self.public = self.public_state()

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def public_state(self):
        organisation = Organisation.objects.get(slug="amnesty")
        return (
            public_representation(organisation.pk),
            organisation.public_changed_at,
            RegistryVersion.objects.values_list("pk", "changed_at").first(),
        )

    @rule(proposal=PROPOSALS, person=PEOPLE)
    def propose(self, proposal, person):
        kind, values = proposal
        try:
            services.propose_change(
                record=self.records[kind], user=self.users[person], values=values
            )
        except services.WorkflowRefused:
            pass
        assert self.public_state() == self.public

    @rule(kind=KINDS, person=PEOPLE)
    def revert_to_the_first_version(self, kind, person):
        """A revert of a published record is a proposal like any edit (or refused)."""
        record = self.records[kind]
        version = type(record).history.filter(id=record.pk).earliest("history_date")
        try:
            services.revert_to_version(historical_record=version, user=self.users[person])
        except services.WorkflowRefused:
            pass
        assert self.public_state() == self.public

    @rule(kind=KINDS, person=PEOPLE)
    def delete(self, kind, person):
        """Nobody but a superuser deletes a published record or a source it cites."""
        record = type(self.records[kind]).objects.get(pk=self.records[kind].pk)
        try:
            services.delete_records(records=[record], user=self.users[person])
        except services.WorkflowRefused:
            pass
        else:
            raise AssertionError(f"{person} deleted a published {kind}")
        assert self.public_state() == self.public

    @rule(person=PEOPLE, approve=st.booleans())
    def decide(self, person, approve):
        change = PendingChange.objects.open().order_by("pk").first()
        if change is None:
            return
        kind = next(key for key in PendingChange.RECORD_KEYS if getattr(change, f"{key}_id"))
        user = self.users[person]
        try:
            if approve:
                services.approve_change(change=change, user=user)
            else:
                services.reject_change(change=change, user=user, reason="Not supported.")
        except services.WorkflowRefused:
            assert self.public_state() == self.public
            return
        if not approve:
            assert self.public_state() == self.public
            return
        assert change.proposed_by != user and services.is_reviewer(user)
        self.expected[kind].update(change.proposed)
        self.public = self.public_state()

    @invariant()
    def live_records_hold_only_approved_values(self):
        for kind, record in self.records.items():
            assert (
                services.live_values(type(record).objects.get(pk=record.pk))
                == (self.expected[kind])
            )


def test_the_public_view_changes_only_on_an_approval_by_a_second_person(db):
    run_state_machine_as_test(
        PendingChangeMachine,
        settings=hypothesis_settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

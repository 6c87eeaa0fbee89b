"""Writing parsed rows to the registry, validated by the models, and reporting what changed."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from ..models import (
    Alias,
    AliasKind,
    Citation,
    Event,
    Language,
    Organisation,
    Reason,
    ReviewState,
    Source,
    source_uid_for,
)
from .import_parser import (
    EVENT_COLUMNS,
    ORGANISATION_COLUMNS,
    SOURCE_COLUMNS,
    ParsedRow,
    ParsedSource,
)
from .public_version import is_public
from .spreadsheet import ImportProblem


@dataclass
class RowOutcome:
    row: int
    event_uid: str
    organisation_slug: str
    action: str


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[RowOutcome] = field(default_factory=list)
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def count(self, kind: str, action: str) -> None:
        self.counts[kind][action] += 1

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        lines = []
        for kind in ("organisations", "events", "sources", "citations"):
            counts = self.counts.get(kind, Counter())
            lines.append(
                f"{kind}: {counts['created']} {verb} created, {counts['updated']} {verb} "
                f"updated, {counts['unchanged']} unchanged"
            )
        return "\n".join(lines)

    @property
    def changed(self) -> bool:
        return any(counts["created"] or counts["updated"] for counts in self.counts.values())


def _primary_row(rows: list[ParsedRow]) -> ParsedRow:
    """Pick the row whose names become the organisation's own; the others become aliases.

    Rows of one organisation may name it differently ("… Student Union (executive
    committee)"); the shortest English name is the one without a qualifier.
    """
    return min(
        rows,
        key=lambda row: (
            not row.organisation["name_en"],
            len(row.organisation["name_en"]),
            len(row.organisation["name_zh"]),
        ),
    )


def _field_problems(error: ValidationError, row: int, columns: dict[str, str], rows: dict):
    for name, messages in error.message_dict.items():
        column = columns.get(name, name if name != "__all__" else "row")
        for message in messages:
            yield ImportProblem(rows.get(name, row), column, message)


class RegistryWriter:
    """Write parsed rows inside the caller's transaction, collecting what the models refuse."""

    def __init__(self, *, report: ImportReport, review_state: str, user, reason: str):
        self.report = report
        self.review_state = review_state
        self.user = user
        self.reason = reason
        self.problems: list[ImportProblem] = []
        self.sources_seen: dict[str, Source] = {}
        # Whether a written change touched an organisation the public saw or now sees.
        self.changed_public_data = False
        self.aliases_written = 0

    def save(self, instance, kind: str, changed: bool, created: bool) -> None:
        if not (created or changed):
            self.report.count(kind, "unchanged")
            return
        instance._change_reason = self.reason
        if self.user is not None:
            instance._history_user = self.user
        instance.save()
        self.report.count(kind, "created" if created else "updated")

    def validate(self, instance, row: int, columns: dict[str, str], exclude=(), rows=None) -> bool:
        """Run the model's own validation; `rows` says which row gave each field's value."""
        try:
            # The database enforces the check constraints; clean() and the field choices
            # already state each of them with a clearer message, without a query apiece.
            instance.full_clean(
                exclude=list(exclude), validate_unique=False, validate_constraints=False
            )
        except ValidationError as error:
            self.problems.extend(_field_problems(error, row, columns, rows or {}))
            return False
        return True

    def write_organisation(self, slug: str, rows: list[ParsedRow]) -> None:
        organisation = Organisation.objects.filter(slug=slug).first()
        was_public = organisation is not None and is_public(organisation.pk)
        writes_before = self.writes()
        self.write_organisation_rows(slug, organisation, rows)
        if self.writes() != writes_before and (
            was_public or Organisation.objects.public().filter(slug=slug).exists()
        ):
            self.changed_public_data = True

    def writes(self) -> int:
        counts = self.report.counts.values()
        return self.aliases_written + sum(count["created"] + count["updated"] for count in counts)

    def write_organisation_rows(self, slug: str, organisation, rows: list[ParsedRow]) -> None:
        primary = _primary_row(rows)
        created = organisation is None
        if created:
            organisation = Organisation(slug=slug, review_state=ReviewState.DRAFT)
        values = dict(primary.organisation)
        row_of_value = dict.fromkeys(values, primary.number)
        for row in rows:  # Fill what the primary row leaves blank, e.g. a Chinese name.
            for name, value in row.organisation.items():
                if value not in ("", None) and values.get(name) in ("", None):
                    values[name], row_of_value[name] = value, row.number
        changed = _assign(organisation, values)
        columns = {name: column for column, name in ORGANISATION_COLUMNS.items()}
        if not self.validate(
            organisation, primary.number, columns, exclude=["review_state"], rows=row_of_value
        ):
            return
        self.save(organisation, "organisations", changed, created)
        self.write_aliases(organisation, rows)
        any_event_changed = False
        for row in rows:
            any_event_changed |= self.write_event(organisation, row)
        if created and self.review_state != ReviewState.DRAFT:
            self.set_state_of_new_organisation(organisation, primary)
        if created or any_event_changed:
            organisation.refresh_derived_fields()
            organisation.save_without_historical_record()
        status = (
            "created" if created else "updated" if changed or any_event_changed else "unchanged"
        )
        for row in rows:
            self.report.rows.append(RowOutcome(row.number, row.event["uid"], slug, status))

    def set_state_of_new_organisation(self, organisation: Organisation, primary: ParsedRow):
        organisation.review_state = self.review_state
        if self.review_state == ReviewState.PUBLISHED:
            organisation.first_published_at = timezone.now()
        elif self.review_state == ReviewState.IN_REVIEW:
            organisation.submitted_by = self.user
        if self.validate(organisation, primary.number, {}):
            organisation._change_reason = self.reason
            organisation.save()

    def write_aliases(self, organisation: Organisation, rows: list[ParsedRow]) -> None:
        own_names = {organisation.name_en, organisation.name_zh}
        wanted = {}
        for row in rows:
            for name, language in (
                (row.organisation["name_en"], Language.ENGLISH),
                (row.organisation["name_zh"], Language.CHINESE_TRADITIONAL),
            ):
                if name and name not in own_names:
                    wanted.setdefault(name, language)
        existing = set(organisation.aliases.values_list("name", flat=True))
        for name, language in wanted.items():
            if name not in existing:
                alias = Alias(
                    organisation=organisation,
                    name=name,
                    language=language,
                    kind=AliasKind.OTHER_FORM,
                )
                alias._change_reason = self.reason
                alias.save()
                self.aliases_written += 1

    def write_event(self, organisation: Organisation, row: ParsedRow) -> bool:
        event = Event.objects.filter(uid=row.event["uid"]).first()
        created = event is None
        if created:
            event = Event(uid=row.event["uid"], review_state=self.review_state)
        elif event.organisation_id != organisation.pk:
            self.problems.append(
                ImportProblem(
                    row.number,
                    "organisation_id",
                    f"Event {event.uid!r} belongs to organisation {event.organisation.slug!r}; "
                    "an event cannot move between organisations by import.",
                )
            )
            return False
        changed = _assign(event, {"organisation": organisation, **row.event})
        columns = {name: column for column, name in EVENT_COLUMNS.items()}
        columns.update(announced_precision="announced_date", effective_precision="effective_date")
        if not self.validate(event, row.number, columns):
            return False
        # Dates of partial precision are stored as the first day of their period.
        self.save(event, "events", changed, created)
        reasons_changed = set(event.reasons.values_list("code", flat=True)) != set(row.reasons)
        if reasons_changed:
            event.reasons.set(Reason.objects.filter(code__in=row.reasons))
            if not (created or changed):
                self.report.counts["events"]["unchanged"] -= 1
                self.report.count("events", "updated")
        citations_changed = False
        for parsed_source in row.sources:
            citations_changed |= self.write_citation(event, row.number, parsed_source)
        return created or changed or reasons_changed or citations_changed

    def write_citation(self, event: Event, row: int, parsed: ParsedSource) -> bool:
        source = self.write_source(row, parsed)
        if source is None:
            return False
        citation = Citation.objects.filter(event=event, source=source).first()
        created = citation is None
        if created:
            citation = Citation(event=event, source=source)
        changed = _assign(citation, {"quote": parsed.quote, "claims": parsed.values["claims"]})
        if not self.validate(
            citation, row, {"quote": f"{parsed.column_prefix}_quote"}, exclude=["event", "source"]
        ):
            return False
        self.save(citation, "citations", changed, created)
        return created or changed

    def write_source(self, row: int, parsed: ParsedSource) -> Source | None:
        values = {key: value for key, value in parsed.values.items() if key != "claims"}
        url = values["url"]
        if url in self.sources_seen:
            # A source cited by several rows takes its details from the first row naming it.
            return self.sources_seen[url]
        source = Source.objects.filter(url=url).first()
        created = source is None
        if created:
            source = Source(url=url, uid=source_uid_for(url))
        # Details a curator filled in are kept when the spreadsheet leaves them blank.
        changed = _assign(source, {k: v for k, v in values.items() if v not in ("", None)})
        columns = {
            name: f"{parsed.column_prefix}_{column}" for column, name in SOURCE_COLUMNS.items()
        }
        if not self.validate(source, row, columns):
            return None
        self.save(source, "sources", changed, created)
        self.sources_seen[url] = source
        return source


def _assign(instance, values: dict[str, Any]) -> bool:
    """Set field values on a model instance and say whether any of them changed."""
    changed = False
    for name, value in values.items():
        if name == "organisation":
            if instance.organisation_id != value.pk:
                instance.organisation = value
                changed = True
            continue
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    return changed

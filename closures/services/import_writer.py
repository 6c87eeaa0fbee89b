"""Writing parsed rows to the registry, validated by the models, and reporting what changed."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

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
from .derived import refresh_organisation
from .import_merge import ImportConflict, Merger, MergeRules, Unit, save_baseline, units_from
from .import_parser import (
    ALIASES_COLUMN,
    EVENT_COLUMNS,
    ORGANISATION_COLUMNS,
    PARENT_COLUMN,
    REASONS_COLUMN,
    SOURCE_COLUMNS,
    ParsedRow,
    ParsedSource,
)
from .pending import edits_published_directly, field_value, is_published, proposable_fields
from .spreadsheet import ImportProblem
from .workflow import record_name


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
    # Values changed by a person since the last import, kept rather than overwritten.
    conflicts: list[ImportConflict] = field(default_factory=list)
    # Header names the import does not read: reported, never silently dropped.
    unknown_columns: list[str] = field(default_factory=list)

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
        if self.conflicts:
            lines.append(
                f"{len(self.conflicts)} value(s) changed since the last import kept, not "
                "overwritten (conflicts; --prefer-file or ticking them overwrites):"
            )
            lines.extend(f"  {conflict}" for conflict in self.conflicts)
        if aliases := self.counts.get("aliases"):
            lines.append(f"aliases: {aliases['created']} {verb} added")
        if self.unknown_columns:
            lines.append(
                "columns not recognised, so not imported: " + ", ".join(self.unknown_columns)
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

    def __init__(
        self,
        *,
        report: ImportReport,
        review_state: str,
        user,
        reason: str,
        rules: MergeRules | None = None,
    ):
        self.report = report
        self.merger = Merger(rules or MergeRules(), report.conflicts)
        self.review_state = review_state
        self.user = user
        self.reason = reason
        self.problems: list[ImportProblem] = []
        self.sources_seen: dict[str, Source] = {}
        # An edit of what the public sees waits for a reviewer (services.pending); an import
        # cannot wait, so a person's import that would make one is refused row by row.
        self.edits_published = edits_published_directly(user)

    def public_values(self, record) -> dict | None:
        """What the public sees of a published record that this import may not change."""
        if (
            self.edits_published
            or record.pk is None
            or record.review_state != ReviewState.PUBLISHED
        ):
            return None
        names = proposable_fields(type(record))
        return {
            name: field_value(record, name)
            for name in names
            if not record._meta.get_field(name).many_to_many
        }

    def hold_back(self, record, row: int, column: str) -> None:
        published = (
            "is cited by a published event" if isinstance(record, Source) else "is published"
        )
        self.problems.append(
            ImportProblem(
                row,
                column,
                f"{record_name(record)} {published}, and this row changes what the public "
                "sees of it. A change to a published record waits for a reviewer, which an "
                "import cannot do: edit it in the admin (the change then waits for a "
                "reviewer), or leave the row out.",
            )
        )

    def save(self, instance, kind: str, changed: bool, created: bool, baseline=None) -> None:
        """Save a new or changed record; otherwise store only a baseline that moved."""
        if not (created or changed):
            self.report.count(kind, "unchanged")
            if baseline is not None and baseline != instance.import_baseline:
                save_baseline(instance)
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
        columns = {name: column for column, name in ORGANISATION_COLUMNS.items()}
        baseline = dict(organisation.import_baseline)
        published = self.public_values(organisation)
        present = frozenset().union(*(row.columns for row in rows))
        changed = self.merger.assign(
            organisation,
            units_from(values, columns, present - {"organisation_id"}),
            kind="organisation",
            record=slug,
            row=primary.number,
            created=created,
        )
        parent_row = next((row for row in rows if row.parent_slug), None)
        if parent_row is not None:
            # Parents are written before their sub-bodies (see `parents_first`).
            parent = Organisation.objects.filter(slug=parent_row.parent_slug).first()
            if parent is None:
                self.problems.append(
                    ImportProblem(
                        parent_row.number,
                        PARENT_COLUMN,
                        f"No organisation {parent_row.parent_slug!r} in the registry or in "
                        "this file.",
                    )
                )
                return
            if organisation.parent_organisation_id != parent.pk:
                organisation.parent_organisation = parent
                changed = True
            row_of_value["parent_organisation"] = parent_row.number
        columns["parent_organisation"] = PARENT_COLUMN
        if not self.validate(
            organisation, primary.number, columns, exclude=["review_state"], rows=row_of_value
        ):
            return
        if published is not None and self.public_values(organisation) != published:
            self.hold_back(organisation, primary.number, "organisation_id")
            return
        self.save(organisation, "organisations", changed, created, baseline)
        aliases_changed = self.write_aliases(organisation, rows, primary)
        any_event_changed = False
        for row in rows:
            any_event_changed |= self.write_event(organisation, row)
        if created and self.review_state != ReviewState.DRAFT:
            self.set_state_of_new_organisation(organisation, primary)
        if organisation.pk is not None:
            # Aliases, events and citations may have changed what the public sees.
            refresh_organisation(organisation_id=organisation.pk)
        status = (
            "created"
            if created
            else "updated"
            if changed or any_event_changed or aliases_changed
            else "unchanged"
        )
        for row in rows:
            self.report.rows.append(RowOutcome(row.number, row.event["uid"], slug, status))

    def set_state_of_new_organisation(self, organisation: Organisation, primary: ParsedRow):
        organisation.review_state = self.review_state
        if self.review_state == ReviewState.IN_REVIEW:
            organisation.submitted_by = self.user
        if self.validate(organisation, primary.number, {}):
            organisation._change_reason = self.reason
            organisation.save()

    def write_aliases(self, organisation: Organisation, rows: list[ParsedRow], primary) -> bool:
        """Add the `aliases` column's names and other rows' names; an import removes none.

        The file's own names for the organisation never become aliases, even where a
        curator's renaming was kept over them.
        """
        own_names = {
            organisation.name_en,
            organisation.name_zh,
            primary.organisation["name_en"],
            primary.organisation["name_zh"],
        }
        wanted = {}
        for row in rows:
            for name in row.aliases or []:
                if name not in own_names:
                    wanted.setdefault(name, (alias_language(name), AliasKind.ALIAS))
        for row in rows:
            for name, language in (
                (row.organisation["name_en"], Language.ENGLISH),
                (row.organisation["name_zh"], Language.CHINESE_TRADITIONAL),
            ):
                if name and name not in own_names:
                    wanted.setdefault(name, (language, AliasKind.OTHER_FORM))
        existing = set(organisation.aliases.values_list("name", flat=True))
        added = False
        for name, (language, kind) in wanted.items():
            if name in existing:
                continue
            alias = Alias(organisation=organisation, name=name, language=language, kind=kind)
            if not self.validate(alias, rows[0].number, {"name": ALIASES_COLUMN}, ["organisation"]):
                continue
            if self.public_values(organisation) is not None:
                self.hold_back(organisation, rows[0].number, ALIASES_COLUMN)
                return False
            alias._change_reason = self.reason
            alias.save()
            self.report.count("aliases", "created")
            added = True
        return added

    def write_event(self, organisation: Organisation, row: ParsedRow) -> bool:
        event = Event.objects.filter(uid=row.event["uid"]).first()
        created = event is None
        if created:
            event = Event(uid=row.event["uid"], review_state=self.review_state)
            if self.review_state == ReviewState.IN_REVIEW:
                event.submitted_by = self.user  # four eyes: another reviewer publishes it
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
        if created:
            event.organisation = organisation
        columns = {name: column for column, name in EVENT_COLUMNS.items()}
        columns.update(announced_precision="announced_date", effective_precision="effective_date")
        baseline = dict(event.import_baseline)
        published = self.public_values(event)
        changed = self.merger.assign(
            event,
            units_from(row.event, columns, row.columns - {"id"}),
            kind="event",
            record=event.uid,
            row=row.number,
            created=created,
        )
        reasons_changed = False
        if REASONS_COLUMN in row.columns:
            current = sorted(event.reasons.values_list("code", flat=True)) if not created else []
            reasons_changed = self.merger.take(
                event,
                REASONS_COLUMN,
                current,
                sorted(row.reasons),
                created=created,
                conflict=ImportConflict(
                    "event", event.uid, REASONS_COLUMN, current, sorted(row.reasons), row.number
                ),
            )
        if not self.validate(event, row.number, columns):
            return False
        if published is not None and (reasons_changed or self.public_values(event) != published):
            self.hold_back(event, row.number, "id")
            return False
        # Dates of partial precision are stored as the first day of their period.
        self.save(event, "events", changed, created, baseline)
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
        prefix = parsed.column_prefix
        baseline = dict(citation.import_baseline)
        # Claims follow from the event type, which every file has.
        units = [Unit("claims", "event_type", {"claims": parsed.values["claims"]})]
        if f"{prefix}_quote" in parsed.columns:
            units.append(Unit("quote", f"{prefix}_quote", {"quote": parsed.quote}))
        changed = self.merger.assign(
            citation,
            units,
            kind="citation",
            record=f"{event.uid} ← {source.url}",
            row=row,
            created=created,
        )
        if not self.validate(citation, row, {"quote": f"{prefix}_quote"}, ["event", "source"]):
            return False
        if (created or changed) and self.public_values(event) is not None:
            self.hold_back(event, row, f"{prefix}_url")
            return False
        self.save(citation, "citations", changed, created, baseline)
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
        columns = {
            name: f"{parsed.column_prefix}_{column}" for column, name in SOURCE_COLUMNS.items()
        }
        baseline = dict(source.import_baseline)
        changed = self.merger.assign(
            source,
            units_from(
                {k: v for k, v in values.items() if k != "url"},
                columns,
                parsed.columns,
                prefix=parsed.column_prefix,
            ),
            kind="source",
            record=url,
            row=row,
            created=created,
        )
        if not self.validate(source, row, columns):
            return None
        if changed and not created and not self.edits_published and is_published(source):
            self.hold_back(source, row, f"{parsed.column_prefix}_url")
            return None
        self.save(source, "sources", changed, created, baseline)
        self.sources_seen[url] = source
        return source


def alias_language(name: str) -> str:
    """Chinese when the name has a CJK ideograph, else English: what the public search needs."""
    if any(
        "\u3400" <= character <= "\u9fff" or "\uf900" <= character <= "\ufaff" for character in name
    ):
        return Language.CHINESE_TRADITIONAL
    return Language.ENGLISH

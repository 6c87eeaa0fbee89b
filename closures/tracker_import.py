"""Loading other trackers' lists (`trackers.csv` plus one CSV per tracker) and matching them.

All or nothing, like the registry import: every problem is named by file, row and column, and
nothing is written while any remains. Running it twice changes nothing. Each entry is matched
to a registry record: the file's `organisation_id` is a confirmed match once a record with that
ID exists; otherwise the duplicate finder proposes one from the entry's names, aliases and
acronyms in both languages, for a curator to confirm. A curator's decision is never undone by
a later import.
"""

import csv
import itertools
import re
from collections import Counter, defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from .coverage import moving_the_data_version_if_coverage_changes
from .dates import parse_partial_date
from .duplicates import CJK, DuplicateFinder, normalise_name
from .models import (
    ClaimQualifier,
    DecisionSource,
    EntryDecision,
    Organisation,
    Tracker,
    TrackerEntry,
)

TRACKER_FILE = "trackers.csv"
TRACKER_COLUMNS = (
    "tracker_id",
    "title",
    "publisher",
    "url",
    "published_date",
    "claimed_count",
    "scope",
    "entries_read",
    "completeness",
)
ENTRY_COLUMNS = (
    "tracker_id",
    "position",
    "name_as_listed",
    "name_en",
    "name_zh",
    "date_as_listed",
    "category_as_listed",
    "organisation_id",
)
# Spreadsheet rows are numbered as a spreadsheet program shows them: the header is row 1.
FIRST_DATA_ROW = 2
CLAIM_PATTERN = re.compile(r"^(?P<nearly>~)?(?P<count>\d+)(?P<more>\+)?$")
SLUG_PATTERN = re.compile(r"^[-a-zA-Z0-9_]+$")
# "Progressive Lawyers Group (PLG)": a short run of capitals is an acronym, not a name.
ACRONYM_PATTERN = re.compile(r"^[A-Z][A-Z0-9&.\-]{1,11}$")
QUOTE_MARKS = "《》〈〉「」『』\"'“”‘’"
TRACKER_FIELDS = ("title", "publisher", "url", "scope", "completeness")
# Model fields named by the file column their value came from, so a problem names the column.
COLUMN_OF_FIELD = {
    "slug": "tracker_id",
    "published_on": "published_date",
    "published_precision": "published_date",
    "claimed_qualifier": "claimed_count",
    "listed_organisation_slug": "organisation_id",
    "sequence": "position",
}
ENTRY_FIELDS = (
    "sequence",
    "name_as_listed",
    "name_en",
    "name_zh",
    "date_as_listed",
    "category_as_listed",
    "listed_organisation_slug",
)


@dataclass(frozen=True)
class TrackerImportProblem:
    file: str
    row: int
    column: str
    message: str

    def __str__(self):
        return f"{self.file}, row {self.row}, column {self.column}: {self.message}"


class TrackerImportFailed(Exception):
    """Raised when any file or row is invalid; nothing has been written."""

    def __init__(self, problems: list[TrackerImportProblem]):
        self.problems = sorted(problems, key=lambda p: (p.file != TRACKER_FILE, p.file, p.row))
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass
class TrackerImportReport:
    dry_run: bool = False
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    decisions: Counter = field(default_factory=Counter)
    # Registry IDs the files name that no record has (yet): those entries stay unmatched.
    unknown_ids: set[str] = field(default_factory=set)

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        lines = []
        for kind in ("trackers", "entries"):
            counts = self.counts.get(kind, Counter())
            lines.append(
                f"{kind}: {counts['created']} {verb} created, {counts['updated']} {verb} "
                f"updated, {counts['unchanged']} unchanged, {counts['removed']} {verb} removed"
            )
        lines.append(
            "entries by decision: "
            + ", ".join(f"{decision} {count}" for decision, count in sorted(self.decisions.items()))
        )
        if self.unknown_ids:
            lines.append(
                f"{len(self.unknown_ids)} registry IDs named in the files are not in this "
                f"registry: {', '.join(sorted(self.unknown_ids))}"
            )
        return "\n".join(lines)


# --- Reading and checking the files -----------------------------------------------------


@dataclass
class ParsedTracker:
    row: int
    values: dict
    entries_read: int | None
    # False when the row itself has a problem: it is then not validated against the model too.
    valid: bool = True
    entries: list[dict] = field(default_factory=list)


class _Files:
    """Read the directory, collecting every problem instead of stopping at the first."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.problems: list[TrackerImportProblem] = []

    def problem(self, file: str, row: int, column: str, message: str) -> None:
        self.problems.append(TrackerImportProblem(file, row, column, message))

    def read(self, name: str, columns: tuple[str, ...]) -> list[dict] | None:
        path = self.directory / name
        try:
            text = path.read_bytes().decode("utf-8-sig")
            reader = csv.DictReader(text.splitlines(keepends=True))
            header = [(column or "").strip() for column in reader.fieldnames or []]
            rows = [dict(row) for row in reader]
        except FileNotFoundError:
            self.problem(name, 1, "file", "The file is missing.")
            return None
        except UnicodeDecodeError as error:
            self.problem(name, 1, "file", f"Not UTF-8 text ({error.reason}).")
            return None
        except csv.Error as error:
            self.problem(name, 1, "file", f"Unreadable CSV: {error}")
            return None
        missing = [column for column in columns if column not in header]
        for column in missing:
            self.problem(name, 1, column, "The header row lacks this column.")
        if missing:
            return None
        cleaned = []
        for number, row in enumerate(rows, start=FIRST_DATA_ROW):
            values = {column: (row.get(column) or "").strip() for column in columns}
            for column, value in values.items():
                if "\x00" in value:
                    self.problem(name, number, column, "Contains a NUL character.")
            cleaned.append(values)
        return cleaned

    def trackers(self) -> list[ParsedTracker]:
        rows = self.read(TRACKER_FILE, TRACKER_COLUMNS)
        if rows is None:
            return []
        parsed, first_row = [], {}
        for number, row in enumerate(rows, start=FIRST_DATA_ROW):
            tracker = self.tracker(number, row)
            slug = tracker.values["slug"]
            if slug in first_row:
                self.problem(
                    TRACKER_FILE,
                    number,
                    "tracker_id",
                    f"{slug!r} already in row {first_row[slug]}.",
                )
                continue
            first_row[slug] = number
            parsed.append(tracker)
        listed = {f"{tracker.values['slug']}.csv" for tracker in parsed}
        for path in sorted(self.directory.glob("*.csv")):
            if path.name != TRACKER_FILE and path.name not in listed:
                self.problem(path.name, 1, "file", f"No tracker of this name in {TRACKER_FILE}.")
        for tracker in parsed:
            if SLUG_PATTERN.match(tracker.values["slug"]):
                self.entries(tracker)
        return parsed

    def tracker(self, number: int, row: dict) -> ParsedTracker:
        problems_before = len(self.problems)

        def problem(column, message):
            self.problem(TRACKER_FILE, number, column, message)

        for column in ("tracker_id", "title", "publisher", "url", "completeness"):
            if not row[column]:
                problem(column, "This column is required.")
        if row["tracker_id"] and not SLUG_PATTERN.match(row["tracker_id"]):
            problem("tracker_id", "Use only letters, digits, hyphens and underscores.")
        values = {
            "slug": row["tracker_id"],
            **{name: row[name] for name in ("title", "publisher", "url", "scope", "completeness")},
            "published_on": None,
            "published_precision": "",
            "claimed_count": None,
            "claimed_qualifier": "",
        }
        if row["published_date"]:
            try:
                values["published_on"], values["published_precision"] = parse_partial_date(
                    row["published_date"]
                )
            except ValueError as error:
                problem("published_date", str(error))
        if row["claimed_count"]:
            match = CLAIM_PATTERN.match(row["claimed_count"])
            if not match or (match["nearly"] and match["more"]):
                problem("claimed_count", "Write the count as N, N+ (more than) or ~N (nearly).")
            else:
                values["claimed_count"] = int(match["count"])
                values["claimed_qualifier"] = (
                    ClaimQualifier.NEARLY
                    if match["nearly"]
                    else ClaimQualifier.MORE_THAN
                    if match["more"]
                    else ClaimQualifier.AT_LEAST
                )
        entries_read = None
        if not row["entries_read"].isdigit():
            problem("entries_read", "Give the number of entries read, a whole number.")
        else:
            entries_read = int(row["entries_read"])
        valid = len(self.problems) == problems_before
        return ParsedTracker(number, values, entries_read, valid)

    def entries(self, tracker: ParsedTracker) -> None:
        slug = tracker.values["slug"]
        name = f"{slug}.csv"
        rows = self.read(name, ENTRY_COLUMNS)
        if rows is None:
            return
        if tracker.entries_read is not None and tracker.entries_read != len(rows):
            self.problem(
                TRACKER_FILE,
                tracker.row,
                "entries_read",
                f"Says {tracker.entries_read} entries, but {name} has {len(rows)}.",
            )
        first_row: dict[str, int] = {}
        for number, row in enumerate(rows, start=FIRST_DATA_ROW):
            problems_before = len(self.problems)
            if row["tracker_id"] != slug:
                self.problem(name, number, "tracker_id", f"Expected {slug!r}, the file's tracker.")
            for column in ("position", "name_as_listed"):
                if not row[column]:
                    self.problem(name, number, column, "This column is required.")
            position = row["position"]
            if position in first_row:
                self.problem(
                    name, number, "position", f"{position!r} already in row {first_row[position]}."
                )
            first_row.setdefault(position, number)
            if row["organisation_id"] and not SLUG_PATTERN.match(row["organisation_id"]):
                self.problem(name, number, "organisation_id", "Not a registry ID.")
            tracker.entries.append(
                {
                    "row": number,
                    "valid": len(self.problems) == problems_before,
                    "position": position,
                    "sequence": number - FIRST_DATA_ROW + 1,
                    "name_as_listed": row["name_as_listed"],
                    "name_en": row["name_en"],
                    "name_zh": row["name_zh"],
                    "date_as_listed": row["date_as_listed"],
                    "category_as_listed": row["category_as_listed"],
                    "listed_organisation_slug": row["organisation_id"],
                }
            )


# --- Matching ---------------------------------------------------------------------------


def candidate_names(*, name_as_listed: str, name_en: str = "", name_zh: str = "") -> list[str]:
    """Every name an entry gives: its English and Chinese names, and each part of the name as
    listed, so "民間人權陣線(民陣 Civil Human Rights Front)" is tried as 民間人權陣線, 民陣 and
    Civil Human Rights Front, and "Progressive Lawyers Group (PLG)" also as the acronym PLG.
    """
    names = [name_en, name_zh]
    listed = name_as_listed.translate({ord(mark): " " for mark in QUOTE_MARKS})
    for part in re.split(r"[()（）\[\]【】/／]", listed):
        names.append(part)
        # A bracket may hold a Chinese short name and an English name side by side.
        runs = itertools.groupby(part.split(), key=lambda word: bool(CJK.search(word)))
        names.extend(" ".join(words) for _, words in runs)
    seen, result = set(), []
    for name in (name.strip(" ,;:-–") for name in names):
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            result.append(name)
    return result


class EntryMatcher:
    """Propose a registry record for a tracker entry from its names, through the duplicate
    finder, so tracker matching and duplicate warnings agree on what "the same name" means.
    """

    def __init__(self, organisations=None):
        self.finder = DuplicateFinder(
            Organisation.objects.all() if organisations is None else organisations
        )
        # Names other trackers gave to records they were matched to (支聯會, 教協, 民陣): the
        # registry may not list a group's everyday short name, the trackers do.
        self.tracker_names: dict[str, set] = defaultdict(set)
        by_pk = {organisation.pk: organisation for organisation in self.finder.organisations}
        confirmed = TrackerEntry.objects.filter(
            decision=EntryDecision.MATCHED, organisation__in=list(by_pk)
        ).values_list("organisation_id", "name_as_listed", "name_en", "name_zh")
        for organisation_id, *names in confirmed:
            for name in candidate_names(
                name_as_listed=names[0], name_en=names[1], name_zh=names[2]
            ):
                if key := normalise_name(name):
                    self.tracker_names[key].add(by_pk[organisation_id])

    def propose(self, *, name_as_listed: str, name_en: str = "", name_zh: str = ""):
        """Return the organisation most of the entry's names point to, or None when they point
        nowhere or to several records equally (a curator then decides).
        """
        votes: Counter = Counter()
        by_pk = {}
        for name in candidate_names(
            name_as_listed=name_as_listed, name_en=name_en, name_zh=name_zh
        ):
            if ACRONYM_PATTERN.match(name):
                found = self.finder.find(acronym=name)
            else:
                found = self.finder.find(name_en=name)
            found = [*found, *self.tracker_names.get(normalise_name(name), ())]
            for organisation in set(found):
                votes[organisation.pk] += 1
                by_pk[organisation.pk] = organisation
        ranked = votes.most_common(2)
        if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
            return None
        return by_pk[ranked[0][0]]


# --- Writing ----------------------------------------------------------------------------


def import_trackers(*, directory: Path | str, dry_run: bool = False) -> TrackerImportReport:
    """Create or update trackers and their entries from a directory of tracker files."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TrackerImportFailed(
            [TrackerImportProblem(str(directory), 0, "directory", "No such directory.")]
        )
    files = _Files(directory)
    parsed = files.trackers()
    report = TrackerImportReport(dry_run=dry_run)
    # A dry run is rolled back: it changes nothing the public sees.
    version_guard = nullcontext() if dry_run else moving_the_data_version_if_coverage_changes()
    with transaction.atomic():
        with version_guard:
            # Rows that parsed are still validated against the models (in this transaction,
            # which a problem rolls back), so one pass reports every problem, not just the
            # first kind.
            writer = _TrackerWriter(report)
            for tracker in parsed:
                if tracker.valid:
                    writer.write(tracker)
            problems = files.problems + writer.problems
            if problems:
                raise TrackerImportFailed(problems)
        if dry_run:
            transaction.set_rollback(True)
    return report


class _TrackerWriter:
    def __init__(self, report: TrackerImportReport):
        self.report = report
        self.problems: list[TrackerImportProblem] = []
        self.matcher = EntryMatcher()
        self.organisations_by_slug = {
            organisation.slug: organisation for organisation in self.matcher.finder.organisations
        }

    def validate(self, instance, file: str, row: int, exclude=()) -> bool:
        try:
            instance.full_clean(exclude=list(exclude), validate_unique=False)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                column = COLUMN_OF_FIELD.get(name, name if name != "__all__" else "row")
                for message in messages:
                    self.problems.append(TrackerImportProblem(file, row, column, message))
            return False
        return True

    def write(self, parsed: ParsedTracker) -> None:
        values = parsed.values
        tracker = Tracker.objects.filter(slug=values["slug"]).first()
        created = tracker is None
        tracker = tracker or Tracker(slug=values["slug"])
        changed = _assign(tracker, values)
        if not self.validate(tracker, TRACKER_FILE, parsed.row):
            return
        if created or changed:
            tracker.save()
        self.report.counts["trackers"][
            "created" if created else "updated" if changed else "unchanged"
        ] += 1
        existing = {entry.position: entry for entry in tracker.entries.all()} if not created else {}
        file = f"{values['slug']}.csv"
        for row in parsed.entries:
            entry = existing.pop(row["position"], None)
            if row["valid"]:
                self.write_entry(tracker, entry, row, file)
        if existing:
            TrackerEntry.objects.filter(pk__in=[entry.pk for entry in existing.values()]).delete()
            self.report.counts["entries"]["removed"] += len(existing)

    def write_entry(self, tracker: Tracker, entry: TrackerEntry | None, row: dict, file: str):
        created = entry is None
        entry = entry or TrackerEntry(tracker=tracker, position=row["position"])
        changed = _assign(entry, {name: row[name] for name in ENTRY_FIELDS})
        if entry.decided_by_source != DecisionSource.CURATOR:
            changed |= _assign(entry, self.match(row))
        if not self.validate(entry, file, row["row"], exclude=["tracker"]):
            return
        if created or changed:
            entry.save()
        self.report.counts["entries"][
            "created" if created else "updated" if changed else "unchanged"
        ] += 1
        self.report.decisions[entry.decision] += 1

    def match(self, row: dict) -> dict:
        slug = row["listed_organisation_slug"]
        if slug and slug in self.organisations_by_slug:
            return {
                "organisation": self.organisations_by_slug[slug],
                "decision": EntryDecision.MATCHED,
                "decided_by_source": DecisionSource.TRACKER_FILE,
            }
        if slug:
            self.report.unknown_ids.add(slug)
        proposal = self.matcher.propose(
            name_as_listed=row["name_as_listed"], name_en=row["name_en"], name_zh=row["name_zh"]
        )
        return {
            "organisation": proposal,
            "decision": EntryDecision.PROPOSED if proposal else EntryDecision.NOT_IN_REGISTRY,
            "decided_by_source": DecisionSource.NAME_MATCH,
        }


def _assign(instance, values: dict) -> bool:
    """Set field values on a model instance and say whether any of them changed."""
    changed = False
    for name, value in values.items():
        if name == "organisation":
            if instance.organisation_id != (value.pk if value else None):
                instance.organisation = value
                changed = True
        elif getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    return changed

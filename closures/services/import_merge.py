"""How a re-import merges a file's values with what curators did since the last import.

The rules (the README's import section states them for curators):

- a column absent from the file leaves the field untouched;
- an empty cell leaves the field untouched, unless the import is asked to clear blanks;
- a value a person changed since the last import (it differs from what that import wrote)
  is kept and reported as an `ImportConflict`, unless the import is told to prefer the file,
  for every conflict (`prefer_file`) or for chosen ones (`overwrite`, the admin's ticks).

"What the last import wrote" is each record's `import_baseline`: a JSON object of the plain
values the import wrote or confirmed, per column. It is kept on the record itself rather than
derived from django-simple-history, because a history version is a snapshot of every field:
it cannot say which fields the import wrote (a version saved by an import also carries a
curator's earlier edit of a column the file lacked, which would then pass for imported), an
import that changed nothing leaves no version, and a change reason is free text anyone can
type. The baseline is written in the import's transaction, so a dry run, which rolls back,
sees exactly what the import would.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import models

BLANK_VALUES = ("", None, [])


@dataclass(frozen=True)
class ImportConflict:
    """A value changed by a person since the last import, which the file would replace."""

    kind: str  # organisation, event, source or citation
    record: str  # its permanent ID: slug, event ID, URL, or "event ID ← URL"
    column: str
    current: Any
    file: Any
    row: int

    @property
    def key(self) -> str:
        """Names the conflict in the admin's ticks and in `overwrite`."""
        return f"{self.kind}|{self.record}|{self.column}"

    def __str__(self):
        return (
            f"row {self.row}, {self.kind} {self.record}, column {self.column}: kept "
            f"{_shown(self.current)} (changed since the last import); the file says "
            f"{_shown(self.file)}"
        )


@dataclass(frozen=True)
class MergeRules:
    clear_blanks: bool = False
    prefer_file: bool = False
    overwrite: frozenset[str] = field(default_factory=frozenset)

    def overwrites(self, conflict: ImportConflict) -> bool:
        return self.prefer_file or conflict.key in self.overwrite


@dataclass(frozen=True)
class Unit:
    """One column's worth of a record: one field, or fields filled from one cell together
    (a partial date and its precision), so that they are merged as one."""

    key: str  # the baseline's key: the column without a source prefix
    column: str  # the column as named in the file, for conflicts and problems
    values: dict[str, Any]  # model field → the file's value


def plain(value: Any) -> Any:
    """A JSON-comparable form of a field's value, as stored in the baseline."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "code") and not isinstance(value, str):  # django-countries' Country
        return value.code or ""
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _shown(value: Any) -> str:
    if value in BLANK_VALUES:
        return "(blank)"
    if isinstance(value, list):
        return " | ".join(str(item) for item in value) or "(blank)"
    return repr(value)


class Merger:
    """Decides, field by field, what of a file reaches a record, and notes the conflicts."""

    def __init__(self, rules: MergeRules, conflicts: list[ImportConflict]):
        self.rules = rules
        self.conflicts = conflicts

    def take(
        self,
        instance,
        unit_key: str,
        current: Any,
        file: Any,
        *,
        created: bool,
        conflict: ImportConflict,
    ) -> bool:
        """Whether the file's value is written; keeps the baseline and the conflicts."""
        if file in BLANK_VALUES and (created or not self.rules.clear_blanks):
            return False
        baseline = instance.import_baseline
        if current == file:
            baseline[unit_key] = file
            return False
        if not created:
            if unit_key in baseline:
                changed_by_a_person = baseline[unit_key] != current
            else:  # never imported: a person's value, unless there is none to lose
                changed_by_a_person = current not in BLANK_VALUES
            if changed_by_a_person and not self.rules.overwrites(conflict):
                self.conflicts.append(conflict)
                return False
        baseline[unit_key] = file
        return True

    def assign(
        self, instance, units: list[Unit], *, kind: str, record: str, row: int, created: bool
    ) -> bool:
        """Merge each unit into `instance`; say whether any field changed."""
        changed = False
        for unit in units:
            names = list(unit.values)
            current = _unit_value([plain(getattr(instance, name)) for name in names])
            file = _unit_value([plain(value) for value in unit.values.values()])
            conflict = ImportConflict(kind, record, unit.column, current, file, row)
            if self.take(instance, unit.key, current, file, created=created, conflict=conflict):
                for name, value in unit.values.items():
                    setattr(instance, name, value)
                changed = True
        return changed


def _unit_value(values: list) -> Any:
    if len(values) == 1:
        return values[0]
    return None if all(value in BLANK_VALUES for value in values) else values


def units_from(
    values: dict[str, Any], columns: dict[str, str], present: frozenset[str], prefix: str = ""
) -> list[Unit]:
    """Group field values by the column they came from, keeping only columns in the file.

    `columns` maps a model field to its column; fields without one are not merged here.
    """
    grouped: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        column = columns.get(name)
        if column is None or column not in present:
            continue
        grouped.setdefault(column, {})[name] = value
    return [
        Unit(
            key=column.removeprefix(f"{prefix}_") if prefix else column,
            column=column,
            values=unit_values,
        )
        for column, unit_values in grouped.items()
    ]


def save_baseline(instance) -> None:
    """Store a baseline that changed while the record's content did not (no history entry)."""
    type(instance)._default_manager.filter(pk=instance.pk).update(
        import_baseline=instance.import_baseline
    )

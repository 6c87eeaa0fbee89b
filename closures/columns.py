"""The data dictionary: every public column of the exports and releases, declared once.

A column says what it is called, which model field gives its value, its type, its allowed
values (from the model's TextChoices) and its meaning (the model field's `help_text`, written
for a reader of the data and translated; a column that has none, or whose value is derived,
says so here). The export column lists, the `values()` field lists and the row flattening
(exports.py), the COPY SQL's column list (checked against this by name), the release Table
Schemas and codebook (releases.py) and the Source serializer's fields all come from here.
Adding a column touches this module and the model.

Conventions across CSV, JSON and the API: a cell with several values joins them with
MULTI_VALUE_SEPARATOR; every time is in UTC, written `YYYY-MM-DDTHH:MM:SSZ`.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .dates import DatePrecision, iso_partial_date
from .models import Alias, Citation, Claim, Confidence, Event, Organisation, ReasonCategory, Source

MULTI_VALUE_SEPARATOR = " | "
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
PARTIAL_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"

# What each confidence level means: the codebook and the about pages show these, and the
# model's help_text (which the data dictionary quotes) must say the same (a test checks).
CONFIDENCE_DEFINITIONS = {
    Confidence.HIGH: _("the organisation's own announcement, or two independent sources agree"),
    Confidence.MEDIUM: _("one reputable report"),
    Confidence.LOW: _("otherwise"),
}


def timestamp(value: dt.datetime | None) -> str:
    """A time as every machine-readable output writes it: UTC, to the second, with `Z`."""
    return value.astimezone(dt.UTC).strftime(TIMESTAMP_FORMAT) if value else ""


@dataclass(frozen=True)
class Column:
    """One public column.

    `source` is the field path given to `values()`. `kind` says how the stored value becomes
    a cell: "text", "integer", "boolean" (`true` or `false`), "date", "timestamp",
    "partial_date" (cut to the precision in `precision_source`), "precision" (empty when the
    date in `date_source` is), or "multi" (several related values, which exports.py gathers
    per chunk of rows). A `source` that is a queryset annotation names in `field` the model
    field it stands for.
    """

    name: str
    model: type
    source: str
    kind: str = "text"
    choices: tuple | None = None
    description: str | None = None
    precision_source: str = ""
    date_source: str = ""
    required: bool = False
    api_name: str | None = None
    listed: bool = True  # False where the allowed values are too many to list (countries)
    field: str = ""

    @property
    def type(self) -> str:
        return {
            "integer": "integer",
            "date": "date",
            "timestamp": "datetime",
            "boolean": "boolean",
        }.get(self.kind, "string")

    @property
    def model_field(self):
        model, parts = self.model, (self.field or self.source).split("__")
        for part in parts[:-1]:
            model = model._meta.get_field(part).related_model
        return model._meta.get_field(parts[-1])

    def describe(self) -> str:
        field = self.model_field
        text = str(self.description or field.help_text or "")
        text = text or str(field.verbose_name).capitalize() + "."
        if self.kind == "multi":
            if self.choices:
                text += " Codes: " + ", ".join(self.choices) + "."
            text += f" Several values are joined with '{MULTI_VALUE_SEPARATOR}'."
        return text

    def allowed_values(self) -> list[str] | None:
        if self.kind in ("multi", "boolean") or not self.listed:
            return None
        if self.choices is not None:
            return list(self.choices)
        field_choices = getattr(self.model_field, "choices", None)
        if not field_choices:
            return None
        values = [value for value, _label in field_choices]
        return values + [""] if self.model_field.blank else values

    def table_schema(self) -> dict:
        spec = {"name": self.name, "type": self.type, "description": self.describe()}
        constraints = {}
        if (allowed := self.allowed_values()) is not None:
            constraints["enum"] = allowed
        if self.kind == "partial_date":
            constraints["pattern"] = PARTIAL_DATE
        if self.required:
            constraints["required"] = True
        if constraints:
            spec["constraints"] = constraints
        return spec

    def value_fields(self) -> list[str]:
        """The `values()` fields this column's cell is made from."""
        if self.kind == "multi":
            return []
        return [path for path in (self.source, self.precision_source, self.date_source) if path]

    def cell(self, row: dict, related: dict):
        """The cell of one `values()` row; `related` holds the multi-valued columns."""
        if self.kind == "multi":
            return MULTI_VALUE_SEPARATOR.join(related.get(self.name, ()))
        value = row[self.source]
        if self.kind == "partial_date":
            return iso_partial_date(value, row[self.precision_source])
        if self.kind == "precision":
            return value if row[self.date_source] else ""
        if self.kind == "timestamp":
            return timestamp(value)
        if self.kind == "boolean":
            return "true" if value else "false"
        if self.kind == "date":
            return value.isoformat() if value else ""
        return "" if value is None else value


def _event_date(name: str, description) -> list[Column]:
    return [
        Column(
            name,
            Event,
            f"{name}_on",
            "partial_date",
            description=description,
            precision_source=f"{name}_precision",
            api_name=name,
        ),
        Column(
            f"{name}_precision",
            Event,
            f"{name}_precision",
            "precision",
            choices=(*DatePrecision.values, ""),
            date_source=f"{name}_on",
            api_name=f"{name}_precision",
        ),
    ]


ORGANISATION = [
    Column("organisation_id", Organisation, "slug", required=True),
    Column("name_en", Organisation, "name_en"),
    Column("name_zh", Organisation, "name_zh"),
    Column("acronym", Organisation, "acronym"),
    Column("aliases", Alias, "name", "multi", description=_("Aliases and former names.")),
    Column("organisation_type", Organisation, "org_type"),
    Column("status", Organisation, "public_status"),
    Column("status_unconfirmed", Organisation, "public_status_unconfirmed", "boolean"),
    Column(
        "parent_organisation_id",
        Organisation,
        "public_parent_slug",
        field="parent_organisation",
        description=_(
            "ID of the organisation this one belonged to (a college union's university union, "
            "a regional office's section), when that record is public. Each is counted as an "
            "organisation of its own."
        ),
    ),
    Column("founded_year", Organisation, "founded_year", "integer"),
    Column(
        "description_en",
        Organisation,
        "description_en",
        description=_("Who they were, in one plain sentence, in English."),
    ),
    Column(
        "description_zh",
        Organisation,
        "description_zh",
        description=_("Who they were, in one plain sentence, in Traditional Chinese."),
    ),
    Column("website", Organisation, "website"),
    Column("wikidata_id", Organisation, "wikidata_id"),
    Column("latest_event_on", Organisation, "public_latest_event_on", "date"),
    Column(
        "first_published_at",
        Organisation,
        "first_published_at",
        "timestamp",
        description=_("When the record was first published (UTC)."),
    ),
    Column(
        "updated_at",
        Organisation,
        "public_changed_at",
        "timestamp",
        description=_(
            "When what the public sees of the record (its fields, events, citations or "
            "sources) last changed (UTC)."
        ),
    ),
]

EVENT = [
    Column("event_id", Event, "uid", required=True, api_name="id"),
    Column(
        "organisation_id",
        Event,
        "organisation__slug",
        required=True,
        description=_("The organisation the event happened to."),
        api_name="organisation",
    ),
    Column(
        "organisation_name_en",
        Event,
        "organisation__name_en",
        description=_("English name of the organisation."),
    ),
    Column(
        "organisation_name_zh",
        Event,
        "organisation__name_zh",
        description=_("Chinese name of the organisation, in Traditional Chinese."),
    ),
    Column(
        "organisation_acronym",
        Event,
        "organisation__acronym",
        description=_("Acronym of the organisation."),
    ),
    Column("organisation_type", Event, "organisation__org_type"),
    Column(
        "organisation_status",
        Event,
        "organisation__public_status",
        description=_("Current status of the organisation."),
    ),
    Column(
        "organisation_status_unconfirmed",
        Event,
        "organisation__public_status_unconfirmed",
        "boolean",
        description=_("True when only low-confidence reports give the organisation's status."),
    ),
    Column("event_type", Event, "event_type", api_name="event_type"),
    *_event_date(
        "announced", _("When it was announced, as YYYY, YYYY-MM or YYYY-MM-DD at its precision.")
    ),
    *_event_date(
        "effective", _("When it took effect, as YYYY, YYYY-MM or YYYY-MM-DD at its precision.")
    ),
    Column(
        "destination_country",
        Event,
        "destination_country",
        listed=False,
        api_name="destination_country",
    ),
    Column(
        "destination_city",
        Event,
        "destination_city",
        description=_("For relocations: the city, where known."),
        api_name="destination_city",
    ),
    Column("stated_reason_en", Event, "stated_reason_en", api_name="stated_reason_en"),
    Column(
        "stated_reason_zh",
        Event,
        "stated_reason_zh",
        description=_("The stated reason in Chinese."),
        api_name="stated_reason_zh",
    ),
    Column(
        "reasons",
        Event,
        "reasons",
        "multi",
        choices=tuple(ReasonCategory.values),
        api_name="reasons",
    ),
    Column("public_note", Event, "public_note", api_name="public_note"),
    Column("public_note_zh", Event, "public_note_zh", api_name="public_note_zh"),
    Column("confidence", Event, "confidence", api_name="confidence"),
    Column(
        "source_ids",
        Source,
        "uid",
        "multi",
        description=_("IDs of the sources cited for the event."),
    ),
    Column(
        "source_urls",
        Source,
        "url",
        "multi",
        description=_("URLs of those sources, in the same order."),
    ),
    Column(
        "updated_at",
        Event,
        "organisation__public_changed_at",
        "timestamp",
        description=_("When what the public sees of the event's organisation last changed (UTC)."),
        api_name="updated_at",
    ),
]

SOURCE = [
    Column("source_id", Source, "uid", required=True, api_name="id"),
    Column(
        "url", Source, "url", required=True, description=_("Address of the source."), api_name="url"
    ),
    Column("title", Source, "title", api_name="title"),
    Column("publisher", Source, "publisher", api_name="publisher"),
    Column("language", Source, "language", api_name="language"),
    Column("published_on", Source, "published_on", "date", api_name="published_on"),
    Column(
        "accessed_on",
        Source,
        "accessed_on",
        "date",
        description=_("When a curator read it."),
        api_name="accessed_on",
    ),
    Column("source_type", Source, "source_type", api_name="source_type"),
    Column("archived_url", Source, "archived_url", api_name="archived_url"),
]

CITATION = [
    Column(
        "event_id",
        Citation,
        "event__uid",
        required=True,
        description=_("The event the source supports."),
    ),
    Column("source_id", Citation, "source__uid", required=True, description=_("The source.")),
    Column(
        "claims",
        Citation,
        "claims",
        "multi",
        choices=tuple(Claim.values),
        description=_("Which claims the source supports."),
    ),
    Column("quote", Citation, "quote"),
]

TABLES = {"organisations": ORGANISATION, "events": EVENT, "sources": SOURCE, "citations": CITATION}


def names(columns: list[Column]) -> list[str]:
    return [column.name for column in columns]


def value_fields(columns: list[Column]) -> list[str]:
    """The `values()` field list that gives every column's cell, without repeats."""
    return list(dict.fromkeys(path for column in columns for path in column.value_fields()))


def api_fields(columns: list[Column]) -> list[str]:
    """The names the API gives the columns it shares with the exports, in the same order."""
    return [column.api_name for column in columns if column.api_name]


def flatten(columns: list[Column], row: dict, related: dict | None = None) -> dict:
    related = related or {}
    return {column.name: column.cell(row, related) for column in columns}

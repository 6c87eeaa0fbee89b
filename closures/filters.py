"""The one filter definition shared by the public listing, the API and the exports.

The same query string gives the same organisations everywhere. Event criteria (type, dates,
destination, reason) describe one event: an organisation matches when one of its public events
meets all of them together, and event lists and exports give exactly those events.
"""

import datetime as dt

import django_filters
from django import forms
from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import ExtractYear
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field

from . import caching
from .models import (
    Event,
    EventType,
    Organisation,
    OrganisationType,
    PublicEventFacet,
    ReasonCategory,
    Status,
)

MAX_QUERY_LENGTH = 200
FIRST_YEAR, LAST_YEAR = 1900, 2100


def country_choices():
    """Offer only destinations that public events name, so no choice reveals hidden rows."""
    return caching.cached("countries", caching.data_version(), (get_language() or "",), countries)


def countries():
    codes = (
        Event.objects.public()
        .exclude(destination_country="")
        # Without clearing Event's default ordering, DISTINCT would also span its columns.
        .order_by()
        .values_list("destination_country", flat=True)
        .distinct()
    )
    event_field = Event._meta.get_field("destination_country")
    names = dict(event_field.get_choices(include_blank=False))
    return sorted(((code, names.get(code, code)) for code in codes), key=lambda choice: choice[1])


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, taken to UTC: PostgreSQL refuses offsets beyond ±16 hours."""

    def clean(self, value):
        moment = super().clean(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError as error:
            raise forms.ValidationError(
                _("Enter a date and time between years 1 and 9999.")
            ) from error


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class EventCriterion:
    """A filter that describes the one event an organisation must have, not the organisation.

    It does not narrow the queryset by itself: `condition()` gives its part of the event as a
    Q object, and RegistryFilterSet joins the parts of every event criterion given into one
    "an event matching all of these" condition, for organisations and for event lists alike.
    """

    def filter(self, queryset, value):
        return queryset

    def condition(self, value) -> Q | None:
        raise NotImplementedError


class EventChoiceCriterion(EventCriterion, django_filters.MultipleChoiceFilter):
    def condition(self, value):
        return Q(**{f"{self.field_name}__in": value}) if value else None


class EventPeriodCriterion(EventCriterion, django_filters.DateFilter):
    """`date_from` / `date_to`: a date known only to the month or year matches a range it
    overlaps, so the bound is compared with the other end of the event's period."""

    def condition(self, value):
        return Q(**{self.field_name: value}) if value else None


@extend_schema_field({"type": "integer", "description": "An event in this year."})
class EventYearCriterion(EventCriterion, django_filters.NumberFilter):
    def condition(self, value):
        if value is None:
            return None
        year = int(value)
        return Q(occurred_to__gte=dt.date(year, 1, 1), occurred_from__lte=dt.date(year, 12, 31))


class UniqueOrderingFilter(django_filters.OrderingFilter):
    """Sort as asked, then by name and slug, so records that tie keep one order.

    Without the tie-breakers the database returns tied records in whatever order its plan
    meets them, which changes when other rows come and go: a page would then differ with a
    hidden record's presence (the pruned audit caught this on PostgreSQL) and between pages.
    """

    TIE_BREAKERS = ("name_en", "slug")

    def filter(self, qs, value):
        if not value:
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        fields = [field.lstrip("-") for field in ordering]
        for tie_breaker in self.TIE_BREAKERS:
            if tie_breaker not in fields:
                ordering.append(tie_breaker)
        return qs.order_by(*ordering)


class RegistryFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        max_length=MAX_QUERY_LENGTH,
        help_text=_("Names in English or Chinese, aliases, acronyms, IDs and stated reasons."),
    )
    search = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        max_length=MAX_QUERY_LENGTH,
        help_text=_("The same as `q`."),
    )
    id = django_filters.CharFilter(
        label=_("Record ID"),
        field_name="slug",
        max_length=100,
        help_text=_("One record by its permanent ID, e.g. for its rows in an export."),
    )
    # One value per organisation, so no DISTINCT: it would sort the page on every column.
    org_type = django_filters.MultipleChoiceFilter(
        label=_("Type of organisation"),
        choices=OrganisationType.choices,
        distinct=False,
        help_text=_("What kind of body it was."),
    )
    status = django_filters.MultipleChoiceFilter(
        label=_("Status now"),
        field_name="public_status",
        choices=Status.choices,
        distinct=False,
        help_text=_("Where it stands today, set by its latest closure step."),
    )
    event_type = EventChoiceCriterion(
        label=_("Any step in its history"),
        field_name="event_type",
        choices=EventType.choices,
        help_text=_("Had this step at some point, whatever its status now."),
    )
    reason = EventChoiceCriterion(
        label=_("Stated reason"),
        field_name="reasons__code",
        choices=ReasonCategory.choices,
        help_text=_("The reasons the organisation or reports gave for a step."),
    )
    # Its choices come from the data, so the API schema states only their type.
    country = extend_schema_field(
        {"type": "string", "description": "ISO 3166-1 alpha-2 code of a relocation's destination."}
    )(
        EventChoiceCriterion(
            label=_("Moved to"),
            field_name="destination_country",
            choices=country_choices,
            help_text=_("ISO 3166-1 alpha-2 code of the country a relocation went to."),
        )
    )
    year = EventYearCriterion(
        label=_("Year"),
        min_value=FIRST_YEAR,
        max_value=LAST_YEAR,
        help_text=_("An event in this year."),
    )
    date_from = EventPeriodCriterion(
        label=_("From"),
        field_name="occurred_to__gte",
        help_text=_("An event on or after this date."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = EventPeriodCriterion(
        label=_("To"),
        field_name="occurred_from__lte",
        help_text=_("An event on or before this date."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    updated_since = UtcDateTimeFilter(
        label=_("Changed since"),
        method="filter_updated_since",
        help_text=_(
            "ISO 8601 date and time: records that changed since then, for incremental sync."
        ),
    )
    ordering = UniqueOrderingFilter(
        label=_("Sort by"),
        fields=(("name_en", "name"), ("public_latest_event_on", "latest")),
        field_labels={"name_en": _("name"), "public_latest_event_on": _("latest event")},
    )

    class Meta:
        model = Organisation
        fields = ["q", "org_type", "status"]

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_updated_since(self, queryset, name, value):
        return queryset.changed_since(value)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        event_condition = self.event_condition()
        if event_condition is None:
            return queryset
        matching_events = Event.objects.public().filter(
            event_condition, organisation=OuterRef("pk")
        )
        return queryset.filter(Exists(matching_events))

    def event_condition(self) -> Q | None:
        """Return the event criteria as one condition, or None when none was given."""
        parts = [
            criterion.condition(self.form.cleaned_data.get(name))
            for name, criterion in self.filters.items()
            if isinstance(criterion, EventCriterion)
        ]
        parts = [part for part in parts if part is not None]
        if not parts:
            return None
        condition = Q()
        for part in parts:
            condition &= part
        return condition

    def filter_events(self, events):
        """Narrow a queryset of public events to those the same query string selects.

        Without a criterion on the organisation itself, an event meeting the event criteria
        belongs to an organisation they select: the organisations need no second look.
        """
        organisation_criteria = [
            name
            for name, criterion in self.filters.items()
            if not isinstance(criterion, EventCriterion | django_filters.OrderingFilter)
        ]
        if any(self.data.get(name) for name in organisation_criteria):
            organisations = self.filter_queryset(Organisation.objects.public())
            events = events.filter(organisation__in=organisations)
        event_condition = self.event_condition()
        if event_condition is not None:
            events = events.filter(pk__in=Event.objects.filter(event_condition).values("pk"))
        return events

    # --- Facet counts -------------------------------------------------------------------

    ORGANISATION_FACETS = {"org_type": "org_type", "status": "public_status"}
    EVENT_FACETS = {
        "event_type": "event_type",
        "reason": "reasons__code",
        "country": "destination_country",
        "year": "year",
    }

    def without(self, name: str) -> "RegistryFilterSet":
        """Return this filterset ignoring one parameter: the base for counting its options."""
        data = self.data.copy()
        data.pop(name, None)
        return type(self)(data, queryset=self.queryset, request=self.request)

    def facet_counts(self) -> dict[str, dict[str, int]]:
        """Count, for each option of each facet, the organisations choosing it would give.

        Each facet is counted with every other current filter applied and its own left out,
        so an option's number is what a click on it (alone, for that facet) would return.
        The counts are exact and shared by every process for one data version and one
        selection (the page and the ordering do not change them).
        """
        version = caching.data_version(self.request)
        selection = caching.normalised_query(self.data, FACET_INPUTS)
        return caching.cached("facets", version, (selection,), self.count_facets)

    def count_facets(self) -> dict[str, dict[str, int]]:
        """Count every facet; the facets whose own parameter is unused share one pass.

        A facet whose parameter is not in the query is counted over the rows this filterset
        selects, so the organisation facets then take one grouped query and the event facets
        one more (GROUPING SETS on PostgreSQL); a facet in use needs its own pass.
        """
        counts = {}
        unused = [name for name in FACET_NAMES if not self.data.get(name)]
        for name in FACET_NAMES:
            if name not in unused:
                other = self.without(name)
                if other.is_valid():
                    counts.update(other.count_facet_group([name]))
        counts.update(self.count_facet_group(unused))
        return counts

    def count_facet_group(self, names: list[str]) -> dict[str, dict[str, int]]:
        """Count the named facets over the rows this filterset selects."""
        organisation_facets = [name for name in names if name in self.ORGANISATION_FACETS]
        fields = [self.ORGANISATION_FACETS[name] for name in organisation_facets]
        event_facets = [name for name in names if name in self.EVENT_FACETS]
        # Without an event criterion any public event counts: each organisation's values
        # are stored, one row each.
        stored = bool(event_facets) and self.event_condition() is None
        # A search scans every organisation: make the selection once for both counts. (Kept
        # whole, the 100,000 rows of an unsearched listing cost more than a second look.)
        searched = any(self.form.cleaned_data.get(name) for name in ("q", "search"))
        if fields and stored and searched and connections[self.qs.db].vendor == "postgresql":
            rows, counts = selection_and_stored_counts(self.qs, fields, event_facets)
        else:
            rows = self.qs.order_by().values(*fields).annotate(n=Count("pk")) if fields else []
            if stored:
                counts = stored_facet_counts(self.qs, event_facets)
            elif event_facets:
                events = self.filter_events(Event.objects.public())
                counts = event_facet_counts(events, event_facets)
            else:
                counts = {}
        for name, field in zip(organisation_facets, fields, strict=True):
            facet = counts.setdefault(name, {})
            for row in rows:
                facet[row[field]] = facet.get(row[field], 0) + row["n"]
        return counts


def selection_and_stored_counts(organisations, fields: list[str], names: list[str]):
    """The organisation facets' grouped rows and the stored event facets' counts in one
    statement, the selection made once."""
    connection = connections[organisations.db]
    quote = connection.ops.quote_name
    selection, params = organisations.order_by().values("pk", *fields).query.sql_with_params()
    # Columns named here: values() may alias them (the key as "pk").
    columns = ", ".join(f"c{index}" for index in range(len(fields)))
    facets = quote(PublicEventFacet._meta.db_table)
    statement = (
        f"WITH s (k, {columns}) AS MATERIALIZED ({selection}) "
        f"SELECT 'organisation', {columns}, NULL, NULL, COUNT(*) FROM s GROUP BY {columns} "
        f"UNION ALL SELECT 'event', {', '.join('NULL' for _ in fields)}, f.facet, f.value, "
        f"COUNT(*) FROM {facets} f JOIN s ON s.k = f.organisation_id "
        f"WHERE f.facet IN ({', '.join('%s' for _ in names)}) GROUP BY f.facet, f.value"
    )
    rows, counts = [], {name: {} for name in names}
    with connection.cursor() as cursor:
        cursor.execute(statement, (*params, *names))
        for kind, *values, facet, value, n in cursor.fetchall():
            if kind == "organisation":
                rows.append({**dict(zip(fields, values, strict=True)), "n": n})
            else:
                counts[facet][value] = n
    return rows, counts


def stored_facet_counts(organisations, names: list[str]) -> dict[str, dict[str, int]]:
    """Count organisations per value of each event facet from `PublicEventFacet`.

    The same counts as `event_facet_counts` over all public events of these organisations,
    in one grouped count over one row per organisation and value.
    """
    rows = (
        PublicEventFacet.objects.filter(
            facet__in=names, organisation__in=organisations.order_by().values("pk")
        )
        .values("facet", "value")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {name: {} for name in names}
    for row in rows:
        counts[row["facet"]][row["value"]] = row["n"]
    return counts


def event_facet_counts(events, names: list[str]) -> dict[str, dict[str, int]]:
    """Count organisations per value of each event facet, over the given events."""
    fields = {name: RegistryFilterSet.EVENT_FACETS[name] for name in names}
    if "year" in names:
        events = events.annotate(year=ExtractYear("occurred_from"))
    if connections[events.db].vendor == "postgresql" and len(names) > 1:
        return grouping_sets_counts(events, fields)
    counts = {}
    for name, field in fields.items():
        rows = events.order_by().values(field).annotate(n=Count("organisation", distinct=True))
        counts[name] = {str(row[field]): row["n"] for row in rows if row[field] not in ("", None)}
    return counts


def grouping_sets_counts(events, fields: dict[str, str]) -> dict[str, dict[str, int]]:
    """One pass over the events for every facet: GROUP BY GROUPING SETS, one set per facet."""
    columns = list(fields)
    # Aliases, since values() refuses an expression named like a model field.
    rows = events.order_by().values(
        "organisation_id", **{f"facet_{name}": F(field) for name, field in fields.items()}
    )
    sql, params = rows.query.sql_with_params()
    quoted = {name: connections[events.db].ops.quote_name(f"facet_{name}") for name in columns}
    grouping = ", ".join(f"GROUPING(e.{quoted[name]})" for name in columns)
    values = ", ".join(f"e.{quoted[name]}" for name in columns)
    sets = ", ".join(f"(e.{quoted[name]})" for name in columns)
    statement = (
        f"SELECT {grouping}, {values}, COUNT(DISTINCT e.organisation_id) "
        f"FROM ({sql}) AS e GROUP BY GROUPING SETS ({sets})"
    )
    counts = {name: {} for name in columns}
    with connections[events.db].cursor() as cursor:
        cursor.execute(statement, params)
        for row in cursor.fetchall():
            flags, values_row, n = row[: len(columns)], row[len(columns) : -1], row[-1]
            for name, flag, value in zip(columns, flags, values_row, strict=True):
                if flag == 0 and value not in ("", None):
                    counts[name][str(value)] = n
    return counts


FACET_NAMES = (*RegistryFilterSet.ORGANISATION_FACETS, *RegistryFilterSet.EVENT_FACETS)
# Every parameter that changes which rows are selected; `page` and `ordering` do not.
FACET_INPUTS = tuple(name for name in RegistryFilterSet.base_filters if name != "ordering")

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

from . import caching
from .models import (
    Event,
    EventType,
    Organisation,
    OrganisationType,
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


class RegistryFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        max_length=MAX_QUERY_LENGTH,
        help_text=_("Names in English or Chinese, aliases, acronyms and stated reasons."),
    )
    # One value per organisation, so no DISTINCT: it would sort the page on every column.
    org_type = django_filters.MultipleChoiceFilter(
        label=_("Type of organisation"), choices=OrganisationType.choices, distinct=False
    )
    status = django_filters.MultipleChoiceFilter(
        label=_("Current status"),
        field_name="public_status",
        choices=Status.choices,
        distinct=False,
    )
    event_type = django_filters.MultipleChoiceFilter(
        label=_("Event"), choices=EventType.choices, method="filter_by_events"
    )
    reason = django_filters.MultipleChoiceFilter(
        label=_("Reason"), choices=ReasonCategory.choices, method="filter_by_events"
    )
    country = django_filters.MultipleChoiceFilter(
        label=_("Destination"), choices=country_choices, method="filter_by_events"
    )
    year = django_filters.NumberFilter(
        label=_("Year"),
        method="filter_by_events",
        min_value=FIRST_YEAR,
        max_value=LAST_YEAR,
    )
    date_from = django_filters.DateFilter(
        label=_("From"), method="filter_by_events", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        label=_("To"), method="filter_by_events", widget=forms.DateInput(attrs={"type": "date"})
    )
    updated_since = UtcDateTimeFilter(
        label=_("Changed since"),
        method="filter_updated_since",
        help_text=_(
            "ISO 8601 date and time: records that changed since then, for incremental sync."
        ),
    )
    ordering = django_filters.OrderingFilter(
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

    def filter_by_events(self, queryset, name, value):
        # All event criteria are applied together in filter_queryset: they describe one event.
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        event_condition = self.event_condition()
        if event_condition is None:
            return queryset
        matching_events = Event.objects.public_regardless_of_organisation().filter(
            event_condition, organisation=OuterRef("pk")
        )
        return queryset.filter(Exists(matching_events))

    def event_condition(self) -> Q | None:
        """Return the event criteria as one condition, or None when none was given."""
        data = self.form.cleaned_data
        conditions = []
        if data.get("event_type"):
            conditions.append(Q(event_type__in=data["event_type"]))
        if data.get("reason"):
            conditions.append(Q(reasons__code__in=data["reason"]))
        if data.get("country"):
            conditions.append(Q(destination_country__in=data["country"]))
        start, end = data.get("date_from"), data.get("date_to")
        if data.get("year") is not None:
            year = int(data["year"])
            start = max(start or dt.date(year, 1, 1), dt.date(year, 1, 1))
            end = min(end or dt.date(year, 12, 31), dt.date(year, 12, 31))
        # A date known only to the month or year matches a range it overlaps.
        if start:
            conditions.append(Q(occurred_to__gte=start))
        if end:
            conditions.append(Q(occurred_from__lte=end))
        if not conditions:
            return None
        condition = Q()
        for part in conditions:
            condition &= part
        return condition

    def filter_events(self, events):
        """Narrow a queryset of public events to those the same query string selects.

        Without a criterion on the organisation itself, an event meeting the event criteria
        belongs to an organisation they select: the organisations need no second look.
        """
        if any(self.data.get(name) for name in self.ORGANISATION_CRITERIA):
            organisations = self.filter_queryset(Organisation.objects.public())
            events = events.filter(organisation__in=organisations)
        event_condition = self.event_condition()
        if event_condition is not None:
            events = events.filter(pk__in=Event.objects.filter(event_condition).values("pk"))
        return events

    # --- Facet counts -------------------------------------------------------------------

    ORGANISATION_CRITERIA = ("q", "org_type", "status", "updated_since")
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
        counts = {}
        organisation_facets = [name for name in names if name in self.ORGANISATION_FACETS]
        if organisation_facets:
            fields = [self.ORGANISATION_FACETS[name] for name in organisation_facets]
            rows = self.qs.order_by().values(*fields).annotate(n=Count("pk"))
            for name, field in zip(organisation_facets, fields, strict=True):
                facet = counts.setdefault(name, {})
                for row in rows:
                    facet[row[field]] = facet.get(row[field], 0) + row["n"]
        event_facets = [name for name in names if name in self.EVENT_FACETS]
        if event_facets:
            events = self.filter_events(Event.objects.public())
            counts.update(event_facet_counts(events, event_facets))
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

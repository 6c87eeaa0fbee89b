"""The one filter definition shared by the public listing, the API and the exports.

The same query string gives the same organisations everywhere. Event criteria (type, dates,
destination, reason) describe one event: an organisation matches when one of its public events
meets all of them together, and event lists and exports give exactly those events.
"""

import datetime as dt

import django_filters
from django import forms
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import ExtractYear
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField

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
    org_type = django_filters.MultipleChoiceFilter(
        label=_("Type of organisation"), choices=OrganisationType.choices
    )
    status = django_filters.MultipleChoiceFilter(
        label=_("Current status"), field_name="public_status", choices=Status.choices
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
        """Narrow a queryset of events to those the same query string selects."""
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
        so an option's number is what a click on it (alone, for that facet) would return. One
        aggregate query per facet, whatever the number of options or organisations.
        """
        counts = {}
        for name, field in self.ORGANISATION_FACETS.items():
            other = self.without(name)
            if not other.is_valid():
                continue
            rows = other.qs.order_by().values(field).annotate(n=Count("pk", distinct=True))
            counts[name] = {row[field]: row["n"] for row in rows}
        for name, field in self.EVENT_FACETS.items():
            other = self.without(name)
            if not other.is_valid():
                continue
            events = other.filter_events(Event.objects.public())
            if name == "year":
                events = events.filter(occurred_from__isnull=False).annotate(
                    year=ExtractYear("occurred_from")
                )
            rows = events.order_by().values(field).annotate(n=Count("organisation", distinct=True))
            counts[name] = {
                str(row[field]): row["n"] for row in rows if row[field] not in ("", None)
            }
        return counts

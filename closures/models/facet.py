"""Which event facet values each public organisation has: the listing's counts, precomputed.

Counting the event facets (type, reason, destination, year) over the events themselves
means joining every public event with its reason categories and counting distinct
organisations per value: over a second at 100,000 organisations. One row per organisation
and value instead makes each count a plain grouped count. `refresh_organisation` keeps the
rows in the transaction of every change, from the stored public flags.
"""

from django.db import models
from django.db.models import F
from django.db.models.functions import Cast, ExtractYear
from django.utils.translation import gettext_lazy as _

from .event import Event
from .organisation import Organisation

# The listing's event facets (RegistryFilterSet.EVENT_FACETS) and where each value comes from.
FACET_SOURCES = {
    "event_type": F("event_type"),
    "reason": F("reasons__code"),
    "country": F("destination_country"),
    "year": Cast(ExtractYear("occurred_from"), models.CharField()),
}


class PublicEventFacet(models.Model):
    """One value of an event facet that one of a public organisation's public events has."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="public_event_facets"
    )
    facet = models.CharField(_("facet"), max_length=16)
    value = models.CharField(_("value"), max_length=32)

    class Meta:
        verbose_name = _("public event facet value")
        verbose_name_plural = _("public event facet values")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "facet", "value"], name="public_event_facet_unique"
            )
        ]

    def __str__(self):
        return f"{self.organisation_id}: {self.facet} {self.value}"

    @classmethod
    def values_from_events(cls, events) -> set[tuple[int, str, str]]:
        """(organisation, facet, value) of the given events; blank and missing values left out."""
        found = set()
        for facet, expression in FACET_SOURCES.items():
            rows = events.order_by().annotate(facet_value=expression)
            rows = rows.filter(facet_value__isnull=False).exclude(facet_value="")
            for organisation_id, value in rows.values_list("organisation_id", "facet_value"):
                found.add((organisation_id, facet, str(value)))
        return found

    @classmethod
    def store_for(cls, organisation_id: int) -> None:
        """Make the organisation's rows those of its public events, writing only differences."""
        wanted = cls.values_from_events(
            Event.objects.filter(organisation_id=organisation_id, is_public=True)
        )
        stored = cls.objects.filter(organisation_id=organisation_id)
        present = {(organisation_id, *row) for row in stored.values_list("facet", "value")}
        for _organisation_id, facet, value in present - wanted:
            stored.filter(facet=facet, value=value).delete()
        cls.objects.bulk_create(
            cls(organisation_id=organisation_id, facet=facet, value=value)
            for _organisation_id, facet, value in sorted(wanted - present)
        )

    @classmethod
    def rebuild_all(cls) -> None:
        """Rebuild every row from the stored public flags (bulk loads, e.g. seed_synthetic)."""
        cls.objects.all().delete()
        rows = cls.values_from_events(Event.objects.filter(is_public=True))
        cls.objects.bulk_create(
            (cls(organisation_id=o, facet=f, value=v) for o, f, v in sorted(rows)),
            batch_size=5000,
        )

"""What the API shows of each record. Every field is listed: a curator-only field (curator
notes, embargo, review state) can never appear by accident."""

import datetime as dt

from django.db import models
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import columns
from .dates import iso_partial_date
from .models import Alias, Citation, Event, Organisation, Release, Source


class PartialDateField(serializers.Field):
    """An ISO 8601 date cut to its precision: `2021`, `2021-10` or `2021-10-03`."""

    def __init__(self, precision_field, **kwargs):
        self.precision_field = precision_field
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, event):
        value = getattr(event, self.field_name + "_on")
        return iso_partial_date(value, getattr(event, self.precision_field)) or None


extend_schema_field({"type": "string", "nullable": True, "example": "2021-10"})(PartialDateField)


class UtcDateTimeField(serializers.DateTimeField):
    """A time as every machine-readable output writes it: UTC, to the second, with `Z`."""

    def __init__(self, **kwargs):
        super().__init__(format=columns.TIMESTAMP_FORMAT, default_timezone=dt.UTC, **kwargs)


class RegistrySerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UtcDateTimeField,
    }


class AliasSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alias
        fields = ["name", "language", "kind"]


class CitationSerializer(RegistrySerializer):
    source = serializers.SlugRelatedField(slug_field="uid", read_only=True)
    source_url = serializers.CharField(source="source.url", read_only=True)

    class Meta:
        model = Citation
        fields = ["source", "source_url", "quote", "claims"]


class EventSerializer(RegistrySerializer):
    id = serializers.CharField(source="uid", read_only=True)
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    announced = PartialDateField("announced_precision")
    effective = PartialDateField("effective_precision")
    destination_country = serializers.CharField(
        source="destination_country.code", read_only=True, help_text="ISO 3166-1 alpha-2."
    )
    reasons = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    citations = CitationSerializer(many=True, read_only=True)
    updated_at = UtcDateTimeField(
        source="organisation.public_changed_at",
        read_only=True,
        help_text="When what the public sees of the event's organisation last changed.",
    )

    class Meta:
        model = Event
        fields = [
            "id",
            "organisation",
            "event_type",
            "announced",
            "announced_precision",
            "effective",
            "effective_precision",
            "occurred_from",
            "occurred_to",
            "destination_country",
            "destination_city",
            "stated_reason_en",
            "stated_reason_zh",
            "reasons",
            "public_note",
            "public_note_zh",
            "confidence",
            "citations",
            "updated_at",
        ]


class OrganisationSerializer(RegistrySerializer):
    id = serializers.CharField(source="slug", read_only=True)
    status = serializers.CharField(source="public_status", read_only=True)
    status_unconfirmed = serializers.BooleanField(
        source="public_status_unconfirmed",
        read_only=True,
        help_text="True when only low-confidence reports give the status.",
    )
    parent_organisation = serializers.CharField(
        source="public_parent_slug",
        read_only=True,
        allow_null=True,
        help_text="ID of the public organisation this one belonged to, if any.",
    )
    latest_event_on = serializers.DateField(source="public_latest_event_on", read_only=True)
    aliases = AliasSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    updated_at = UtcDateTimeField(
        source="public_changed_at",
        read_only=True,
        help_text="When what the public sees of the record (its fields, events, citations or "
        "sources) last changed; the time `updated_since` compares.",
    )

    class Meta:
        model = Organisation
        fields = [
            "id",
            "url",
            "page_url",
            "name_en",
            "name_zh",
            "acronym",
            "aliases",
            "org_type",
            "status",
            "status_unconfirmed",
            "parent_organisation",
            "founded_year",
            "description_en",
            "description_zh",
            "website",
            "wikidata_id",
            "latest_event_on",
            "first_published_at",
            "updated_at",
        ]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, organisation):
        path = reverse("api:organisation-detail", kwargs={"slug": organisation.slug})
        return self.context["request"].build_absolute_uri(path)

    @extend_schema_field(OpenApiTypes.URI)
    def get_page_url(self, organisation):
        return self.context["request"].build_absolute_uri(organisation.get_absolute_url())


class OrganisationDetailSerializer(OrganisationSerializer):
    events = EventSerializer(many=True, read_only=True, source="public_events")

    class Meta(OrganisationSerializer.Meta):
        fields = [*OrganisationSerializer.Meta.fields, "events"]


class SourceSerializer(RegistrySerializer):
    id = serializers.CharField(source="uid", read_only=True)

    class Meta:
        model = Source
        fields = [*columns.api_fields(columns.SOURCE), "archived_at"]


class WithdrawnSerializer(RegistrySerializer):
    """A tombstone: the ID a synced copy must drop, the day it stopped being public, and the
    reason only for a withdrawal whose reason a reviewer marked public."""

    id = serializers.CharField(source="slug", read_only=True)
    withdrawn = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField()
    reason_zh = serializers.SerializerMethodField()
    since = serializers.SerializerMethodField()

    class Meta:
        model = Organisation
        fields = ["id", "withdrawn", "reason", "reason_zh", "since"]

    def get_withdrawn(self, organisation) -> bool:
        return organisation.withdrawn_publicly_flag

    def get_reason(self, organisation) -> str:
        return organisation.withdrawn_reason if organisation.withdrawn_publicly_flag else ""

    def get_reason_zh(self, organisation) -> str:
        """The reason in Chinese when a reviewer wrote one; empty otherwise."""
        return organisation.withdrawn_reason_zh if organisation.withdrawn_publicly_flag else ""

    def get_since(self, organisation) -> dt.date | None:
        """The day (Hong Kong time) the record left public view; never a finer time."""
        changed = organisation.public_changed_at
        return timezone.localdate(changed) if changed else None


class ChoiceSerializer(serializers.Serializer):
    code = serializers.CharField()
    label_en = serializers.CharField()
    label_zh = serializers.CharField()


# A serializer rather than a hand-written `$ref`: that pointed at a `Choice` component nothing
# declared, and strict validators and client generators refused the whole schema.
class TaxonomiesSerializer(serializers.Serializer):
    """Every controlled vocabulary, each value with its English and Chinese labels."""

    organisation_types = ChoiceSerializer(many=True)
    statuses = ChoiceSerializer(many=True)
    event_types = ChoiceSerializer(many=True)
    reasons = ChoiceSerializer(many=True)
    confidence = ChoiceSerializer(many=True)


class ReleaseSerializer(RegistrySerializer):
    download_url = serializers.SerializerMethodField()
    citation = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = [
            "version",
            "released_on",
            "redacted_on",
            "download_url",
            "size",
            "sha256",
            "counts",
            "citation",
        ]

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, release):
        return self.context["request"].build_absolute_uri(release.get_download_url())

    def get_citation(self, release) -> str:
        from .releases import citation_text

        return citation_text(release)

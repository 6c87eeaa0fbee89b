"""Other trackers in the API (`/api/v1/trackers/`) and the coverage CSV export.

Entry statuses and figures follow the public gate: a match to a record the public cannot see
is reported as not yet in this registry, and that record's ID is never given.
"""

from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.views import APIView

from . import coverage, exports
from .models import Completeness, PublicEntryStatus, Tracker, TrackerEntry


class TrackerEntrySerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField(
        help_text="in_registry (matched to a public record), not_in_registry or out_of_scope."
    )
    organisation = serializers.SerializerMethodField(
        help_text="The matched record's ID, only when it is in this registry."
    )
    out_of_scope_reason = serializers.SerializerMethodField()

    class Meta:
        model = TrackerEntry
        fields = [
            "position",
            "name_as_listed",
            "name_en",
            "name_zh",
            "date_as_listed",
            "category_as_listed",
            "status",
            "organisation",
            "out_of_scope_reason",
        ]

    @extend_schema_field(
        {"type": "string", "enum": PublicEntryStatus.values},
    )
    def get_status(self, entry) -> str:
        return coverage.public_status(entry)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_organisation(self, entry):
        if coverage.public_status(entry) != PublicEntryStatus.IN_REGISTRY:
            return None
        return entry.organisation.slug

    def get_out_of_scope_reason(self, entry) -> str:
        if coverage.public_status(entry) != PublicEntryStatus.OUT_OF_SCOPE:
            return ""
        return entry.out_of_scope_reason


class TrackerSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="slug")
    published = serializers.CharField(source="published_iso")
    claimed_count = serializers.IntegerField(allow_null=True)
    claimed_count_as_stated = serializers.CharField(source="claimed_display")
    completeness = serializers.ChoiceField(choices=Completeness.choices)
    entries_read = serializers.IntegerField()
    in_registry = serializers.IntegerField()
    not_in_registry = serializers.IntegerField()
    out_of_scope = serializers.IntegerField()
    entries = TrackerEntrySerializer(many=True)

    class Meta:
        model = Tracker
        fields = [
            "id",
            "title",
            "publisher",
            "url",
            "published",
            "claimed_count",
            "claimed_qualifier",
            "claimed_count_as_stated",
            "scope",
            "completeness",
            "entries_read",
            "in_registry",
            "not_in_registry",
            "out_of_scope",
            "entries",
        ]


class TrackerViewSet(viewsets.ReadOnlyModelViewSet):
    """Other trackers' lists, each with its figures and its entries beside this registry."""

    serializer_class = TrackerSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "id"
    pagination_class = None

    def get_queryset(self):
        entries = TrackerEntry.objects.with_public_match().select_related("organisation")
        return (
            coverage.trackers_with_figures()
            .prefetch_related(Prefetch("entries", queryset=entries.order_by("sequence")))
            .order_by("slug")
        )


class CoverageExportView(APIView):
    """Every tracker entry as CSV with its public status; `?bom=1` adds a BOM for Excel."""

    @extend_schema(
        parameters=[OpenApiParameter("bom", bool)],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        bom = request.query_params.get("bom") in ("1", "true", "yes")
        body = exports.csv_lines(coverage.coverage_rows(), coverage.COVERAGE_COLUMNS, bom=bom)
        response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="closures-coverage.csv"'
        return response

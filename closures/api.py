"""The read-only REST API and the bulk export endpoints under /api/v1/.

Every list starts from the public querysets and the one RegistryFilterSet of the listing, so
the same query string selects the same records on the site, in the API and in the exports.
"""

import datetime as dt

from django.db.models import BooleanField, ExpressionWrapper, Prefetch, Q, Value
from django.db.models.functions import Coalesce
from django.http import StreamingHttpResponse
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from . import exports
from .filters import RegistryFilterSet
from .models import (
    Citation,
    Confidence,
    Event,
    EventType,
    Organisation,
    OrganisationType,
    ReasonCategory,
    Release,
    ReviewState,
    Source,
    Status,
)
from .serializers import (
    ChoiceSerializer,
    EventSerializer,
    OrganisationDetailSerializer,
    OrganisationSerializer,
    ReleaseSerializer,
    SourceSerializer,
    WithdrawnSerializer,
)

MAX_PAGE_SIZE = 500


class RegistryCursorPagination(CursorPagination):
    """Cursor pages: as fast on page 2,000 as on page 1, and stable while records change."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "slug"

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is not None and (not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE):
            raise ValidationError({"page_size": f"A whole number from 1 to {MAX_PAGE_SIZE}."})
        return super().get_page_size(request)

    def get_ordering(self, request, queryset, view):
        return getattr(view, "cursor_ordering", None) or (self.ordering,)


class EventCursorPagination(RegistryCursorPagination):
    ordering = "uid"


class SourceCursorPagination(RegistryCursorPagination):
    ordering = "uid"


# Query parameters every list and export takes, for the schema and the docs page.
FILTER_PARAMETERS = [
    OpenApiParameter(
        "q",
        str,
        description="Free text: names in English or Chinese, aliases, "
        "acronyms, IDs and stated reasons.",
    ),
    OpenApiParameter("search", str, description="The same as `q`."),
    OpenApiParameter("id", str, description="One organisation by its ID, e.g. `apple-daily`."),
    OpenApiParameter("org_type", str, many=True, enum=OrganisationType.values),
    OpenApiParameter("status", str, many=True, enum=Status.values),
    OpenApiParameter("event_type", str, many=True, enum=EventType.values),
    OpenApiParameter("reason", str, many=True, enum=ReasonCategory.values),
    OpenApiParameter("country", str, many=True, description="ISO 3166-1 alpha-2 destination."),
    OpenApiParameter("year", int, description="An event in this year."),
    OpenApiParameter("date_from", dt.date, description="An event on or after this date."),
    OpenApiParameter("date_to", dt.date, description="An event on or before this date."),
    OpenApiParameter(
        "updated_since",
        dt.datetime,
        description="Only records changed since this ISO 8601 time; pair with `withdrawn/`.",
    ),
    OpenApiParameter("ordering", str, enum=["name", "-name", "latest", "-latest"]),
]


class RegistryFiltering:
    """Apply the listing's FilterSet to the query string; bad values answer 400."""

    def registry_filterset(self) -> RegistryFilterSet:
        data = self.request.query_params.copy()
        if "search" in data and "q" not in data:
            data["q"] = data["search"]
        filterset = RegistryFilterSet(data, queryset=Organisation.objects.public())
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return filterset

    def public_events(self):
        events = Event.objects.public()
        return self.registry_filterset().filter_events(events)


CURSOR_ORDERINGS = {
    "name": ("name_en", "slug"),
    "-name": ("-name_en", "-slug"),
    "latest": ("latest_key", "slug"),
    "-latest": ("-latest_key", "-slug"),
}


@extend_schema(parameters=FILTER_PARAMETERS)
class OrganisationViewSet(RegistryFiltering, viewsets.ReadOnlyModelViewSet):
    """Public organisations; a detail carries its public events and their citations."""

    lookup_field = "slug"
    lookup_value_regex = "[^/]+"  # any ID reaches the API, which answers a JSON 404
    pagination_class = RegistryCursorPagination

    def get_queryset(self):
        if self.action == "retrieve":
            events = (
                Event.objects.public()
                .chronological()
                .select_related("organisation")
                .prefetch_related(
                    "reasons", Prefetch("citations", Citation.objects.select_related("source"))
                )
            )
            return Organisation.objects.public().prefetch_related(
                "aliases", Prefetch("events", queryset=events, to_attr="public_events")
            )
        ordering = self.request.query_params.get("ordering", "").strip()
        self.cursor_ordering = CURSOR_ORDERINGS.get(ordering)
        organisations = self.registry_filterset().qs.prefetch_related("aliases")
        # A cursor needs a value on every row; undated records sort first.
        return organisations.annotate(
            latest_key=Coalesce("public_latest_event_on", Value(dt.date(1, 1, 1)))
        )

    def get_serializer_class(self):
        return OrganisationDetailSerializer if self.action == "retrieve" else OrganisationSerializer


@extend_schema(parameters=FILTER_PARAMETERS)
class EventViewSet(RegistryFiltering, viewsets.ReadOnlyModelViewSet):
    """Public events, one per step on an organisation's timeline, with their citations."""

    serializer_class = EventSerializer
    lookup_field = "uid"
    lookup_value_regex = "[^/]+"
    pagination_class = EventCursorPagination

    def get_queryset(self):
        events = Event.objects.public() if self.action == "retrieve" else self.public_events()
        return events.select_related("organisation").prefetch_related(
            "reasons", Prefetch("citations", Citation.objects.select_related("source"))
        )


@extend_schema(parameters=FILTER_PARAMETERS)
class SourceViewSet(RegistryFiltering, viewsets.ReadOnlyModelViewSet):
    """Sources cited by public events (those of the selected events, when filtered)."""

    serializer_class = SourceSerializer
    lookup_field = "uid"
    lookup_value_regex = "[^/]+"
    pagination_class = SourceCursorPagination

    def get_queryset(self):
        if self.action == "retrieve":
            return Source.objects.public()
        return Source.objects.filter(pk__in=exports.public_sources_of(self.public_events()))


@extend_schema(
    parameters=[OpenApiParameter("updated_since", dt.datetime, description="Only since then.")]
)
class WithdrawnList(generics.ListAPIView):
    """Tombstones: organisations once public that no longer are. A synced copy drops them.

    `withdrawn` is true, with the registry's public reason, for a record withdrawn on
    purpose; otherwise the record was taken out of public view for a reason not given.
    """

    serializer_class = WithdrawnSerializer
    pagination_class = RegistryCursorPagination

    def get_queryset(self):
        tombstones = Organisation.objects.no_longer_public().annotate(
            withdrawn_publicly_flag=ExpressionWrapper(
                Q(review_state=ReviewState.WITHDRAWN, embargoed=False),
                output_field=BooleanField(),
            )
        )
        since = self.request.query_params.get("updated_since")
        if since:
            filterset = RegistryFilterSet({"updated_since": since})
            if not filterset.is_valid():
                raise ValidationError(filterset.errors)
            tombstones = tombstones.filter(
                updated_at__gte=filterset.form.cleaned_data["updated_since"]
            )
        return tombstones


class ReleaseList(generics.ListAPIView):
    """Versioned, immutable bulk releases, newest first, with checksums and how to cite them."""

    serializer_class = ReleaseSerializer
    queryset = Release.objects.all()
    pagination_class = None


class TaxonomyView(APIView):
    """The controlled vocabularies, with English and Chinese labels."""

    VOCABULARIES = {
        "organisation_types": OrganisationType,
        "statuses": Status,
        "event_types": EventType,
        "reasons": ReasonCategory,
        "confidence": Confidence,
    }

    @extend_schema(
        responses={
            200: {
                "type": "object",
                "additionalProperties": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Choice"},
                },
            }
        }
    )
    def get(self, request):
        return Response(
            {name: self.labelled(choices) for name, choices in self.VOCABULARIES.items()}
        )

    @staticmethod
    def labelled(choices):
        rows = []
        for value, label in choices.choices:
            with translation.override("zh-hant"):
                label_zh = str(label)
            with translation.override("en"):
                rows.append({"code": value, "label_en": str(label), "label_zh": label_zh})
        return ChoiceSerializer(rows, many=True).data


# --- Bulk exports -------------------------------------------------------------------------

EXPORT_FORMATS = {
    "events.csv": "text/csv; charset=utf-8",
    "events.json": "application/json",
    "events.ndjson": "application/x-ndjson",
    "organisations.csv": "text/csv; charset=utf-8",
    "sources.csv": "text/csv; charset=utf-8",
}


class ExportView(RegistryFiltering, APIView):
    """Stream a whole (filtered) table; `?bom=1` adds a byte-order mark for Excel."""

    @extend_schema(
        parameters=[
            OpenApiParameter("name", str, OpenApiParameter.PATH, enum=list(EXPORT_FORMATS)),
            *FILTER_PARAMETERS,
            OpenApiParameter("bom", bool),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): {"type": "array", "items": {"type": "object"}},
            (200, "application/x-ndjson"): OpenApiTypes.STR,
        },
    )
    def get(self, request, name):
        bom = request.query_params.get("bom") in ("1", "true", "yes")
        events = self.public_events()
        if name == "events.csv":
            if exports.uses_copy(events.db):
                body = exports.csv_lines_from_copy(events, bom=bom, using=events.db)
            else:
                body = exports.csv_lines(exports.event_rows(events), exports.EVENT_COLUMNS, bom=bom)
        elif name == "events.json":
            body = exports.json_array(exports.event_rows(events))
        elif name == "events.ndjson":
            body = exports.ndjson_lines(exports.event_rows(events))
        elif name == "organisations.csv":
            rows = exports.organisation_rows(self.registry_filterset().qs)
            body = exports.csv_lines(rows, exports.ORGANISATION_COLUMNS, bom=bom)
        else:
            rows = exports.source_rows(exports.public_sources_of(events))
            body = exports.csv_lines(rows, exports.SOURCE_COLUMNS, bom=bom)
        response = StreamingHttpResponse(body, content_type=EXPORT_FORMATS[name])
        response["Content-Disposition"] = f'attachment; filename="closures-{name}"'
        return response

"""The read-only REST API and the bulk export endpoints under /api/v1/.

Every list starts from the public querysets and the one RegistryFilterSet of the listing, so
the same query string selects the same records on the site, in the API and in the exports.
"""

import datetime as dt

from django.db.models import BooleanField, ExpressionWrapper, Q, Value
from django.db.models.functions import Coalesce
from django.http import StreamingHttpResponse
from django.utils import timezone, translation
from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from . import caching, exports
from .filters import RegistryFilterSet
from .models import (
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
    TaxonomiesSerializer,
    WithdrawnSerializer,
)

MAX_PAGE_SIZE = 500
# Cursor positions are IDs, names or dates: anything longer was not made by this API.
MAX_CURSOR_POSITION = 400
DATE_CURSOR_FIELDS = frozenset({"latest_key"})


class RegistryCursorPagination(CursorPagination):
    """Cursor pages: as fast on page 2,000 as on page 1, and stable while records change."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "slug"

    def decode_cursor(self, request):
        """A cursor the API did not give answers 400, whatever position it was crafted with."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError(
                {"cursor": "Not a cursor this API gave; follow `next`."}
            ) from None
        if cursor is not None and not self.position_is_valid(cursor.position):
            raise ValidationError({"cursor": "Not a cursor this API gave; follow `next`."})
        return cursor

    def position_is_valid(self, position) -> bool:
        if position is None:
            return True
        if len(position) > MAX_CURSOR_POSITION or "\x00" in position:
            return False
        if self.ordering[0].lstrip("-") in DATE_CURSOR_FIELDS:
            try:
                dt.date.fromisoformat(position)
            except ValueError:
                return False
        return True

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is not None and (not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE):
            raise ValidationError({"page_size": f"A whole number from 1 to {MAX_PAGE_SIZE}."})
        return super().get_page_size(request)


class EventCursorPagination(RegistryCursorPagination):
    ordering = "uid"


class SourceCursorPagination(RegistryCursorPagination):
    ordering = "uid"


class RegistryFilterBackend(DjangoFilterBackend):
    """Filter every API list and export with the listing's own RegistryFilterSet.

    The FilterSet always selects organisations (from the public gate); a view whose rows are
    events or sources narrows them to those of the selected organisations and events through
    `narrow()`, so one query string selects the same records on every channel. A bad value
    answers 400 naming the parameter.
    """

    def get_filterset_class(self, view, queryset=None):
        return RegistryFilterSet

    def get_filterset_kwargs(self, request, queryset, view):
        return {
            "data": request.query_params,
            "queryset": Organisation.objects.public(),
            "request": request,
        }

    def filterset(self, request, view) -> RegistryFilterSet:
        filterset = self.get_filterset(request, None, view)
        if not filterset.is_valid():
            raise utils.translate_validation(filterset.errors)
        return filterset

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "action", None) == "retrieve":
            return queryset
        return view.narrow(self.filterset(request, view), queryset)


class VersionCachedReads:
    """Repeated anonymous reads come from the shared cache, keyed by the data version.

    The cache is consulted inside the view, after DRF has authenticated and throttled the
    request, so the anonymous rate limit still counts every request.
    """

    def list(self, request, *args, **kwargs):
        return caching.cached_api_read(
            request, lambda: super(VersionCachedReads, self).list(request, *args, **kwargs)
        )

    def retrieve(self, request, *args, **kwargs):
        return caching.cached_api_read(
            request, lambda: super(VersionCachedReads, self).retrieve(request, *args, **kwargs)
        )


class RegistryOrdering(OrderingFilter):
    """Sort by `name` or `latest` (`-` reverses), as on the site; cursors need a unique order."""

    ORDERINGS = {
        "name": ("name_en", "slug"),
        "-name": ("-name_en", "-slug"),
        "latest": ("latest_key", "slug"),
        "-latest": ("-latest_key", "-slug"),
    }

    def get_ordering(self, request, queryset, view):
        value = request.query_params.get(self.ordering_param, "").strip()
        return self.ORDERINGS.get(value) or self.get_default_ordering(view)

    def get_default_ordering(self, view):
        return ("slug",)

    def get_schema_operation_parameters(self, view):
        # The FilterSet documents `ordering` with its choices; one description is enough.
        return []


def example_id(name: str, value: str, description: str):
    """Document a detail's ID with one that exists in the curated data, so "Try it" works."""
    return extend_schema_view(
        retrieve=extend_schema(
            parameters=[
                OpenApiParameter(
                    name,
                    str,
                    OpenApiParameter.PATH,
                    description=description,
                    examples=[OpenApiExample(value, value=value)],
                )
            ]
        )
    )


@example_id("slug", "apple-daily", "The organisation's permanent ID.")
class OrganisationViewSet(VersionCachedReads, viewsets.ReadOnlyModelViewSet):
    """Public organisations; a detail carries its public events and their citations."""

    lookup_field = "slug"
    lookup_value_regex = "[^/]+"  # any ID reaches the API, which answers a JSON 404
    pagination_class = RegistryCursorPagination
    filter_backends = [RegistryFilterBackend, RegistryOrdering]

    def get_queryset(self):
        if self.action == "retrieve":
            return (
                Organisation.objects.public()
                .with_public_parent()
                .with_public_events(Event.objects.public().select_related("organisation"))
                .prefetch_related("aliases")
            )
        # A cursor needs a value on every row; undated records sort first.
        return (
            Organisation.objects.public()
            .with_public_parent()
            .prefetch_related("aliases")
            .annotate(latest_key=Coalesce("public_latest_event_on", Value(dt.date(1, 1, 1))))
        )

    @staticmethod
    def narrow(filterset, organisations):
        return filterset.filter_queryset(organisations)

    def get_serializer_class(self):
        return OrganisationDetailSerializer if self.action == "retrieve" else OrganisationSerializer


@example_id("uid", "hkctu-societies-removed", "The event's permanent ID.")
class EventViewSet(VersionCachedReads, viewsets.ReadOnlyModelViewSet):
    """Public events, one per step on an organisation's timeline, with their citations."""

    serializer_class = EventSerializer
    lookup_field = "uid"
    lookup_value_regex = "[^/]+"
    pagination_class = EventCursorPagination
    filter_backends = [RegistryFilterBackend]

    def get_queryset(self):
        return Event.objects.public().select_related("organisation").with_reasons_and_citations()

    @staticmethod
    def narrow(filterset, events):
        return filterset.filter_events(events)


@example_id("uid", "src-46f98800a674", "The source's permanent ID.")
class SourceViewSet(VersionCachedReads, viewsets.ReadOnlyModelViewSet):
    """Sources cited by public events (those of the selected events, when filtered)."""

    serializer_class = SourceSerializer
    lookup_field = "uid"
    lookup_value_regex = "[^/]+"
    pagination_class = SourceCursorPagination
    filter_backends = [RegistryFilterBackend]

    def get_queryset(self):
        return Source.objects.public()

    @staticmethod
    def narrow(filterset, sources):
        events = filterset.filter_events(Event.objects.public())
        return sources.filter(pk__in=exports.public_sources_of(events))


@extend_schema(
    parameters=[OpenApiParameter("updated_since", dt.datetime, description="Only since then.")]
)
class WithdrawnList(generics.ListAPIView):
    """Tombstones: organisations once public that no longer are. A synced copy drops them.

    `withdrawn` is true, with the reason, only for a withdrawal whose reason a reviewer marked
    public; any other record (embargoed, withdrawn without a public reason, hidden through its
    events) is only "no longer public". `since` is a day, not a time, and `updated_since`
    compares days: a tombstone must not tell when something hidden happened.
    A record that was never public never appears here.
    """

    serializer_class = WithdrawnSerializer
    pagination_class = RegistryCursorPagination

    def get_queryset(self):
        tombstones = Organisation.objects.no_longer_public().annotate(
            withdrawn_publicly_flag=ExpressionWrapper(
                Q(
                    review_state=ReviewState.WITHDRAWN,
                    embargoed=False,
                    withdrawn_reason_public=True,
                ),
                output_field=BooleanField(),
            )
        )
        since = self.request.query_params.get("updated_since")
        if since:
            filterset = RegistryFilterSet({"updated_since": since})
            if not filterset.is_valid():
                raise ValidationError(filterset.errors)
            moment = filterset.form.cleaned_data["updated_since"]
            tombstones = tombstones.filter(public_changed_at__date__gte=timezone.localdate(moment))
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

    @extend_schema(responses={200: TaxonomiesSerializer})
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


class ExportView(generics.GenericAPIView):
    """Stream a whole (filtered) table; `?bom=1` adds a byte-order mark for Excel."""

    filter_backends = [RegistryFilterBackend]
    filters_a_download = True
    pagination_class = None

    def get_queryset(self):
        return Event.objects.public()

    @staticmethod
    def narrow(filterset, events):
        return filterset.filter_events(events)

    @extend_schema(
        parameters=[
            OpenApiParameter("name", str, OpenApiParameter.PATH, enum=list(EXPORT_FORMATS)),
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
        filterset = RegistryFilterBackend().filterset(request, self)
        events = filterset.filter_events(self.get_queryset())
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
            rows = exports.organisation_rows(filterset.qs)
            body = exports.csv_lines(rows, exports.ORGANISATION_COLUMNS, bom=bom)
        else:
            rows = exports.source_rows(exports.public_sources_of(events))
            body = exports.csv_lines(rows, exports.SOURCE_COLUMNS, bom=bom)
        response = StreamingHttpResponse(body, content_type=EXPORT_FORMATS[name])
        response["Content-Disposition"] = f'attachment; filename="closures-{name}"'
        return response

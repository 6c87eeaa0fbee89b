from django.urls import path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from . import api
from .coverage_api import CoverageExportView, TrackerViewSet
from .schema_view import RegistrySchemaView

app_name = "api"

router = SimpleRouter()
router.register("organisations", api.OrganisationViewSet, basename="organisation")
router.register("events", api.EventViewSet, basename="event")
router.register("sources", api.SourceViewSet, basename="source")
router.register("trackers", TrackerViewSet, basename="tracker")

urlpatterns = [
    *router.urls,
    path("withdrawn/", api.WithdrawnList.as_view(), name="withdrawn"),
    path("releases/", api.ReleaseList.as_view(), name="releases"),
    path("taxonomies/", api.TaxonomyView.as_view(), name="taxonomies"),
    path("export/coverage.csv", CoverageExportView.as_view(), name="export-coverage"),
    re_path(
        r"^export/(?P<name>(events\.(csv|json|ndjson))|organisations\.csv|sources\.csv)$",
        api.ExportView.as_view(),
        name="export",
    ),
    path("schema/", RegistrySchemaView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]

from django.urls import path

from . import data_views, views
from .coverage_views import CoverageView
from .feeds import LatestRecordsFeed

app_name = "closures"

urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("organisations/", views.OrganisationListView.as_view(), name="organisation-list"),
    path(
        "organisations/<slug:slug>/",
        views.OrganisationDetailView.as_view(),
        name="organisation-detail",
    ),
    path("about/", views.AboutView.as_view(), name="about"),
    path("data/", data_views.DataView.as_view(), name="data"),
    path("coverage/", CoverageView.as_view(), name="coverage"),
    path("feed/", LatestRecordsFeed(), name="feed"),
]

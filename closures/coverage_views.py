"""The public coverage page: this registry beside other trackers' lists, gaps included.

Its figures come from `closures.coverage`, which starts from `Organisation.objects.public()`.
"""

from django.urls import reverse
from django.views.generic import TemplateView

from . import coverage
from .models import Organisation


class CoverageView(TemplateView):
    template_name = "closures/coverage.html"

    def get_context_data(self, **kwargs):
        trackers = coverage.coverage_table()
        listed = [tracker for tracker in trackers if tracker.entries_read]
        return super().get_context_data(
            registry_count=Organisation.objects.public().count(),
            trackers=trackers,
            totals={
                name: sum(getattr(tracker, name) for tracker in listed)
                for name in ("entries_read", "in_registry", "not_in_registry", "out_of_scope")
            },
            missing=coverage.missing_names(),
            export_url=reverse("api:export-coverage"),
            api_url=reverse("api:tracker-list"),
            **kwargs,
        )

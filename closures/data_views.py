"""The data page for researchers, the live codebook and the release downloads.

Every count here starts from the public querysets, as the exports do.
"""

from pathlib import Path

from django.conf import settings
from django.db.models import Count, Max
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from . import releases
from .models import Event, Organisation, Release, Source
from .views import export_links, json_ld

# Every live export, with what one row is.
EXPORT_DESCRIPTIONS = {
    "events.csv": gettext_lazy("one row per event, with its organisation and sources"),
    "events.json": gettext_lazy("the same rows as a JSON array"),
    "events.ndjson": gettext_lazy("the same rows, one JSON object per line"),
    "organisations.csv": gettext_lazy("one row per organisation"),
    "sources.csv": gettext_lazy("one row per source cited by a public event"),
}


class DataView(TemplateView):
    """Bulk data for researchers: releases to cite, the API and the exports."""

    template_name = "closures/data.html"

    def get_context_data(self, **kwargs):
        release_list = list(Release.objects.all())
        latest = release_list[0] if release_list else None
        # Only public data moves this time: a hidden edit never dates the exports.
        organisations = Organisation.objects.public().aggregate(
            count=Count("pk"), updated=Max("public_changed_at")
        )
        counts = {
            "events": Event.objects.public().count(),
            "organisations": organisations["count"],
            "sources": Source.objects.public().count(),
        }
        events_csv = self.request.build_absolute_uri(
            reverse("api:export", kwargs={"name": "events.csv"})
        )
        return super().get_context_data(
            releases=[
                {"release": release, "citation": releases.citation_text(release)}
                for release in release_list
            ],
            downloads=[
                {
                    "name": name,
                    "url": reverse("api:export", kwargs={"name": name}),
                    "format": name.rsplit(".", 1)[1].upper(),
                    "rows": counts[name.split(".")[0]],
                    "what": what,
                }
                for name, what in EXPORT_DESCRIPTIONS.items()
            ],
            updated=organisations["updated"],
            rate_limit=rate_limit_text(settings.API_ANONYMOUS_RATE),
            events_csv=events_csv,
            api_url=self.request.build_absolute_uri(reverse("api:organisation-list")),
            export_links=export_links(self.request.GET.__class__()),
            structured_data=json_ld(releases.dataset_jsonld(latest)),
            **kwargs,
        )


def rate_limit_text(rate: str) -> str:
    """'120/minute' as '120 requests per minute'; the API's limit stated as a number."""
    if rate == "off":
        return _("no limit")
    number, _slash, period = rate.partition("/")
    periods = {
        "s": _("per second"),
        "m": _("per minute"),
        "h": _("per hour"),
        "d": _("per day"),
    }
    return _("%(number)s requests %(period)s per client") % {
        "number": number,
        "period": periods.get(period[:1], period),
    }


def codebook(request):
    """The codebook of the live exports: every column, its type, meaning and allowed values."""
    text = releases.codebook(_("live export"))
    return HttpResponse(text, content_type="text/markdown; charset=utf-8")


def download_release(request, version):
    """Serve a release's zip; its bytes never change, so caches may keep it for good.

    A redacted release is served only as its redacted file (`2026.11.0-r1`): its earlier
    addresses redirect there rather than answer 410, so citations keep leading to the
    release, while the new name and checksum show that the file is not the original.
    """
    release = get_object_or_404(Release, version=version.split("-r", 1)[0])
    if version != release.file_version:
        if version not in {release.version, *release_redaction_versions(release)}:
            raise Http404("No such release file.")
        response = HttpResponseRedirect(release.get_download_url())
        response["Cache-Control"] = "no-cache"  # a later redaction moves it again
        return response
    path = Path(settings.RELEASES_DIR) / release.filename
    if not path.is_file():
        raise Http404("The release file is missing from RELEASES_DIR.")
    response = FileResponse(path.open("rb"), as_attachment=True, filename=release.filename)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def release_redaction_versions(release: Release) -> list[str]:
    return [f"{release.version}-r{number}" for number in range(1, release.redaction)]

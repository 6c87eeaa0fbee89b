"""The public site: listing, record, overview, about and data pages, release downloads, robots.txt.

Every page starts from `Organisation.objects.public()` or `Event.objects.public()`.
"""

import json
from pathlib import Path

from django.conf import settings
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.generic import DetailView, ListView, TemplateView

from . import caching, charts, releases
from .columns import CONFIDENCE_DEFINITIONS
from .dates import DatePrecision
from .filters import RegistryFilterSet
from .models import (
    CLOSURE_EVENT_TYPES,
    Citation,
    Confidence,
    DestinationCountries,
    Event,
    Organisation,
    OrganisationType,
    Release,
)

# The same query string selects the same rows in the exports as on the page.
EXPORT_FILES = ("organisations.csv", "events.csv")
MULTIPLE_CHOICE_FACETS = ("org_type", "status", "event_type", "reason", "country")
# The filters panel starts open when one of these is in use, so a visitor sees what applies.
FILTERS_BEHIND_DISCLOSURE = (*MULTIPLE_CHOICE_FACETS, "year", "date_from", "date_to")


def export_links(params) -> dict[str, str]:
    """Return the CSV export URLs for the filters of the current page (without its page)."""
    query = params.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    return {
        name.split(".")[0]: reverse("api:export", kwargs={"name": name})
        + (f"?{encoded}" if encoded else "")
        for name in EXPORT_FILES
    }


def json_ld(data: dict) -> str:
    """Serialise structured data for a <script> block; <, > and & cannot close it early."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1)
    escapes = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}
    return mark_safe(text.translate(escapes))


class WithdrawnRecordMixin:
    """Answer 410 Gone at the address of a record the public once saw and no longer does.

    The page names the record and gives the reason only for a withdrawal whose reason a
    reviewer marked public; any other once-public record (embargoed, withdrawn without a
    public reason, hidden through its events) says only that it is no longer public, so a
    safety embargo cannot be told apart from an ordinary withdrawal. A record that was never
    public stays a plain 404, indistinguishable from one that never existed.
    """

    withdrawn_template_name = "closures/organisation_withdrawn.html"

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            gone = Organisation.objects.no_longer_public().filter(slug=kwargs.get("slug"))
            if not gone.exists():
                raise
            explained = Organisation.objects.withdrawn_with_public_reason()
            context = {"organisation": explained.filter(slug=kwargs.get("slug")).first()}
            return render(request, self.withdrawn_template_name, context, status=410)


class CountedPaginator(Paginator):
    """A paginator told its count, so it does not count the rows again."""

    def __init__(self, *args, count: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.known_count = count

    @property
    def count(self) -> int:
        return self.known_count


def selected_count(counts: dict[str, dict[str, int]], chosen_types: list[str]) -> int:
    """How many organisations the whole selection gives, from its facet counts.

    The type facet is counted with the type filter left out, and each organisation has one
    type: the sum over the chosen types (or all types) is exactly the selection's size.
    """
    by_type = counts.get("org_type", {})
    return sum(n for value, n in by_type.items() if not chosen_types or value in chosen_types)


class OrganisationListView(ListView):
    template_name = "closures/organisation_list.html"
    context_object_name = "organisations"
    paginate_by = 25
    # What the page shows; the notes and the search columns stay in the database.
    listed_fields = (
        "slug",
        "name_en",
        "name_zh",
        "org_type",
        "public_status",
        "public_status_unconfirmed",
        "public_latest_event_on",
    )

    def get_queryset(self):
        public_events = Event.objects.public().chronological()
        organisations = (
            Organisation.objects.public()
            .for_listing()
            .only(*self.listed_fields)
            .prefetch_related(Prefetch("events", queryset=public_events, to_attr="public_events"))
        )
        self.filterset = RegistryFilterSet(
            self.request.GET, queryset=organisations, request=self.request
        )
        if not self.filterset.is_valid():
            return Organisation.objects.none()
        return self.filterset.qs

    def get_paginator(self, queryset, per_page, **kwargs):
        if not self.counts:
            return super().get_paginator(queryset, per_page, **kwargs)
        chosen = self.filterset.form.cleaned_data.get("org_type") or []
        count = selected_count(self.counts, chosen)
        return CountedPaginator(queryset, per_page, count=count, **kwargs)

    def get_context_data(self, **kwargs):
        valid = self.filterset.is_valid()
        counts = self.counts = self.filterset.facet_counts() if valid else {}
        return super().get_context_data(
            filter=self.filterset,
            facets=self.facets(counts),
            years=self.years(counts.get("year", {})),
            counted=bool(counts),
            exports=export_links(self.request.GET) if valid else None,
            filtered=any(self.request.GET.get(name) for name in FILTERS_BEHIND_DISCLOSURE),
            **kwargs,
        )

    def facets(self, counts):
        """Describe each multiple-choice filter with its options, counts and current choice."""
        form = self.filterset.form
        facets = []
        for name in MULTIPLE_CHOICE_FACETS:
            field = form.fields[name]
            chosen = set(self.request.GET.getlist(name))
            facet_counts = counts.get(name, {})
            options = [
                {
                    "value": value,
                    "label": label,
                    "count": facet_counts.get(str(value), 0),
                    "checked": value in chosen,
                }
                for value, label in field.choices
            ]
            if counts:
                # An option that would give nothing is noise, unless it is the one chosen.
                options = [option for option in options if option["count"] or option["checked"]]
            facets.append(
                {
                    "name": name,
                    "label": field.label,
                    "options": options,
                    "errors": form[name].errors,
                }
            )
        return facets

    def years(self, year_counts):
        year = self.filterset.form.cleaned_data.get("year") if year_counts else None
        chosen = "" if year is None else str(int(year))
        if chosen:
            # A year that gives nothing stays selectable, so the form shows what was asked.
            year_counts = {chosen: 0, **year_counts}
        return [
            {"value": year, "count": count, "selected": year == chosen}
            for year, count in sorted(year_counts.items(), reverse=True)
        ]


class OrganisationDetailView(WithdrawnRecordMixin, DetailView):
    template_name = "closures/organisation_detail.html"
    context_object_name = "organisation"

    def get_queryset(self):
        public_events = (
            Event.objects.public()
            .chronological()
            .prefetch_related(
                "reasons",
                Prefetch("citations", queryset=Citation.objects.select_related("source")),
            )
        )
        return Organisation.objects.public().prefetch_related(
            "aliases", Prefetch("events", queryset=public_events, to_attr="public_events")
        )

    def get_context_data(self, **kwargs):
        organisation = self.object
        # One date for the page, the citation, BibTeX and JSON-LD: when what the public sees
        # last changed, in Hong Kong time, so a hidden edit never shows and all four agree.
        updated = timezone.localtime(organisation.public_changed_at)
        url = self.request.build_absolute_uri(organisation.get_absolute_url())
        return super().get_context_data(
            parent=organisation.public_parent(),
            sub_organisations=list(organisation.public_sub_organisations()),
            last_updated=updated,
            stable_url=url,
            citation_text=self.citation_text(organisation, url, updated),
            bibtex=self.bibtex(organisation, url, updated),
            structured_data=json_ld(self.structured_data(organisation, url, updated)),
            **kwargs,
        )

    @staticmethod
    def names(organisation) -> str:
        return " / ".join(name for name in (organisation.name_en, organisation.name_zh) if name)

    def citation_text(self, organisation, url, updated) -> str:
        return _(
            "“%(name)s”. Hong Kong Civil Society Closures Registry, record %(slug)s. "
            "Last updated %(updated)s. %(url)s"
        ) % {
            "name": self.names(organisation),
            "slug": organisation.slug,
            "updated": updated.date().isoformat(),
            "url": url,
        }

    def bibtex(self, organisation, url, updated) -> str:
        def braces_out(text):
            return text.replace("{", "").replace("}", "")

        fields = [
            ("title", braces_out(self.names(organisation))),
            ("author", "{Hong Kong Civil Society Closures Registry}"),
            ("year", str(updated.year)),
            ("url", url),
            ("note", f"Record {organisation.slug}, last updated {updated.date().isoformat()}"),
        ]
        body = ",\n".join(f"  {key} = {{{value}}}" for key, value in fields)
        return f"@misc{{hkcscr-{organisation.slug},\n{body}\n}}"

    def structured_data(self, organisation, url, updated) -> dict:
        alternate = [organisation.name_zh, organisation.acronym]
        alternate += [alias.name for alias in organisation.aliases.all()]
        sources = {
            citation.source.url
            for event in organisation.public_events
            for citation in event.citations.all()
        }
        return {
            "@context": "https://schema.org",
            "@type": "Dataset",
            "name": self.names(organisation),
            "url": url,
            "identifier": organisation.slug,
            "dateModified": updated.isoformat(),
            "license": releases.LICENCE_URL,
            "inLanguage": ["en", "zh-Hant"],
            "isPartOf": {
                "@type": "Dataset",
                "name": "Hong Kong Civil Society Closures Registry",
                "url": self.request.build_absolute_uri(reverse("closures:overview")),
            },
            "about": {
                "@type": "Organization",
                "name": organisation.name_en or organisation.name_zh,
                "alternateName": [name for name in alternate if name],
                **({"sameAs": organisation.website} if organisation.website else {}),
            },
            "citation": sorted(sources),
        }


class OverviewView(TemplateView):
    template_name = "closures/overview.html"

    def get_context_data(self, **kwargs):
        version = caching.data_version(self.request)
        figures = caching.cached("overview", version, (get_language() or "",), self.figures)
        return super().get_context_data(**figures, **kwargs)

    def figures(self) -> dict:
        """The aggregates over every public record: computed once per data version."""
        organisations = Organisation.objects.public()
        events = Event.objects.public()
        by_type = [
            {**row, "label": OrganisationType(row["org_type"]).label}
            for row in organisations.figures_by_type()
        ]
        quarters = charts.fill_quarters(events.closures_by_quarter())
        country_name = DestinationCountries().name
        destinations = [
            {**row, "name": country_name(row["destination_country"])}
            for row in events.destinations()
        ]
        year_only = (
            events.filter(event_type__in=CLOSURE_EVENT_TYPES)
            .key_precision_is(DatePrecision.YEAR)
            .count()
        )
        return {
            "recorded": sum(row["recorded"] for row in by_type),
            "closed_or_left": sum(row["closed_or_left"] for row in by_type),
            "sub_bodies": organisations.sub_bodies().count(),
            "by_type": by_type,
            "quarters": quarters,
            "quarter_chart": charts.quarter_columns(quarters),
            "year_only": year_only,
            "destinations": destinations,
            "destination_chart": charts.horizontal_bars(
                [(row["name"], row["organisations"]) for row in destinations]
            ),
            "latest": list(organisations.latest_additions()[:8]),
        }


class AboutView(TemplateView):
    def get_context_data(self, **kwargs):
        # The definitions the codebook and the model's help_text give, in the page's language.
        levels = [
            (Confidence(level).label, definition)
            for level, definition in CONFIDENCE_DEFINITIONS.items()
        ]
        return super().get_context_data(
            corrections_email=settings.REGISTRY_CORRECTIONS_EMAIL,
            confidence_levels=levels,
            **kwargs,
        )

    def get_template_names(self):
        language = "zh-hant" if (get_language() or "").startswith("zh") else "en"
        return [f"closures/about_{language}.html"]


class DataView(TemplateView):
    """Bulk data for researchers: releases to cite, the API and the exports."""

    template_name = "closures/data.html"

    def get_context_data(self, **kwargs):
        release_list = list(Release.objects.all())
        latest = release_list[0] if release_list else None
        return super().get_context_data(
            releases=[
                {"release": release, "citation": releases.citation_text(release)}
                for release in release_list
            ],
            export_links=export_links(self.request.GET.__class__()),
            structured_data=json_ld(releases.dataset_jsonld(latest)),
            **kwargs,
        )


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


@require_GET
def robots_txt(request):
    sitemap_url = request.build_absolute_uri(reverse("sitemap"))
    lines = ["User-agent: *", "Disallow: /admin/", "", f"Sitemap: {sitemap_url}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")

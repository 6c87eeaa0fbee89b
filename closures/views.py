"""The public site: listing, record, overview, about and data pages, release downloads, robots.txt.

Every page starts from `Organisation.objects.public()` or `Event.objects.public()`.
"""

import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Max, Prefetch, Q
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.generic import DetailView, ListView, TemplateView

from . import caching, charts, releases
from .columns import CONFIDENCE_DEFINITIONS
from .dates import DatePrecision, format_partial_date
from .filters import RegistryFilterSet
from .lede import described_as, record_lede
from .models import (
    CLOSURE_EVENT_TYPES,
    Confidence,
    DestinationCountries,
    Event,
    EventType,
    Organisation,
    OrganisationType,
)
from .pagination import KeysFirstPaginator
from .templatetags.registry import lang_tag

# The same query string selects the same rows in the exports as on the page.
EXPORT_FILES = ("organisations.csv", "events.csv")
MULTIPLE_CHOICE_FACETS = ("org_type", "status", "event_type", "reason", "country")
# What a visitor reads under a facet where the API's description (the help text) is too terse.
FACET_HINTS = {"country": gettext_lazy("Where a relocation abroad went.")}
# The filters summary reads "Edit filters" when one of these is in use.
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


def why_matched(organisation, query: str) -> str:
    """The line of its search text a search matched, when the visible names do not show it.

    Under "HKCTU" a row headed "Hong Kong Confederation of Trade Unions" says nothing more; under
    "threats" it quotes the stated reason that matched.
    """
    words = query.casefold().split()
    shown = " ".join((organisation.name_en, organisation.name_zh)).casefold()
    if all(word in shown for word in words):
        return ""
    for line in organisation.search_text.splitlines():
        folded = line.casefold()
        if folded not in shown and any(word in folded for word in words):
            return line
    return ""


def page_language() -> str:
    return "zh-hant" if (get_language() or "").startswith("zh") else "en"


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
            organisation = explained.filter(slug=kwargs.get("slug")).first()
            changed = gone.values_list("public_changed_at", flat=True).first()
            other = "en" if page_language() == "zh-hant" else "zh-hant"
            context = {
                "organisation": organisation,
                # The day it left public view, as the API's withdrawn/ list gives it: no finer.
                "since": timezone.localdate(changed) if changed else None,
                # The page's language first, then the other one marked with its `lang`.
                "notices": [
                    withdrawal_notice(organisation, page_language(), page_language()),
                    withdrawal_notice(organisation, other, page_language()),
                ],
            }
            return render(request, self.withdrawn_template_name, context, status=410)


def withdrawal_notice(organisation, code: str, page_code: str) -> dict:
    """One language's part of a 410 page: its reason, and `lang` tags where the text differs.

    The Chinese part gives the Chinese reason when a reviewer wrote one, else the English
    reason marked as English, so a screen reader pronounces it right.
    """
    reason, reason_code = "", code
    if organisation is not None:
        reason = organisation.withdrawn_reason
        reason_code = "en"
        if code == "zh-hant" and organisation.withdrawn_reason_zh:
            reason, reason_code = organisation.withdrawn_reason_zh, "zh-hant"
    return {
        "code": code,
        "lang": lang_tag(code) if code != page_code else "",
        "reason": reason,
        "reason_lang": lang_tag(reason_code) if reason_code != code else "",
    }


class CountedPaginator(KeysFirstPaginator):
    """A paginator told its count, so it does not count the rows again; a page's keys are
    found first, from the listing order's index alone, then its rows by key."""

    leading_keys = ()

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
        if self.request.GET.get("q", "").strip():
            # Each row under a search says why it matched, from the text the search reads.
            organisations = organisations.only(*self.listed_fields, "search_text")
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

    def paginate_queryset(self, queryset, page_size):
        """A page number past the end shows the last page rather than a 404."""
        paginator = self.get_paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        valid = self.filterset.is_valid()
        counts = self.counts = self.filterset.facet_counts() if valid else {}
        facets = self.facets(counts)
        context = super().get_context_data(
            filter=self.filterset,
            facets=facets,
            years=self.years(counts.get("year", {})),
            counted=bool(counts),
            exports=export_links(self.request.GET) if valid else None,
            filtered=any(self.request.GET.get(name) for name in FILTERS_BEHIND_DISCLOSURE),
            chips=self.chips(facets) if valid else [],
            ranked=bool(self.request.GET.get("q")),
            **kwargs,
        )
        query = self.request.GET.get("q", "").strip() if valid else ""
        for organisation in context["object_list"]:
            organisation.matched_text = why_matched(organisation, query) if query else ""
        return context

    def chips(self, facets) -> list[dict]:
        """Each filter in use, with the address of this page without it."""

        def without(name, value):
            query = self.request.GET.copy()
            query.setlist(name, [each for each in query.getlist(name) if each != value])
            query.pop("page", None)
            encoded = query.urlencode()
            return f"?{encoded}" if encoded else self.request.path

        data = self.filterset.form.cleaned_data
        chips = []
        if query := self.request.GET.get("q", "").strip():
            # In the language's own quotation marks: 「…」 in Chinese.
            label = _("“%(query)s”") % {"query": query}
            chips.append({"label": label, "url": without("q", self.request.GET["q"])})
        for facet in facets:
            for option in facet["options"]:
                if option["checked"]:
                    url = without(facet["name"], str(option["value"]))
                    chips.append({"label": option["label"], "url": url})
        if data.get("year") is not None:
            chips.append(
                {"label": str(int(data["year"])), "url": without("year", self.request.GET["year"])}
            )
        for name, text in (("date_from", _("from %(date)s")), ("date_to", _("to %(date)s"))):
            if data.get(name):
                label = text % {"date": format_partial_date(data[name], DatePrecision.DAY)}
                chips.append({"label": label, "url": without(name, self.request.GET[name])})
        return chips

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
                    "help": FACET_HINTS.get(name, field.help_text),
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
        return (
            Organisation.objects.public()
            .with_public_events()
            .prefetch_related(
                "aliases",
                # A parent the public may not see is never named: it reads as no parent.
                Prefetch("parent_organisation", queryset=Organisation.objects.public()),
            )
        )

    def get_context_data(self, **kwargs):
        organisation = self.object
        # One date for the page, the citation, BibTeX and JSON-LD: when what the public sees
        # last changed, in Hong Kong time, so a hidden edit never shows and all four agree.
        updated = timezone.localtime(organisation.public_changed_at)
        url = self.request.build_absolute_uri(organisation.get_absolute_url())
        accessed = timezone.localdate()
        one_record = f"?id={organisation.slug}"
        parent = organisation.parent_organisation
        lede = record_lede(organisation, organisation.public_events, parent=parent)
        return super().get_context_data(
            lede=record_lede(organisation, organisation.public_events, parent=parent, as_html=True),
            description_in_lede=bool(described_as(organisation)),
            page_description=lede,
            page_title=organisation.display_name(),
            canonical_url=url,
            name_lang=self.name_language(organisation),
            parent=parent,
            sub_organisations=list(organisation.public_sub_organisations()),
            last_updated=updated,
            stable_url=url,
            accessed=accessed,
            record_data={
                "api": reverse("api:organisation-detail", kwargs={"slug": organisation.slug}),
                "csv": reverse("api:export", kwargs={"name": "events.csv"}) + one_record,
                "json": reverse("api:export", kwargs={"name": "events.json"}) + one_record,
            },
            citation_text=self.citation_text(organisation, url, updated, accessed),
            bibtex=self.bibtex(organisation, url, updated, accessed),
            structured_data=json_ld(self.structured_data(organisation, url, updated)),
            **kwargs,
        )

    @staticmethod
    def name_language(organisation) -> str:
        """The `lang` of the heading when the record has no name in the page's language."""
        if page_language() == "zh-hant" and not organisation.name_zh:
            return "en"
        if page_language() == "en" and not organisation.name_en:
            return "zh-Hant"
        return ""

    @staticmethod
    def names(organisation) -> str:
        return " / ".join(name for name in (organisation.name_en, organisation.name_zh) if name)

    def citation_text(self, organisation, url, updated, accessed) -> str:
        return _(
            "“%(name)s”. Hong Kong Civil Society Closures Registry, record %(slug)s. "
            "Last updated %(updated)s. %(url)s (accessed %(accessed)s)"
        ) % {
            "name": self.names(organisation),
            "slug": organisation.slug,
            "updated": updated.date().isoformat(),
            "url": url,
            "accessed": accessed.isoformat(),
        }

    def bibtex(self, organisation, url, updated, accessed) -> str:
        def braces_out(text):
            return text.replace("{", "").replace("}", "")

        fields = [
            ("title", braces_out(self.names(organisation))),
            ("author", "{Hong Kong Civil Society Closures Registry}"),
            ("year", str(updated.year)),
            ("url", url),
            ("urldate", accessed.isoformat()),
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
        # From the quarter of the National Security Law, at the latest, to the current one.
        quarters = charts.fill_quarters(
            events.closures_by_quarter(),
            since=charts.MILESTONES[0][0],
            until=timezone.localdate(),
        )
        listing = reverse("closures:organisation-list")
        closure_types = "&".join(f"event_type={value}" for value in CLOSURE_EVENT_TYPES)
        for row in quarters:
            row["url"] = (
                f"{listing}?date_from={row['first_day']:%Y-%m-%d}"
                f"&date_to={row['last_day']:%Y-%m-%d}&{closure_types}"
            )
        closure_steps = events.filter(event_type__in=CLOSURE_EVENT_TYPES)
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
            # A phone shows the last three years without scrolling sideways.
            "recent_quarter_chart": charts.quarter_columns(quarters[-12:], width=360, height=240),
            **closure_steps.aggregate(
                closure_steps=Count("pk"),
                moved_abroad=Count(
                    "organisation", filter=Q(event_type=EventType.RELOCATED), distinct=True
                ),
            ),
            "busiest": max(quarters, key=lambda row: row["total"], default=None),
            # Only public data moves this time: a hidden edit never dates the figures.
            "data_as_of": organisations.aggregate(latest=Max("public_changed_at"))["latest"],
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
            (level, Confidence(level).label, definition)
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


@require_GET
def robots_txt(request):
    sitemap_url = request.build_absolute_uri(reverse("sitemap"))
    lines = ["User-agent: *", "Disallow: /admin/", "", f"Sitemap: {sitemap_url}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")

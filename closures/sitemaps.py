"""sitemap.xml: every public page in both languages, with hreflang alternates."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .models import Organisation


class PageSitemap(Sitemap):
    i18n = True
    alternates = True
    x_default = True

    def items(self):
        return [
            "closures:overview",
            "closures:organisation-list",
            "closures:about",
            "closures:coverage",
        ]

    def location(self, item):
        return reverse(item)


class OrganisationSitemap(Sitemap):
    i18n = True
    alternates = True
    x_default = True

    def items(self):
        return Organisation.objects.public().order_by("slug")

    def lastmod(self, item):
        return item.updated_at


SITEMAPS = {"pages": PageSitemap, "organisations": OrganisationSitemap}

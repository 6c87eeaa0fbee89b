from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path

from closures.data_views import codebook, download_release
from closures.sitemaps import SITEMAPS
from closures.views import robots_txt

urlpatterns = [
    path("admin/", admin.site.urls),
    path("_nested_admin/", include("nested_admin.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("closures.api_urls")),
    path(
        "releases/<str:version>.zip",
        download_release,
        name="release-download",
    ),
    path("codebook.md", codebook, name="codebook"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", robots_txt, name="robots"),
]
# Public pages carry their language in the URL (/en/…, /zh-hant/…) so each is shareable.
urlpatterns += i18n_patterns(path("", include("closures.urls")))

"""The view serving the API's OpenAPI schema."""

import threading

from django.utils import translation
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response


class RegistrySchemaView(SpectacularAPIView):
    """Serve the schema generated once per language and version.

    drf-spectacular's generator keeps state while it runs: concurrent first requests on a
    fresh process interfered and answered 500. One generation under a lock, then a copy.
    """

    _lock = threading.Lock()
    _schemas: dict = {}

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (translation.get_language(), version)
        with self._lock:
            if key not in self._schemas:
                generator = self.generator_class(
                    urlconf=self.urlconf, api_version=version, patterns=self.patterns
                )
                self._schemas[key] = generator.get_schema(request=request, public=self.serve_public)
        filename = self._get_filename(request, version)
        return Response(
            data=self._schemas[key],
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )

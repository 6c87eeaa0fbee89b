"""The OpenAPI schema generator of the API, with the errors every operation can give."""

from drf_spectacular.openapi import AutoSchema


class RegistrySchema(AutoSchema):
    """Document the errors every operation can give, so clients and the schema agree."""

    ERRORS = {
        "400": "A parameter (or a cursor) has a bad value; the body names each and what is wrong.",
        "404": "No public record has that ID.",
        "429": "Too many requests: wait the number of seconds in the Retry-After header.",
    }

    def get_filter_backends(self):
        # An export is one download, not a list, yet it takes the lists' filters.
        if getattr(self.view, "filters_a_download", False):
            return self.view.filter_backends
        return super().get_filter_backends()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        body = {"application/json": {"schema": {"type": "object", "additionalProperties": {}}}}
        for code, description in self.ERRORS.items():
            responses.setdefault(code, {"description": description, "content": body})
        return responses

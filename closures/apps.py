from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClosuresConfig(AppConfig):
    name = "closures"
    verbose_name = _("Closures registry")

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)

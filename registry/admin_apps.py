"""Django's admin app, with the registry's admin site (second factor) as its default site.

Apart from registry/admin_site.py because an app config is imported before models load.
"""

from django.contrib.admin.apps import AdminConfig


class RegistryAdminConfig(AdminConfig):
    default_site = "registry.admin_site.RegistryAdminSite"

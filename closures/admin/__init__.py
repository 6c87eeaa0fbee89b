"""The curator admin: declarative; multi-step work is handed to services and tasks.

Django autodiscovers `closures.admin`, so importing the modules that register the model
admins here is what puts them on the site.
"""

from . import pending, records, releases, sources, trackers  # noqa: F401  (registers the model admins)

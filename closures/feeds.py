"""Atom feed of public records, newest change first."""

from django.contrib.syndication.views import Feed
from django.db.models import F
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Organisation

FEED_LENGTH = 50


class LatestRecordsFeed(Feed):
    feed_type = Atom1Feed
    title = gettext_lazy("Hong Kong Civil Society Closures Registry: new and updated records")
    subtitle = gettext_lazy("Organisations recently published or updated in the registry.")
    link = reverse_lazy("closures:organisation-list")

    def items(self):
        return Organisation.objects.public().order_by(
            F("public_changed_at").desc(nulls_last=True), "-pk"
        )[:FEED_LENGTH]

    def item_title(self, item):
        return item.display_name()

    def item_description(self, item):
        names = " / ".join(name for name in (item.name_en, item.name_zh) if name)
        return _("%(names)s: %(type)s, %(status)s.") % {
            "names": names,
            "type": item.get_org_type_display(),
            "status": item.get_public_status_display()
            + (" " + _("(unconfirmed)") if item.public_status_unconfirmed else ""),
        }

    def item_pubdate(self, item):
        return item.first_published_at

    def item_updateddate(self, item):
        # Only public data moves this time: a hidden edit never reorders or redates the feed.
        return item.public_changed_at

    def item_guid(self, item):
        return f"tag:hkcscr,2024:organisation:{item.slug}"

    item_guid_is_permalink = False

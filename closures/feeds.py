"""Atom feed of public records, newest change first."""

from django.contrib.syndication.views import Feed
from django.db.models import F, Prefetch
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy

from .lede import record_lede
from .models import Organisation

FEED_LENGTH = 50


class LatestRecordsFeed(Feed):
    feed_type = Atom1Feed
    title = gettext_lazy("Hong Kong Civil Society Closures Registry: new and updated records")
    subtitle = gettext_lazy("Organisations recently published or updated in the registry.")
    link = reverse_lazy("closures:organisation-list")

    def items(self):
        # The summary is the record page's lede, written from the same public events.
        return (
            Organisation.objects.public()
            .order_by(F("public_changed_at").desc(nulls_last=True), "-pk")
            .with_public_events()
            .prefetch_related(
                Prefetch("parent_organisation", queryset=Organisation.objects.public()),
            )[:FEED_LENGTH]
        )

    def item_title(self, item):
        return item.display_name()

    def item_description(self, item):
        return record_lede(item, item.public_events, parent=item.parent_organisation)

    def item_pubdate(self, item):
        return item.first_published_at

    def item_updateddate(self, item):
        # Only public data moves this time: a hidden edit never reorders or redates the feed.
        return item.public_changed_at

    def item_guid(self, item):
        return f"tag:hkcscr,2024:organisation:{item.slug}"

    item_guid_is_permalink = False

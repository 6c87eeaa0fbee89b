"""What the public sees of an organisation, reduced to a fingerprint.

`refresh_organisation` compares this fingerprint with the stored one and moves the record's
public-change time only when they differ, so every public "changed" signal (`updated_since`,
tombstones, the feed, the sitemap, JSON-LD, the record page) comes from public data alone: an
edit of a curator note or of an embargoed event leaves it where it was.

The representation is the API's own (its serializers list every public field), without the
timestamps that this fingerprint itself drives and the addresses that depend on the request,
plus what only the record page shows: the cited sources' details and the public bodies that
belonged to it (their names and status). The events' public notes are API fields; curator
notes are in no serializer.
"""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder

from ..models import Event, Organisation, Source
from ..serializers import EventSerializer, OrganisationSerializer, SourceSerializer
from .public_version import bump_public_data_version

# Fields of the public serializers that do not describe the record itself.
NOT_PART_OF_THE_VIEW = frozenset({"url", "page_url", "first_published_at", "updated_at"})


class PublicEventView(EventSerializer):
    class Meta(EventSerializer.Meta):
        fields = [name for name in EventSerializer.Meta.fields if name not in NOT_PART_OF_THE_VIEW]


class PublicOrganisationView(OrganisationSerializer):
    events = PublicEventView(many=True, read_only=True, source="public_events")

    class Meta(OrganisationSerializer.Meta):
        fields = [
            *(
                name
                for name in OrganisationSerializer.Meta.fields
                if name not in NOT_PART_OF_THE_VIEW
            ),
            "events",
        ]


# What the record page says of each public body that belonged to the organisation.
SUB_ORGANISATION_FIELDS = (
    "slug",
    "name_en",
    "name_zh",
    "public_status",
    "public_status_unconfirmed",
)

# What the migration that introduced fingerprints stores for a public record: the first
# refresh replaces it with the real fingerprint without moving the public-change time.
NOT_YET_COMPUTED = "not yet computed"


def public_representation(organisation_id: int) -> dict | None:
    """The organisation as the public sees it, or None when the public cannot see it."""
    organisation = (
        Organisation.objects.public()
        .filter(pk=organisation_id)
        .with_public_parent()
        .with_public_events(Event.objects.public().select_related("organisation"))
        .prefetch_related("aliases")
        .first()
    )
    if organisation is None:
        return None
    sources = Source.objects.filter(citations__event__in=organisation.public_events).distinct()
    return {
        "organisation": PublicOrganisationView(organisation).data,
        "sources": SourceSerializer(sources.order_by("uid"), many=True).data,
        "sub_organisations": list(
            organisation.public_sub_organisations().values_list(*SUB_ORGANISATION_FIELDS)
        ),
    }


def public_fingerprint(organisation_id: int) -> str:
    """SHA-256 of the public representation; empty when the record is not public."""
    representation = public_representation(organisation_id)
    if representation is None:
        return ""
    canonical = json.dumps(
        representation, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def public_view_changed(organisation: Organisation) -> None:
    """Called by `refresh_organisation`, in its transaction, each time a public view changes.

    The one place for what depends on the public data as a whole: the registry's data version
    that caches and validators are keyed on moves in the same transaction, so no process
    serves a stale count or page after it commits.
    """
    bump_public_data_version()

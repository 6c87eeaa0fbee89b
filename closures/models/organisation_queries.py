"""The public gate and search over organisations: their QuerySet and search helpers."""

import unicodedata

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connections, models
from django.db.models import Exists, F, Func, OuterRef, Q, Subquery
from django.utils.deconstruct import deconstructible

from ..duplicates import DuplicateFinder
from .taxonomies import (
    CLOSURE_STATUS_BY_FINALITY,
    ReviewState,
)


def normalise_text(text: str) -> str:
    """NFC, so a CJK compatibility ideograph (U+F900–FAFF) reads as the character it shows.

    Archived sources sometimes carry them (行 for 行): stored or searched as they are, the
    two never match.
    """
    return unicodedata.normalize("NFC", text)


class OrganisationQuerySet(models.QuerySet):
    def public(self):
        """Return what the public may see: published, not embargoed, with a cited event.

        Every public channel (pages, search, counts, charts, feeds, API, exports, releases)
        starts from this queryset. It reads the stored `is_public`, which
        `refresh_organisation` sets from `public_by_rule()` in the transaction of every
        change, so the gate is one indexed column instead of a search through every
        record's events and citations. The record's own state and embargo are checked
        again: they are on the row, cost nothing, and hide a record even from a write that
        has not been refreshed yet.
        """
        return self.filter(is_public=True, review_state=ReviewState.PUBLISHED, embargoed=False)

    def public_by_rule(self):
        """The definition `is_public` is stored from: published, not embargoed, and with an
        event that is published, not embargoed and cited."""
        from .source import Citation

        cited_public_event = Citation.objects.filter(
            event__organisation=OuterRef("pk"),
            event__review_state=ReviewState.PUBLISHED,
            event__embargoed=False,
        )
        return self.filter(
            Exists(cited_public_event), review_state=ReviewState.PUBLISHED, embargoed=False
        )

    def no_longer_public(self):
        """Records the public once saw and no longer does: what a synced copy must drop.

        A record that was never public is not among them, whatever happened to it: it must be
        indistinguishable from one that does not exist.
        """
        return self.filter(first_published_at__isnull=False).exclude(pk__in=self.public())

    def withdrawn_with_public_reason(self):
        """Once-public withdrawals whose reason a reviewer marked public (and not embargoed)."""
        return self.no_longer_public().filter(
            review_state=ReviewState.WITHDRAWN, embargoed=False, withdrawn_reason_public=True
        )

    def changed_since(self, moment):
        """Records whose public view changed at or after `moment`.

        Read from `public_changed_at` alone, which only public data moves, so an edit of
        something hidden (a curator note, an embargoed event) never shows through.
        """
        return self.filter(public_changed_at__gte=moment)

    def likely_duplicates(self, *, name_en="", name_zh="", acronym="", exclude_pk=None) -> list:
        """Return organisations whose name, acronym or alias matches or nearly matches."""
        return DuplicateFinder(self).find(
            name_en=name_en, name_zh=name_zh, acronym=acronym, exclude_pk=exclude_pk
        )

    def for_listing(self):
        return self.order_by("-public_latest_event_on", "name_en", "slug")

    def with_public_parent(self):
        """Annotate `public_parent_slug`: the parent's ID when the public may see the parent.

        A parent that is a draft, withdrawn or embargoed is never named, not even by its ID.
        """
        parents = self.model.objects.public().filter(pk=OuterRef("parent_organisation_id"))
        return self.annotate(public_parent_slug=Subquery(parents.values("slug")[:1]))

    def with_public_events(self, events=None):
        """Prefetch the public events, in time order with their sources, as `public_events`.

        The record page, its feed entry, the API detail and the public fingerprint all tell
        a record's story from this one list (the lede reads it too), so they never disagree.
        """
        from .event import Event

        events = events if events is not None else Event.objects.public()
        return self.prefetch_related(
            models.Prefetch(
                "events",
                queryset=events.chronological().with_reasons_and_citations(),
                to_attr="public_events",
            )
        )

    def sub_bodies(self):
        """Organisations recorded as part of another public organisation, e.g. college unions."""
        return self.filter(parent_organisation__in=self.model.objects.public())

    def lacking_translation(self):
        """Records with a public text in one language only, theirs or one of their events'."""
        from .event import Event
        from .organisation import one_language_only

        return self.filter(
            Q(one_language_only(self.model.TRANSLATED_FIELDS))
            | Exists(
                Event.objects.filter(
                    one_language_only(Event.TRANSLATED_FIELDS), organisation=OuterRef("pk")
                )
            )
        )

    def figures_by_type(self) -> list[dict]:
        """Return per type how many organisations are recorded and how many closed or left.

        One aggregate query for the overview's headline figures; the totals are their sums.
        """
        closed_or_left = Q(public_status__in=set(CLOSURE_STATUS_BY_FINALITY.values()))
        return list(
            self.order_by()
            .values("org_type")
            .annotate(
                recorded=models.Count("pk"),
                closed_or_left=models.Count("pk", filter=closed_or_left),
            )
            .order_by("-recorded", "org_type")
        )

    def latest_additions(self):
        return self.order_by(F("first_published_at").desc(nulls_last=True), "-created_at", "-pk")

    def search(self, text: str):
        """Match names in either language, aliases, acronyms, IDs and public stated reasons.

        Every database matches each word of the query as a substring of `search_text`, in any
        order, so Chinese such as 職工會 is found inside 香港職工會聯盟 and "union teachers"
        finds "Professional Teachers' Union". PostgreSQL also matches English words whatever
        their form ("teachers unions") and puts the most relevant first; both conditions are
        answered from GIN indexes. The query is NFC-normalised as the stored text is.
        """
        text = normalise_text(text).strip()
        if not text:
            return self
        substring = Q()
        postgresql = connections[self.db].vendor == "postgresql"
        for word in dict.fromkeys(text.split()):
            substring &= Q(search_text__icontains=word)
            if postgresql and len(word) < TRIGRAM:
                # Too short for a trigram (沙田): its doubled form is long enough, and is found
                # in the doubled text exactly where the word is in the text.
                substring &= Q(search_text_doubled__icontains=doubled(word))
        if not postgresql:
            return (
                self.filter(substring)
                .annotate(search_rank=name_match_rank(text))
                .order_by("-search_rank", "name_en", "slug")
            )
        query = SearchQuery(text, config="english", search_type="websearch")
        return (
            self.filter(substring | Q(search_vector=query))
            .annotate(search_rank=SearchRank(F("search_vector"), query))
            .order_by("-search_rank", "name_en", "slug")
        )


TRIGRAM = 3


def name_match_rank(text: str) -> models.Case:
    """A best-match order where the database has no full-text ranking (SQLite).

    The name or acronym itself first, then names that begin with the query, then names that
    contain it; matches only in an alias or a stated reason come last. So "Best match" means
    the same kind of thing on the embedded default as on PostgreSQL.
    """
    return models.Case(
        models.When(
            Q(name_en__iexact=text) | Q(name_zh=text) | Q(acronym__iexact=text) | Q(slug=text),
            then=3,
        ),
        models.When(Q(name_en__istartswith=text) | Q(name_zh__startswith=text), then=2),
        models.When(Q(name_en__icontains=text) | Q(name_zh__contains=text), then=1),
        default=0,
        output_field=models.IntegerField(),
    )


def doubled(text: str) -> str:
    """Each character twice: 沙田 → 沙沙田田, which holds two trigrams where 沙田 holds none."""
    return "".join(character * 2 for character in text)


@deconstructible(path="closures.models.DoubledCharacters")
class DoubledCharacters(Func):
    """`doubled()` in SQL on PostgreSQL; on SQLite, whose search scans the text, the text."""

    function = "regexp_replace"
    template = r"%(function)s(%(expressions)s, '(.)', '\1\1', 'g')"
    output_field = models.TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])


@deconstructible(path="closures.models.EnglishSearchVector")
class EnglishSearchVector(Func):
    """`to_tsvector('english', column)` on PostgreSQL; SQLite, which has none, keeps the text."""

    function = "to_tsvector"
    template = "%(function)s('english'::regconfig, %(expressions)s)"
    output_field = SearchVectorField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])

"""The evidence: sources, and citations saying which claims of an event each supports."""

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..dates import format_partial_date
from .event import Event
from .taxonomies import Claim, Language, SourceType, choices_constraint


class SourceQuerySet(models.QuerySet):
    def broken(self):
        """Sources whose last checks failed in a row often enough to need a curator."""
        return self.filter(consecutive_failures__gte=settings.SOURCE_BROKEN_AFTER_FAILURES)

    def unarchived(self):
        return self.filter(archived_url="")

    def public(self):
        """Return the sources cited by at least one public event."""
        return self.filter(
            Exists(Citation.objects.filter(source=OuterRef("pk"), event__in=Event.objects.public()))
        )


# Parameters that only say how a reader arrived (campaign, click and share trackers): they
# identify nothing about the page and can identify the curator who followed the link.
TRACKING_PARAMETER_PREFIXES = ("utm_",)
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "mkt_tok",
        "ocid",
        "cmpid",
    }
)
# Hosts of a university library's proxy (EZproxy and the like, e.g. www-scmp-com.libproxy1.
# nus.edu.sg): a login wall for every reader, and a hint at a curator's institution.
LIBRARY_PROXY_HOST = re.compile(r"(^|[.-])(ez|e|lib|library)-?proxy\d*([.-]|$)|(^|\.)proxy\.lib")


class LibraryProxyURL(ValueError):
    """A source URL that goes through a library proxy rather than to the publisher."""


def clean_source_url(url: str) -> str:
    """Return the publisher's URL without tracking parameters; refuse a library proxy.

    Raises `LibraryProxyURL` with a message a curator can act on.
    """
    url = url.strip()
    parts = urlsplit(url)
    if LIBRARY_PROXY_HOST.search((parts.hostname or "").lower()):
        raise LibraryProxyURL(
            f"{parts.hostname} is a library proxy: give the publisher's own address instead."
        )
    if not parts.query:
        return url
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() not in TRACKING_PARAMETERS
        and not name.lower().startswith(TRACKING_PARAMETER_PREFIXES)
    ]
    if len(kept) == len(parse_qsl(parts.query, keep_blank_values=True)):
        return url  # Untouched, so an unusual but meaningful encoding is kept as it is.
    return urlunsplit(parts._replace(query=urlencode(kept, doseq=True)))


def source_uid_for(url: str) -> str:
    """Derive a new source's ID from its first URL; it is then kept even if the URL changes."""
    return "src-" + hashlib.sha256(url.encode()).hexdigest()[:12]


class Source(models.Model):
    uid = models.SlugField(
        _("ID"),
        max_length=40,
        unique=True,
        editable=False,
        help_text=_("Stable public identifier of the source."),
    )
    url = models.URLField(_("URL"), max_length=1000, unique=True)
    title = models.CharField(_("title"), max_length=500, blank=True)
    publisher = models.CharField(_("publisher"), max_length=300, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, blank=True)
    published_on = models.DateField(_("publication date"), null=True, blank=True)
    accessed_on = models.DateField(_("accessed"), null=True, blank=True)
    source_type = models.CharField(
        _("type of source"), max_length=32, choices=SourceType.choices, default=SourceType.OTHER
    )
    archived_url = models.URLField(
        _("archived copy"),
        max_length=1000,
        blank=True,
        help_text=_("A snapshot of the page in a web archive."),
    )
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True
    )
    final_url = models.URLField(
        _("final URL after redirects"), max_length=1000, blank=True, editable=False
    )
    consecutive_failures = models.PositiveSmallIntegerField(
        _("failures in a row"), default=0, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    # What the last import wrote, per column: see closures/services/import_merge.py. Not
    # content: kept out of the history, the admin forms and every public channel.
    import_baseline = models.JSONField(default=dict, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["import_baseline"])
    objects = SourceQuerySet.as_manager()

    # What the public sees of a source cited by a public event (API, exports, record pages);
    # a test holds the source serializer to this list. The link checks are for curators.
    PUBLIC_FIELDS = frozenset(
        {
            "uid",
            "url",
            "title",
            "publisher",
            "language",
            "published_on",
            "accessed_on",
            "source_type",
            "archived_url",
            "archived_at",
        }
    )

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["publisher", "title", "url"]
        constraints = [
            choices_constraint("source_type", SourceType, "source_type_valid"),
            choices_constraint("language", Language, "source_language_valid", blank=True),
        ]

    def __str__(self):
        label = self.title or self.url
        return f"{self.publisher}: {label}" if self.publisher else label

    def save(self, *args, **kwargs):
        if not self.uid:
            self.uid = source_uid_for(self.url)
        super().save(*args, **kwargs)

    def display_title(self) -> str:
        """What a reader sees as the link text: the title, else publisher and date, never the URL.

        Without a title or publisher, the host names where the link goes.
        """
        if self.title:
            return self.title
        date = format_partial_date(self.published_on, "day") if self.published_on else ""
        label = ", ".join(part for part in (self.publisher, date) if part)
        return label or (urlsplit(self.url).hostname or "").removeprefix("www.")

    def clean(self):
        super().clean()
        if self.url:
            try:
                self.url = clean_source_url(self.url)
            except LibraryProxyURL as error:
                raise ValidationError({"url": str(error)}) from None


class Citation(models.Model):
    """Which source supports which claims of an event: provenance per claim, not per page."""

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="citations"
    )
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, related_name="citations"
    )
    quote = models.TextField(
        _("quotation"), blank=True, help_text=_("A short passage from the source relied on.")
    )
    claims = models.JSONField(
        _("claims supported"),
        default=list,
        blank=True,
        help_text=_(
            "Which claims of the event this source supports: event, date, reason, destination."
        ),
    )
    # What the last import wrote, per column: see closures/services/import_merge.py. Not
    # content: kept out of the history, the admin forms and every public channel.
    import_baseline = models.JSONField(default=dict, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["import_baseline"])

    class Meta:
        verbose_name = _("citation")
        verbose_name_plural = _("citations")
        ordering = ["event", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "source"], name="citation_unique_per_event"),
        ]

    def __str__(self):
        return f"{self.event} ← {self.source}"

    def clean(self):
        super().clean()
        unknown = [claim for claim in self.claims or [] if claim not in Claim.values]
        if not isinstance(self.claims, list) or unknown:
            raise ValidationError(
                {"claims": _("Unknown claims: %s") % ", ".join(map(str, unknown))}
            )

    def claims_display(self) -> list[str]:
        return [str(Claim(claim).label) for claim in self.claims if claim in Claim.values]

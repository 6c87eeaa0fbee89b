"""Numbered, immutable bulk releases of the public registry."""

from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class Release(models.Model):
    """A numbered, immutable bulk release of the public registry, for citation."""

    version = models.CharField(
        _("version"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^\d{4}\.\d{1,2}\.\d+$", _("A version looks like 2026.11.0."))],
        help_text=_("Year, month and a number within the month: 2026.11.0."),
    )
    released_on = models.DateField(_("released on"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    filename = models.CharField(_("file name"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    counts = models.JSONField(_("record counts"), default=dict)
    fingerprints = models.JSONField(
        _("record fingerprints"),
        default=dict,
        help_text=_(
            "Each organisation's ID and a hash of its rows in the data files, to list what the "
            "next release changes."
        ),
    )
    # Redaction (issue 13.3): safety outranks immutability. The public sees only that and when.
    redaction = models.PositiveSmallIntegerField(
        _("redaction"),
        default=0,
        help_text=_("How many times the file was replaced by a redacted rebuild; 0 if never."),
    )
    redacted_on = models.DateField(
        _("redacted on"),
        null=True,
        blank=True,
        help_text=_(
            "When the file was last replaced by a redacted rebuild, without records that are "
            "no longer public; empty if never."
        ),
    )
    redaction_log = models.JSONField(
        _("redaction log"),
        default=list,
        blank=True,
        help_text=_("For reviewers only: who redacted what, when and why. Never published."),
    )

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        ordering = ["-released_on", "-created_at"]

    def __str__(self):
        return self.file_version

    @property
    def file_version(self) -> str:
        """The version of the file served now: `2026.11.0`, or `2026.11.0-r1` once redacted."""
        return f"{self.version}-r{self.redaction}" if self.redaction else self.version

    def get_download_url(self):
        return reverse("release-download", kwargs={"version": self.file_version})

"""The public data version: the one row every public cache and validator is keyed by."""

import datetime as dt

from django.db import models
from django.db.models import F
from django.db.models.functions import Greatest, Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RegistryVersion(models.Model):
    """The version of everything public: one row, moved by every public change.

    Public caches are keyed by `number` and public responses are dated by `changed_at`, so
    both move in the transaction that changes public data, and only then: a change the
    public cannot see (a draft, an embargoed record) leaves no trace in any timestamp.
    """

    SINGLETON = 1

    number = models.PositiveBigIntegerField(default=1)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("registry data version")

    def __str__(self):
        return f"{self.number} ({self.changed_at:%Y-%m-%d %H:%M:%S})"

    @classmethod
    def current(cls) -> "RegistryVersion":
        version = cls.objects.filter(pk=cls.SINGLETON).first()
        return version or cls.objects.get_or_create(pk=cls.SINGLETON)[0]

    @classmethod
    def bump(cls) -> None:
        """Move to the next version. Each version is dated at least a second after the last,
        so Last-Modified (whole seconds) tells every version apart."""
        cls.current()
        cls.objects.filter(pk=cls.SINGLETON).update(
            number=F("number") + 1,
            changed_at=Greatest(Now(), F("changed_at") + dt.timedelta(seconds=1)),
        )

"""Admin login lockout: per username and address, and per account across all addresses."""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class AccountAndAddressLockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with a second, higher limit per account.

    The per-address limit alone lets a guesser with many addresses try a curator's password
    without end; a per-account limit stops that, and being higher than the per-address one it
    still takes many addresses to lock a curator out everywhere.
    """

    def is_locked(self, request, credentials=None) -> bool:
        if super().is_locked(request, credentials):
            return True
        username = get_client_username(request, credentials)
        if not username:
            return False
        attempts = AccessAttempt.objects.filter(username=username)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
        return failures >= settings.AXES_ACCOUNT_FAILURE_LIMIT

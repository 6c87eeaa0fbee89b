"""Admin login lockout: per username and address, and per account across all addresses."""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Sum


class AccountAndAddressLockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with a second, higher limit per account.

    The per-address limit alone lets a guesser with many addresses try a curator's password
    without end; a per-account limit stops that, and being higher than the per-address one it
    still takes many addresses to lock a curator out everywhere.
    """

    def is_locked(self, request, credentials=None) -> bool:
        return super().is_locked(request, credentials) or self.account_is_locked(
            request, credentials
        )

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        """Answer a failure past the account's limit with the lockout response too."""
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return
        if self.account_is_locked(request, credentials):
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )

    def account_is_locked(self, request, credentials=None) -> bool:
        username = get_client_username(request, credentials)
        if not username:
            return False
        attempts = AccessAttempt.objects.filter(username=username)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
        return failures >= settings.AXES_ACCOUNT_FAILURE_LIMIT

"""Remove a staff account's second-factor devices, so it enrols again at its next sign-in."""

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user


class Command(BaseCommand):
    help = (
        "Delete USERNAME's authenticator and recovery codes (a lost phone). The account then "
        "signs in with its password and must set up a new authenticator before any admin page."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        with transaction.atomic():
            devices = list(devices_for_user(user, confirmed=None))
            for device in devices:
                device.delete()
            sessions = end_sessions_of(user)
        self.stdout.write(
            f"Removed {len(devices)} device(s) and {sessions} session(s) of {username}; "
            "it sets up a new authenticator at its next sign-in."
        )


def end_sessions_of(user) -> int:
    """Sign the account out everywhere: whoever holds the lost device may hold a session too."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            session.delete()
            ended += 1
    return ended

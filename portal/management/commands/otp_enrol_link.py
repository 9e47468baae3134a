from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.models import User
from portal.security import enrolment_link_make


class Command(BaseCommand):
    help = (
        "Print a one-time authenticator enrolment link for a user (the first administrator's, or one made "
        "without the admin site). Prefix it with the portal's address."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
        path = enrolment_link_make(user=user, by=None)
        self.stdout.write(f"{path}   (one use, {settings.OTP_ENROLMENT_LINK_HOURS} hours)")

from django.core.management.base import BaseCommand, CommandError

from portal import demo
from portal.models import User


class Command(BaseCommand):
    help = "Print the current authenticator codes of the demo accounts (demo county only)."

    def handle(self, *args, **options):
        users = User.objects.filter(username__in=[u for u, _r, _n in demo.DEMO_USERS])
        shown = 0
        for user in users:
            try:
                self.stdout.write(f"{user.username:10s} {demo.current_code(user)}")
                shown += 1
            except Exception:  # noqa: BLE001 - a user without the demo device is simply skipped
                continue
        if not shown:
            raise CommandError("No demo authenticator found: run `manage.py seed_demo` first.")

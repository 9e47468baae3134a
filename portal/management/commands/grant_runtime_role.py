from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from portal.db_roles import runtime_role_grant


class Command(BaseCommand):
    help = (
        "Run by the schema owner after migrate: create the runtime role of DATABASE_URL if it is missing and "
        "grant it exactly what the web server and the workers need (insert and read only on the access log "
        "and the change history). See SECURITY.md, 'Database roles'."
    )

    def add_arguments(self, parser):
        parser.add_argument("--role", help="The runtime role (default: the user of DATABASE_URL).")

    def handle(self, *args, role=None, **options):
        role = role or settings.DATABASE_RUNTIME_ROLE
        password = settings.DATABASE_RUNTIME_PASSWORD if role == settings.DATABASE_RUNTIME_ROLE else ""
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            (owner,) = cursor.fetchone()
        if role == owner:
            # One URL for both (a development server): there is no second role to grant to.
            self.stderr.write(
                self.style.WARNING(
                    f"DATABASE_URL connects as the schema owner {owner}: the app can change the access log. "
                    "Set DATABASE_OWNER_URL to the owner and DATABASE_URL to a runtime role (SECURITY.md)."
                )
            )
            return
        problems = runtime_role_grant(role=role, password=password)
        if problems:
            raise CommandError("; ".join(problems))
        self.stdout.write(self.style.SUCCESS(f"runtime role {role}: privileges granted"))

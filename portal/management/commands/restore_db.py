from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from portal import backup


class Command(BaseCommand):
    help = (
        "Restore a dump made by backup_db, replacing the current data (asks first unless --yes). Run as the "
        "schema owner (DATABASE_AS_OWNER=1); the runtime role's grants are set again afterwards."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, required=True)
        parser.add_argument("--database", help="Restore into this database instead of the configured one.")
        parser.add_argument("--yes", action="store_true")

    def handle(self, *args, file, database=None, yes=False, **options):
        if not file.exists():
            raise CommandError(f"{file} does not exist")
        if not yes and input(f"Replace the data of the database with {file}? [y/N] ").lower() != "y":
            raise CommandError("cancelled")
        backup.restore(file, database=database)
        self.stdout.write(self.style.SUCCESS(f"restored {file}"))
        if database is None:
            # pg_restore recreated the tables without their grants (the dump carries none): grant them again.
            call_command("grant_runtime_role", stdout=self.stdout, stderr=self.stderr)

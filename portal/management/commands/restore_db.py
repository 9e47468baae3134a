from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal import backup


class Command(BaseCommand):
    help = "Restore a dump made by backup_db, replacing the current data (asks first unless --yes)."

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

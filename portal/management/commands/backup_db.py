from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from portal import backup


class Command(BaseCommand):
    help = "Dump the database (pg_dump, custom format) to var/backups/ or --file."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path)

    def handle(self, *args, file=None, **options):
        if file is None:
            folder = settings.VAR_DIR / "backups"
            folder.mkdir(parents=True, exist_ok=True)
            file = folder / f"portal-{timezone.localtime():%Y%m%d-%H%M%S}.dump"
        backup.dump(file)
        self.stdout.write(self.style.SUCCESS(f"backup written: {file} ({file.stat().st_size:,} bytes)"))

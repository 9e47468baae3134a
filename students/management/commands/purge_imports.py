from django.core.management.base import BaseCommand

from students import services


class Command(BaseCommand):
    help = "Delete uploaded import files that outlived their import (what the nightly beat task does)."

    def handle(self, *args, **options):
        deleted = services.import_files_purge()
        self.stdout.write(f"{deleted} uploaded files deleted.")

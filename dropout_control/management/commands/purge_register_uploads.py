from django.core.management.base import BaseCommand

from dropout_control import matching


class Command(BaseCommand):
    help = "Delete household lists' files that outlived their comparison (what the nightly beat task does)."

    def handle(self, *args, **options):
        deleted = matching.register_files_purge()
        self.stdout.write(f"{deleted} household-list files deleted.")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self):
        from portal import (
            audit,  # noqa: F401  (connects the log-in signals)
            db_roles,  # noqa: F401  (registers the database role check)
        )

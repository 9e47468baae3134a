from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DropoutControlConfig(AppConfig):
    name = "dropout_control"
    verbose_name = _("Dropout control")

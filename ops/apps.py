from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """The shared core both apps stand on: background jobs, sending them to the workers,
    periodic work and its run history, /health."""

    name = "ops"
    verbose_name = _("Operations")

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The site's own operations: beat's heartbeat and, later, sweeps and health."""

    name = "ops"
    verbose_name = "Operations"

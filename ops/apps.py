from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The shared core both apps stand on: background jobs, sending them to the workers,
    periodic work and its run history, /health."""

    name = "ops"
    verbose_name = "Operations"

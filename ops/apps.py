from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The site's own operations: periodic work, its run history, and /health."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from . import history  # noqa: F401  (connects the run-history signal handlers)

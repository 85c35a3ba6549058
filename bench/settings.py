"""The project's settings plus the tutorial baseline (its task and its two views), so that the
baseline runs in the same gunicorn and the same worker as the project, started as `make run`
starts them (`DJANGO_SETTINGS_MODULE=bench.settings`)."""

from image_parroter.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
CELERY_IMPORTS = ["bench.tutorial"]
# The baseline's upload takes as large a body as the project's, through the same front.
FRONT_UPLOAD_PATHS = [*FRONT_UPLOAD_PATHS, "/tutorial/"]  # noqa: F405

# bench/costs.py counts the SQL statements of the web and the worker from their logs (Django
# logs each statement at DEBUG while DEBUG is on).
if env.bool("BENCH_LOG_SQL", default=False):  # noqa: F405
    LOGGING["loggers"] = {"django.db.backends": {"level": "DEBUG"}}  # noqa: F405

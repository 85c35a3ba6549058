"""The project's settings plus the tutorial baseline (its task and its two views), so that the
baseline runs in the same gunicorn and the same worker as the project, started as `make run`
starts them (`DJANGO_SETTINGS_MODULE=bench.settings`)."""

from image_parroter.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
CELERY_IMPORTS = ["bench.tutorial"]

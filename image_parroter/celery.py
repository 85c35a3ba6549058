"""The Celery app: configured from Django settings (CELERY_ namespace)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "image_parroter.settings")

app = Celery("image_parroter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Sizes green pools and keeps their consumer from stalling (see pools.py).
from . import pools  # noqa: E402, F401

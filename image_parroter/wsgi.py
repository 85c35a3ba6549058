"""WSGI entry point (gunicorn image_parroter.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "image_parroter.settings")

application = get_wsgi_application()

from django.contrib import admin
from django.urls import include, path

from ops.views import favicon

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page says; pages link the SVG itself.
    path("favicon.ico", favicon),
    path("users/", include("users.urls")),
    # django_celery_results.urls is deliberately not mounted: it shows any task's result and
    # traceback to anyone. Staff browse periodic runs in the admin.
    path("", include("ops.urls")),
    path("", include("thumbnailer.urls")),
]

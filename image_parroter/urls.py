from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from ops.views import favicon

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page says; pages link the SVG itself.
    path("favicon.ico", favicon),
    path("users/", include("users.urls")),
    # The language selector posts to set_language (i18n/setlang/); the browser-side messages
    # come from the djangojs catalogue, served as an external script.
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # django_celery_results.urls is deliberately not mounted: it shows any task's result and
    # traceback to anyone. Staff browse periodic runs in the admin.
    path("", include("ops.urls")),
    path("", include("thumbnailer.urls")),
]

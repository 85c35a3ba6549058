"""HTTP answers the apps' views share: 204 for a page that has seen a job's state, form
errors as JSON for scripts, and 503 while the database is away."""

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext

# A database that cannot be reached or whose connection broke (a restart, a failover); other
# database errors (integrity, a bad query) are bugs and stay 500s.
DATABASE_AWAY = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5


def unchanged_since_seen(request, job) -> HttpResponse | None:
    """204 No Content when the page following `job` (static/follow.js) has already shown its
    state: the cheap answer to most of a page's questions."""
    if request.GET.get("seen") == job.state_token:
        return HttpResponse(status=204)
    return None


def wants_json(request) -> bool:
    """A script that asked for JSON (Accept: application/json), not a browser."""
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def form_errors_json(form, status: int = 400) -> JsonResponse:
    """A form's errors for a script: {"errors": {field: [{"message", "code"}]}}."""
    return JsonResponse({"errors": form.errors.get_json_data()}, status=status)


def database_unavailable(request) -> HttpResponse:
    """503 with Retry-After while the database is away: the site's own page, or for a script
    (a status.json endpoint, or Accept: application/json) JSON shaped like /health's."""
    if wants_json(request) or request.path.endswith(".json"):
        error = gettext("The database cannot be reached just now; please try again shortly.")
        body = {"status": "unavailable", "failed": ["database"], "error": error}
        response = JsonResponse(body, status=503)
    else:
        response = render(request, "503.html", status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response

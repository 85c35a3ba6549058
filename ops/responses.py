"""HTTP answers the apps' views share: 204 for a page that has seen a job's state, form
errors as JSON for scripts, 503 while the database is away, and the limits' refusals (413,
429)."""

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext, ngettext

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


def for_script(request) -> bool:
    """A script's request: it asked for JSON, or for a `.json` endpoint."""
    return wants_json(request) or request.path.endswith(".json")


def form_errors_json(form, status: int = 400) -> JsonResponse:
    """A form's errors for a script: {"errors": {field: [{"message", "code"}]}}."""
    return JsonResponse({"errors": form.errors.get_json_data()}, status=status)


def database_unavailable(request) -> HttpResponse:
    """503 with Retry-After while the database is away: the site's own page, or for a script
    (a status.json endpoint, or Accept: application/json) JSON shaped like /health's."""
    if for_script(request):
        error = gettext("The database cannot be reached just now; please try again shortly.")
        body = {"status": "unavailable", "failed": ["database"], "error": error}
        response = JsonResponse(body, status=503)
    else:
        response = render(request, "503.html", status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def refusal_json(message: str, code: str, status: int, **more) -> JsonResponse:
    """A refused request's reason for a script, shaped like form errors (static/upload.js shows
    it as it shows theirs)."""
    errors = {"__all__": [{"message": message, "code": code}]}
    return JsonResponse({"errors": errors, **more}, status=status)


def too_many_requests(request, reason: str, wait: int) -> HttpResponse:
    """429 with Retry-After: the site's page saying why and how long to wait, or for a script
    the same as JSON, with `retry_after` (seconds)."""
    if for_script(request):
        after = ngettext(
            "Please wait %(wait)s second, then try again.",
            "Please wait %(wait)s seconds, then try again.",
            wait,
        ) % {"wait": wait}
        response = refusal_json(f"{reason} {after}", "too_many_requests", 429, retry_after=wait)
    else:
        response = render(request, "429.html", {"reason": reason, "wait": wait}, status=429)
    response["Retry-After"] = str(wait)
    return response


def payload_too_large(request, cap: int) -> HttpResponse:
    """413 for a body over `cap` bytes, refused before it was read: a line of text, or JSON for
    a script."""
    message = gettext("This request is too large: at most %(limit)s can be sent at once.") % {
        "limit": filesizeformat(cap)
    }
    if for_script(request):
        return refusal_json(message, "too_large", 413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")

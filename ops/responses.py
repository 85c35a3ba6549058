"""HTTP answers the apps' views share: 204 for a page that has seen a job's state, and form
errors as JSON for scripts."""

from django.http import HttpResponse, JsonResponse


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

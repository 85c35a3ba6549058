"""Middleware of the whole site."""

from django.conf import settings
from django.contrib.sessions import middleware as sessions
from django.contrib.sessions.exceptions import SessionInterrupted
from django.shortcuts import render

from ops import clients, limits
from ops.responses import DATABASE_AWAY, database_unavailable


class ForwardedHeadersMiddleware:
    """First of all: a request from a proxy that DJANGO_TRUSTED_PROXIES names gets its
    client's address as REMOTE_ADDR (so limits, logs and django-axes count the client, not the
    proxy). From anyone else the proxy headers are dropped unread; that they were sent still
    marks the request as proxied, which can only take away what loopback may do."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        if clients.is_trusted_proxy(meta.get("REMOTE_ADDR", "")):
            meta[clients.PROXIED] = True
            meta["REMOTE_ADDR"] = clients.forwarded_address(meta)
        else:
            sent = [meta.pop(header) for header in clients.FORWARDED_HEADERS if header in meta]
            if sent:
                meta[clients.PROXIED] = True
        return self.get_response(request)


class SiteNotFoundMiddleware:
    """A page that is not found is the site's own 404 page, also with DEBUG on: Django's
    debug 404 lists every URL pattern, which is no page to show a visitor (or a stranger
    probing for another session's job). JSON and other answers keep their own body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        is_html = response.get("Content-Type", "").startswith("text/html")
        if settings.DEBUG and response.status_code == 404 and is_html:
            return render(request, "404.html", status=404)
        return response


class DatabaseUnavailableMiddleware:
    """While the database is away (restarting, failing over), a view that needs it answers
    503 with Retry-After instead of a 500 (ops.responses.database_unavailable)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_AWAY):
            return database_unavailable(request)
        return None


def _database_away(error: BaseException | None) -> bool:
    """Whether `error`, or an error it was raised while handling, is the database away."""
    while error is not None:
        if isinstance(error, DATABASE_AWAY):
            return True
        error = error.__context__
    return False


class SessionMiddleware(sessions.SessionMiddleware):
    """Django's, but a session it cannot save because the database went away after the view
    answered is the site's 503 with Retry-After, as the view's own queries would have been:
    Django answers 400 for a session it could not update (SessionInterrupted, raised from the
    database's error) and 500 for a new one (the error itself)."""

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except (SessionInterrupted, *DATABASE_AWAY) as error:
            if not _database_away(error):
                raise
            return database_unavailable(request)


class LimitsMiddleware:
    """Before CSRF's check reads the body: a body over its cap is refused by its
    Content-Length (413), an anonymous write over one of its limits answered 429 with
    Retry-After (ops.limits). It reads the session, so while the database is away it answers
    503 as the views do."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            refused = limits.refusal(request)
        except DATABASE_AWAY:
            return database_unavailable(request)
        return refused or self.get_response(request)

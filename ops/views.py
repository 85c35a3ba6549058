import hmac

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from . import beat_lock, clients, heartbeat, redis_client
from .metrics import scrape


def favicon(request):
    """Browsers ask for /favicon.ico whatever a page links; pages link the SVG itself."""
    return redirect(static("favicon.svg"), permanent=True)


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def redis_answers() -> bool:
    try:
        return redis_client.client().ping()
    except redis_client.ERRORS:
        return False


def may_see_details(request) -> bool:
    """A direct loopback connection may read /metrics and /health's details; anyone else
    needs `Authorization: Bearer $METRICS_TOKEN`."""
    if clients.from_loopback(request):
        return True
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def redis_details() -> dict:
    """The workers whose heartbeats reached Redis (no broadcast ping: nobody waits on the
    workers), the seconds since beat's tick and the beat that holds the lock; nothing if
    Redis went away meanwhile."""
    try:
        since_tick = heartbeat.seconds_since_tick()
        workers, beat = heartbeat.workers_seen(), beat_lock.holder()
    except redis_client.ERRORS:
        workers, since_tick, beat = [], None, None
    return {
        "workers": workers,
        "beat_seconds_since_tick": None if since_tick is None else round(since_tick, 1),
        "beat": beat,
    }


@never_cache
def health(request):
    """Whether the site can serve: 200 when the database and Redis answer, else 503, with the
    parts that failed. Which hosts run the workers and the beat is for operators only (a
    direct loopback connection, or the metrics token)."""
    parts = {"database": database_answers(), "redis": redis_answers()}
    failed = [name for name, ok in parts.items() if not ok]
    body = {"status": "unavailable" if failed else "ok", "failed": failed, **parts}
    if may_see_details(request):
        no_details = {"workers": [], "beat_seconds_since_tick": None, "beat": None}
        body |= redis_details() if parts["redis"] else no_details
    return JsonResponse(body, status=503 if failed else 200)


@never_cache
def metrics(request):
    """The queues, workers, beat and jobs in Prometheus's text format (ops/metrics.py)."""
    if not may_see_details(request):
        return HttpResponse("Forbidden: send Authorization: Bearer $METRICS_TOKEN.\n", status=403)
    try:
        body = scrape()
    except redis_client.ERRORS:
        return HttpResponse("Redis does not answer.\n", status=503)
    # The text format every Prometheus (and KEDA) reads; the names need no newer escaping.
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)

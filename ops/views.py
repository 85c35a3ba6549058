import hmac

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from image_parroter.celery import app as celery_app

from . import beat_lock, clients, heartbeat, redis_client
from .metrics import scrape

WORKERS_CACHE_KEY = "ops:health:workers"


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


def workers_seen() -> list[str]:
    """Workers that answered a ping, cached for a few seconds so /health stays cheap."""
    workers = cache.get(WORKERS_CACHE_KEY)
    if workers is None:
        replies = celery_app.control.ping(timeout=settings.HEALTH_PING_TIMEOUT)
        workers = sorted(name for reply in replies for name in reply)
        cache.set(WORKERS_CACHE_KEY, workers, settings.HEALTH_CACHE_SECONDS)
    return workers


def redis_facts() -> tuple[list[str], float | None, str | None]:
    """The workers seen, the seconds since beat's tick and the beat that holds the lock;
    nothing if Redis went away between the ping and these questions."""
    try:
        return workers_seen(), heartbeat.seconds_since_tick(), beat_lock.holder()
    except redis_client.ERRORS:
        return [], None, None


@never_cache
def health(request):
    """Whether the site can serve: 200 when the database and Redis answer, else 503."""
    database_ok = database_answers()
    redis_ok = redis_answers()
    workers, since_tick, beat = redis_facts() if redis_ok else ([], None, None)
    body = {
        "status": "ok" if database_ok and redis_ok else "unavailable",
        "failed": [name for name, ok in [("database", database_ok), ("redis", redis_ok)] if not ok],
        "database": database_ok,
        "redis": redis_ok,
        "workers": workers,
        "beat_seconds_since_tick": None if since_tick is None else round(since_tick, 1),
        "beat": beat,
    }
    return JsonResponse(body, status=200 if not body["failed"] else 503)


def may_scrape(request) -> bool:
    """A direct loopback connection may read /metrics; anyone else needs
    `Authorization: Bearer $METRICS_TOKEN`."""
    if clients.from_loopback(request):
        return True
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@never_cache
def metrics(request):
    """The queues, workers, beat and jobs in Prometheus's text format (ops/metrics.py)."""
    if not may_scrape(request):
        return HttpResponse("Forbidden: send Authorization: Bearer $METRICS_TOKEN.\n", status=403)
    try:
        body = scrape()
    except redis_client.ERRORS:
        return HttpResponse("Redis does not answer.\n", status=503)
    # The text format every Prometheus (and KEDA) reads; the names need no newer escaping.
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)

"""Per-client limits, counted in Redis through the cache by django-ratelimit."""

from django.conf import settings
from django_ratelimit.core import get_usage

from . import redis_client


def upload_wait(request) -> int | None:
    """Seconds this client must wait before another upload (over UPLOAD_RATE), else None.

    Counted by client address. With Redis away nothing is counted and nobody waits: the site
    stays usable, and the upload is kept for the sweep like any job made meanwhile."""
    try:
        usage = get_usage(
            request, group="uploads", key="ip", rate=settings.UPLOAD_RATE, increment=True
        )
    except redis_client.ERRORS:
        return None
    if usage and usage["should_limit"]:
        return max(1, usage["time_left"])
    return None

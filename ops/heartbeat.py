"""Beat's heartbeat: the time of its last tick, kept in Redis."""

import time
from functools import cache

from django.conf import settings
from redis import Redis


def redis_client() -> Redis:
    """One client (and its connection pool) per process: a new one connected afresh for
    every call, which cost more than the call itself."""
    return _client(settings.REDIS_URL)


@cache
def _client(url: str) -> Redis:
    return Redis.from_url(url, **settings.REDIS_SOCKET_TIMEOUTS)


def tick_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}beat:last_tick"


def record_tick() -> float:
    now = time.time()
    redis_client().set(tick_key(), now)
    return now


def seconds_since_tick() -> float | None:
    tick = redis_client().get(tick_key())
    return None if tick is None else max(0.0, time.time() - float(tick))

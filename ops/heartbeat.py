"""Beat's heartbeat: the time of its last tick, kept in Redis."""

import time

from django.conf import settings
from redis import Redis

KEY = "image_parroter:beat:last_tick"


def redis_client() -> Redis:
    return Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)


def record_tick() -> float:
    now = time.time()
    redis_client().set(KEY, now)
    return now


def seconds_since_tick() -> float | None:
    tick = redis_client().get(KEY)
    return None if tick is None else max(0.0, time.time() - float(tick))

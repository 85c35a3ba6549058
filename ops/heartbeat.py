"""Beat's heartbeat: the time of its last tick, kept in Redis (written by the worker that ran
the `ops.heartbeat_record` task beat sent, read by /health)."""

import time

from django.conf import settings

from . import redis_client


def tick_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}beat:last_tick"


def record() -> float:
    now = time.time()
    redis_client.client().set(tick_key(), now)
    return now


def last_tick() -> float | None:
    """The time of the last tick (seconds since the epoch), or None before the first."""
    tick = redis_client.client().get(tick_key())
    return None if tick is None else float(tick)


def seconds_since_tick() -> float | None:
    tick = last_tick()
    return None if tick is None else max(0.0, time.time() - tick)

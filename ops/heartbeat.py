"""Heartbeats kept in Redis: beat's last tick (written by the worker that ran the
`ops.heartbeat_record` task beat sent, read by /health and /metrics), and when each worker
was last seen (written by the worker itself, read by /metrics)."""

import logging
import time

from django.conf import settings

from . import redis_client

logger = logging.getLogger(__name__)

# A worker's heartbeat comes every 2 s (Celery's default); one silent this long is gone.
WORKER_SEEN_SECONDS = 10
WORKER_FORGOTTEN_SECONDS = 3600


def tick_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}beat:last_tick"


def workers_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}workers:seen"


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


def worker_seen(sender, **_) -> None:
    """A worker sent its heartbeat event (heartbeat_sent, every 2 s): note when, by name."""
    try:
        redis_client.client().zadd(workers_key(), {sender.eventer.hostname: time.time()})
    except redis_client.ERRORS as exc:  # Redis is away: the worker is not seen, as it is not
        logger.warning("could not record the worker's heartbeat: %s", exc)


def workers_seen() -> list[str]:
    """The workers that sent a heartbeat within WORKER_SEEN_SECONDS, by name; those silent for
    an hour are dropped (hosts come and go), here rather than at every heartbeat."""
    now = time.time()
    with redis_client.client().pipeline(transaction=False) as pipe:
        pipe.zremrangebyscore(workers_key(), "-inf", now - WORKER_FORGOTTEN_SECONDS)
        pipe.zrangebyscore(workers_key(), now - WORKER_SEEN_SECONDS, "+inf")
        return sorted(name.decode() for name in pipe.execute()[1])

"""The project's own Redis client, and what a Redis that is down or unreachable raises."""

from functools import cache

from django.conf import settings
from kombu.exceptions import OperationalError as BrokerError
from redis import Redis, RedisError

# What talking to Redis raises when it is down or unreachable: redis-py's errors, the socket's,
# and kombu's wrapping of them when Celery publishes (after the publish retry policy).
ERRORS = (BrokerError, RedisError, OSError)


def client() -> Redis:
    """One client (and its connection pool) per process: a new one connected afresh for every
    call cost more than the call itself."""
    return _client(settings.REDIS_URL)


@cache
def _client(url: str) -> Redis:
    return Redis.from_url(url, **settings.REDIS_SOCKET_TIMEOUTS)

"""The project's own Redis client, and what a Redis that is down or unreachable raises.

REDIS_URL is one Redis (`redis://host:port/db`) or its Sentinels, in kombu's and Celery's
format (`sentinel://host:port/db;sentinel://host:port/db...`, database from the first): then
every client asks them for the master of REDIS_SENTINEL_MASTER, and again after it failed over.
"""

import json
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from kombu.exceptions import OperationalError as BrokerError
from redis import ConnectionPool, Redis, RedisError
from redis.sentinel import Sentinel, SentinelConnectionPool

# What talking to Redis raises when it is down or unreachable: redis-py's errors, the socket's,
# and kombu's wrapping of them when Celery publishes (after the publish retry policy).
ERRORS = (BrokerError, RedisError, OSError)


def is_sentinel(url: str) -> bool:
    return url.startswith("sentinel://")


class SentinelPool(SentinelConnectionPool):
    """Connections to the master the Sentinels at `url` name. Django's RedisCache makes its
    pool as `pool_class.from_url(LOCATION, **OPTIONS)`, which has no Sentinel of its own."""

    @classmethod
    def from_url(cls, url: str, **kwargs) -> "SentinelPool":
        parts = [urlsplit(part) for part in url.split(";")]
        first = parts[0]
        kwargs.setdefault("db", int(first.path.lstrip("/") or 0))
        if first.password:
            kwargs.setdefault("username", first.username or None)
            kwargs.setdefault("password", first.password)
        # The Sentinels themselves get the socket_* options too (redis-py's default).
        timeouts = {key: value for key, value in kwargs.items() if key.startswith("socket_")}
        sentinels = Sentinel([(part.hostname, part.port or 26379) for part in parts], **timeouts)
        return cls(settings.REDIS_SENTINEL_MASTER, sentinels, **kwargs)


def client() -> Redis:
    """One client (and its connection pool) per process: a new one connected afresh for every
    call cost more than the call itself."""
    return _client(settings.REDIS_URL)


@cache
def _client(url: str) -> Redis:
    pool_class = SentinelPool if is_sentinel(url) else ConnectionPool
    return Redis(connection_pool=pool_class.from_url(url, **settings.REDIS_SOCKET_TIMEOUTS))


class JSONSerializer:
    """The cache's values (settings CACHES) as JSON, not Django's default pickles: a value
    someone else wrote into a shared Redis is read as data, never run as code. Integers stay
    plain, as Django's own serializer keeps them, so that INCR (the rate limits) works."""

    def dumps(self, obj) -> int | bytes:
        if type(obj) is int:  # not bool
            return obj
        return json.dumps(obj, cls=DjangoJSONEncoder).encode()

    def loads(self, data: bytes):
        try:
            return int(data)
        except ValueError:
            return json.loads(data)

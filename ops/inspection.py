"""What a worker answers when asked for its settings (`celery inspect conf`, and Flower, which
asks every worker and shows the answer in its pages and its /api/workers).

Celery's own answer is every setting of the Django settings module: it masks those whose names
look secret (SECRET_KEY, DATABASES, METRICS_TOKEN...) and its own broker URL, but not REDIS_URL,
CELERY_BROKER_URL under the Django namespace, or the cache's LOCATION, which carry the Redis
password when there is one. So every URL with a password is masked here, whatever its name."""

from urllib.parse import urlsplit

from celery.worker import control
from kombu.utils.url import sanitize_url

MASK = "********"  # as Celery masks


def _masked(value):
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    if isinstance(value, str) and "://" in value:
        # Sentinels are several URLs in one: `sentinel://:pw@h1:26379/0;sentinel://...`.
        parts = value.split(";")
        return ";".join(sanitize_url(p, MASK) if _password(p) else p for p in parts)
    return value


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:  # not a URL after all
        return None


def conf(state, with_defaults=False, **kwargs):
    """List configuration, with every URL's password masked."""
    return _masked(control.conf(state, with_defaults=with_defaults, **kwargs))

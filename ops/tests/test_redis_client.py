"""Every Redis client of the project on Sentinels, as a fresh process makes them from
REDIS_URL=sentinel://...;... and REDIS_SENTINEL_MASTER."""

from image_parroter.tests.processes import manage
from ops.redis_client import SentinelPool

PREFIX = "sentinel-test:"
# The cache (and the rate limits counted in it), the project's own client (leases, heartbeat,
# beat lock, metrics), Celery's result backend and its broker, each writing one key.
WRITE_WITH_EVERY_CLIENT = f"""
from django.core.cache import cache
from image_parroter.celery import app
from ops import redis_client
cache.set("probe", 1)
redis_client.client().set("{PREFIX}probe", 1)
app.backend.store_result("probe-task", 1, "SUCCESS")
app.send_task("ops.jobs_sweep_lost")
print(type(app.backend).__name__)
"""


def test_every_client_writes_to_the_master_the_sentinels_name(redis_sentinels):
    master = redis_sentinels.ports[0]
    env = {**redis_sentinels.env, "REDIS_KEY_PREFIX": PREFIX}
    result = manage("shell", "--verbosity", "0", "-c", WRITE_WITH_EVERY_CLIENT, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["SentinelBackend"]
    keys = {key.decode() for key in redis_sentinels.server(master).scan_iter()}
    expected = {"cache:1:probe", "probe", "celery-task-meta-probe-task", "default"}
    assert {PREFIX + key for key in expected} <= keys
    assert all(key.startswith(PREFIX) for key in keys), keys


def test_the_first_sentinel_address_gives_the_database_and_the_masters_password(settings):
    """As kombu and Celery read the same URL: the master's database and credentials come from
    the first address; every address is a Sentinel to ask."""
    settings.REDIS_SENTINEL_MASTER = "books"
    url = "sentinel://app:secret@10.0.0.1:26379/3;sentinel://10.0.0.2/3"
    pool = SentinelPool.from_url(url, socket_timeout=2)
    assert pool.service_name == "books"
    kwargs = pool.connection_kwargs
    assert (kwargs["db"], kwargs["username"], kwargs["password"]) == (3, "app", "secret")
    sentinels = pool.sentinel_manager.sentinels
    addresses = [sentinel.connection_pool.connection_kwargs for sentinel in sentinels]
    assert [(a["host"], a["port"], a["socket_timeout"]) for a in addresses] == [
        ("10.0.0.1", 26379, 2),
        ("10.0.0.2", 26379, 2),
    ]

"""Fixtures for every app: a file-backed test database, media in a temporary folder, real
Celery workers in their own processes, and a real Chromium driven by Playwright.

The plain helpers behind them are modules of their own: image_parroter/tests/processes.py
(real processes), waiting.py (the poller and time budgets), factories.py (jobs, batches)."""

import os
import shutil
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.db import connection

from image_parroter.celery import app as celery_app
from image_parroter.tests import hosts, processes
from image_parroter.tests.processes import (
    PG_BIN,
    PROMETHEUS,
    PROMTOOL,
    RAISED_LIMITS,
    MotoServer,
    PostgresServer,
    RedisSentinels,
    RedisServer,
    object_storage_env,
    running_beat,
    running_stack,
    running_worker,
    use_object_storage,
)
from ops.schedules import schedules_create

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


# Tests that use these fixtures (directly or through another fixture) get the marker, so that
# `make check` (-m "not worker and not browser and not slow") can leave them out.
MARKED_BY_FIXTURES = {
    "worker": {"worker_factory", "celery_worker", "stack_factory", "beat_factory"},
    "browser": {"browser", "page"},
}


def pytest_collection_modifyitems(items):
    for item in items:
        for marker, fixtures in MARKED_BY_FIXTURES.items():
            if fixtures & set(item.fixturenames):
                item.add_marker(marker)


def pytest_runtest_setup(item):
    if item.get_closest_marker("own_servers") and connection.vendor != "sqlite":
        pytest.skip("brings its own servers, whatever the database: run once, on the SQLite leg")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item):
    """running_process() refuses to start a process for a test not marked `worker`: a test
    that starts one without these fixtures (running_worker_on) says so with the marker."""
    processes.current_test = item
    try:
        return (yield)
    finally:
        processes.current_test = None


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory):
    """SQLite tests use a file, not memory, so worker processes see the same database."""
    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = str(
            tmp_path_factory.mktemp("db") / "test.sqlite3"
        )


@pytest.fixture
def schedules(transactional_db):
    """The project's periodic tasks as a new installation has them (ops/schedules.py, which
    the migration calls too): earlier tests' flushes removed the rows the migration made."""
    schedules_create(apps=django_apps)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def raised_limits(settings):
    """Tests ask far faster than people do, all from 127.0.0.1: the limits are raised (as in
    the processes stack_factory starts); the limits' own tests set them back."""
    for name, value in RAISED_LIMITS.items():
        setattr(settings, name, int(value) if value.isdigit() else value)


@pytest.fixture(autouse=True)
def media_root(settings, media_dir):
    """Every test writes media to a temporary folder that workers share; emptied after it."""
    settings.MEDIA_ROOT = str(media_dir)
    yield media_dir
    for child in media_dir.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


@pytest.fixture(scope="session")
def worker_factory(django_db_setup, media_dir, tmp_path_factory):
    """`with worker_factory("prefork", SOME_ENV="x") as hostname:` runs a worker meanwhile."""
    log_dir = tmp_path_factory.mktemp("worker-logs")

    def start(pool: str = "gevent", *, concurrency: int | None = 4, extra_args=(), **extra_env):
        env = {"MEDIA_ROOT": str(media_dir), **extra_env}
        return running_worker(pool, log_dir, concurrency, extra_args, env)

    return start


@pytest.fixture(scope="session")
def celery_worker(worker_factory):
    """One real gevent worker for the whole session, as `make run` starts it.

    Tests that use it need committed rows: mark them `django_db(transaction=True)`."""
    with worker_factory("gevent") as hostname:
        yield hostname


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()


def cannot_run(reason: str):
    """Skip a test this machine cannot run, for that reason; CI must run them all."""
    if os.environ.get("CI"):
        pytest.fail(f"CI {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def prometheus_programs() -> tuple[Path, Path]:
    """Debian's prometheus and promtool (the `prometheus` package), for the monitoring kit."""
    if not (PROMETHEUS.exists() and PROMTOOL.exists()):
        cannot_run(f"needs {PROMETHEUS} and {PROMTOOL}: apt-get install prometheus")
    return PROMETHEUS, PROMTOOL


@pytest.fixture
def redis_sentinels(tmp_path):
    """A master, its replica and three Sentinels of the test's own (RedisSentinels)."""
    group = RedisSentinels(tmp_path / "sentinels")
    try:
        group.start()
        yield group
    finally:
        group.stop()


@pytest.fixture
def own_postgres():
    """A PostgreSQL of the test's own (PostgresServer) with an empty `image_parroter`
    database; it and any replica of it are stopped and deleted after the test."""
    if not PG_BIN.exists() or os.geteuid() != 0:
        cannot_run(f"needs PostgreSQL 15 at {PG_BIN} and root (it runs it as postgres)")
    server = PostgresServer()
    try:
        server.init()
        server.start()
        server.createdb()
        yield server
    finally:
        server.remove()


@pytest.fixture
def network():
    """A bridge on a private subnet of its own, to which the test adds hosts (network
    namespaces: hosts.Network); it all goes after the test, with any process left in a host."""
    if reason := hosts.unavailable():
        cannot_run(reason)
    network = hosts.Network()
    try:
        network.create()
        yield network
    finally:
        network.remove()
        assert not network.leftovers()


@pytest.fixture
def network_servers(network):
    """A PostgreSQL (its `image_parroter` database empty), a Redis and moto, all of the test's
    own, listening on the network's bridge address only; stopped and deleted after the test."""
    if not PG_BIN.exists():
        cannot_run(f"needs PostgreSQL 15 at {PG_BIN}")
    network.assert_own(network.address)
    postgres = PostgresServer(address=network.address)
    redis = RedisServer(network.root / "redis", address=network.address)
    moto = MotoServer(address=network.address)
    try:
        postgres.init(trusted=network.subnet)
        postgres.start()
        postgres.createdb()
        redis.start()
        moto.start()
        yield postgres, redis, moto
    finally:
        for server in (redis, moto):
            if server.proc is not None and server.proc.poll() is None:
                server.stop()
        postgres.remove()


@pytest.fixture
def stack_factory(django_db_setup, media_dir, tmp_path):
    """`with stack_factory(redis, SOME_ENV="x") as (url, worker):` runs gunicorn and a gevent
    worker, as `make run` does, on `redis` (a RedisServer) and the test database."""

    def start(redis: RedisServer, **extra_env):
        env = {"MEDIA_ROOT": str(media_dir), **RAISED_LIMITS, **extra_env}
        return running_stack(redis, tmp_path, **env)

    return start


@pytest.fixture
def beat_factory(celery_worker, tmp_path):
    """`with beat_factory() as log:` runs beat meanwhile, sending to the session's real
    worker; `log` is the path of its output (`beat_factory(loglevel="DEBUG")` for more)."""
    return lambda loglevel="INFO": running_beat(tmp_path, loglevel)


@pytest.fixture(scope="session")
def moto_server():
    """moto's S3-compatible server (moto_server) on loopback, for the whole session."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def object_storage(moto_server, settings):
    """This test keeps its media in a new bucket of the moto server, as
    MEDIA_STORAGE=storages.backends.s3.S3Storage does; yields the environment that puts a
    worker in the same mode, and the bucket (boto3's) to look into."""
    bucket = moto_server.new_bucket()
    env = object_storage_env(moto_server.url, bucket.name)
    use_object_storage(settings, env)
    return env, bucket


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Chromium at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the test thread; the ORM calls that
    # tests make from that thread are still synchronous.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (its own cookies, so its own session) on the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def sent_tasks(monkeypatch) -> list[tuple[str, list, str]]:
    """What this process sends to the workers, as (task name, args, task id), kept here
    instead of being sent."""
    sent = []

    def send_task(name, args=(), kwargs=None, task_id=None, **_):  # as Celery calls it
        sent.append((name, list(args), task_id))

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return sent

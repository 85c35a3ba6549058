"""Fixtures for every app: a file-backed test database, media in a temporary folder, real
Celery workers in their own processes, and a real Chromium driven by Playwright."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from celery import Celery
from django.conf import settings
from django.db import connection

from image_parroter.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BASE_DIR / "scripts"))
import devstack  # noqa: E402

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory):
    """SQLite tests use a file, not memory, so worker processes see the same database."""
    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = str(
            tmp_path_factory.mktemp("db") / "test.sqlite3"
        )


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def no_upload_limit(settings):
    """Tests upload far faster than people do, all from 127.0.0.1; the rate limit's own tests
    set UPLOAD_RATE back."""
    settings.UPLOAD_RATE = "100000/m"


@pytest.fixture(autouse=True)
def media_root(settings, media_dir):
    """Every test writes media to a temporary folder that workers share; emptied after it."""
    settings.MEDIA_ROOT = str(media_dir)
    yield media_dir
    for child in media_dir.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()


def test_database_url() -> str:
    """A DATABASE_URL for the test database this run created, for worker processes."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


CELERY = ("celery", "-A", "image_parroter")
GUNICORN = ("gunicorn", "image_parroter.wsgi", "--workers", "1", "--threads", "4")


@contextmanager
def running_process(name, args, log_path: Path, ready, extra_env=None, *, program=CELERY):
    """Run `python -m <program> <args>` (celery by default) on the test database until
    `ready()` is true, with extra_env on top of our environment (None unsets a variable).

    Stops it (SIGTERM, then SIGKILL) when the block ends; its output goes to log_path."""
    # The test database's URL would give the process another Redis prefix than this one's.
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        **(extra_env or {}),
    }
    env = {key: value for key, value in env.items() if value is not None}
    command = [sys.executable, "-m", *program, *args]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, env=env, cwd=BASE_DIR, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{name} did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def running_worker(
    pool: str, log_dir: Path, concurrency: int | None, extra_args=(), extra_env=None
):
    """Run `celery -A image_parroter worker -P <pool>`; yield its name once it answers.

    concurrency=None starts it without `-c`, with the pool's default size."""
    hostname = f"test-{pool}-{uuid.uuid4().hex[:8]}@localhost"
    args = ["worker", "-P", pool, "--hostname", hostname, *extra_args]
    args += ["--concurrency", str(concurrency)] if concurrency else []
    args += ["--without-mingle", "--without-gossip", "--loglevel", "INFO"]

    def answers() -> bool:
        return bool(celery_app.control.ping(destination=[hostname], timeout=0.5))

    with running_process(hostname, args, log_dir / f"{hostname}.log", answers, extra_env):
        yield hostname


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


class RedisServer:
    """A redis-server of a test's own, on a free port, which the test stops and starts again
    (its append-only file keeps what it held, as a production Redis does)."""

    def __init__(self, data_dir: Path):
        self.port, self.data_dir, self.proc = devstack.free_port(), data_dir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = devstack.start_redis(self.port, self.data_dir, append_only=True)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def celery_app(self) -> Celery:
        """A client of the project's queues on this Redis."""
        # Not the current app: the project's shared tasks must keep sending to its own Redis.
        app = Celery(broker=self.url, backend=self.url, set_as_current=False)
        app.conf.update(
            task_default_queue=celery_app.conf.task_default_queue,
            broker_transport_options={"global_keyprefix": settings.REDIS_KEY_PREFIX},
            result_backend_transport_options={"global_keyprefix": settings.REDIS_KEY_PREFIX},
        )
        return app


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()


def http_answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


@contextmanager
def running_worker_on(redis: RedisServer, pool: str, log_dir: Path, extra_args=(), **env):
    """A worker (`-P pool`, no -c) on `redis` and the test database; yields its name and
    its process."""
    hostname, app = f"{pool}-{uuid.uuid4().hex[:8]}@localhost", redis.celery_app()
    args = ["worker", "-P", pool, "--hostname", hostname, "--loglevel", "INFO", *extra_args]

    def answers() -> bool:
        return bool(app.control.ping(destination=[hostname], timeout=0.5))

    env = {"REDIS_URL": redis.url, **env}
    with running_process(hostname, args, log_dir / f"{hostname}.log", answers, env) as proc:
        yield hostname, proc


@pytest.fixture
def stack_factory(django_db_setup, media_dir, tmp_path):
    """`with stack_factory(redis, SOME_ENV="x") as (url, worker):` runs gunicorn and a gevent
    worker, as `make run` does, on `redis` (a RedisServer) and the test database."""

    @contextmanager
    def start(redis: RedisServer, **extra_env):
        env = {"REDIS_URL": redis.url, "MEDIA_ROOT": str(media_dir), "UPLOAD_RATE": "100000/m"}
        env.update(extra_env)
        port = devstack.free_port()
        url = f"http://127.0.0.1:{port}"
        web_args = ["--bind", f"127.0.0.1:{port}"]
        log = tmp_path / "web.log"
        with (
            running_process("web", web_args, log, lambda: http_answers(url), env, program=GUNICORN),
            running_worker_on(redis, "gevent", tmp_path, **env) as (worker, _),
        ):
            yield url, worker

    return start


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

    def send_task(name, args=(), task_id=None, **_):
        sent.append((name, list(args), task_id))

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return sent

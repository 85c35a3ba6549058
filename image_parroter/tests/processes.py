"""Real processes for the tests, on the test database: Celery workers, beat, gunicorn, a
redis-server or a PostgreSQL of a test's own, and moto's S3-compatible server. The fixtures
that start them are in the root conftest.py."""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager, suppress
from http.client import RemoteDisconnected
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import requests
from celery import Celery
from django.conf import settings
from django.db import connection
from urllib3.exceptions import ProtocolError

from image_parroter.celery import app as celery_app
from image_parroter.settings import object_storage_origins
from ops import dispatch

from .waiting import budget, wait_for

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR / "scripts"))
import devstack  # noqa: E402

free_port = devstack.free_port
RAISED_LIMITS = devstack.RAISED_LIMITS

# The test being run (the root conftest sets it), which must be marked to start processes.
current_test = None

CELERY = ("celery", "-A", "image_parroter")
# A worker's arguments that load the tests' own tasks (image_parroter/tests/tasks.py).
TEST_TASKS_ARGS = ("--include", "image_parroter.tests.tasks")
GUNICORN = (
    "gunicorn",
    "image_parroter.wsgi",
    "--workers",
    "1",
    "--threads",
    "4",
    "--no-control-socket",
)


def manage(*args, **env) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process with env on top of ours (a None value unsets it)."""
    merged = {key: value for key, value in {**os.environ, **env}.items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=merged,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        check=False,
    )


def worker_database_url() -> str:
    """A DATABASE_URL for the test database this run created, for worker processes."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def running_process(
    name, args, log_path: Path, ready, extra_env=None, *, program=CELERY, host=None
):
    """Run `python -m <program> <args>` (celery by default) on the test database until
    `ready()` is true, with extra_env on top of our environment (None unsets a variable).
    With `host` (a hosts.Host) it runs in that network namespace, in a process group of its
    own, with the host's empty folders as its working directory, HOME, MEDIA_ROOT and TMPDIR.

    Stops it (SIGTERM, then SIGKILL) when the block ends; its output goes to log_path."""
    if current_test is not None and current_test.get_closest_marker("worker") is None:
        pytest.fail(f"{current_test.nodeid} starts {name}: mark it pytest.mark.worker")
    # The test database's URL would give the process another Redis prefix than this one's.
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        **(host.env if host else {}),
        **(extra_env or {}),
    }
    env = {key: value for key, value in env.items() if value is not None}
    command = [sys.executable, "-m", *program, *args]
    where = {"cwd": BASE_DIR}
    if host is not None:
        command, where = host.command(command), {"cwd": host.cwd, "start_new_session": True}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=log, **where)
    try:
        deadline = time.monotonic() + budget(60)
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


@contextmanager
def running_beat(log_dir: Path, loglevel: str = "INFO", **env):
    """Run `celery -A image_parroter beat` (DatabaseScheduler from settings), with env on top
    of ours; yield its log."""
    log_path = log_dir / f"beat-{uuid.uuid4().hex[:8]}.log"

    def started() -> bool:
        return "beat: Starting..." in log_path.read_text()

    with running_process("beat", ["beat", "--loglevel", loglevel], log_path, started, env):
        yield log_path


class RedisServer:
    """A redis-server of a test's own, on a free port, which the test stops and starts again
    (its append-only file keeps what it held, as a production Redis does); with `password`,
    one that its clients must give (`url` has it)."""

    def __init__(self, data_dir: Path, address: str = "127.0.0.1", password: str = ""):
        self.port, self.data_dir, self.proc, self.address = free_port(), data_dir, None, address
        self.password = password
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}{address}:{self.port}/0"

    def start(self) -> None:
        self.proc = devstack.start_redis(
            self.port, self.data_dir, append_only=True, host=self.address, password=self.password
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def celery_app(self) -> Celery:
        """A client of the project's queues on this Redis."""
        return queues_app(self.url)


def queues_app(url: str, **transport_options) -> Celery:
    """A client of the project's queues on the Redis at `url`."""
    # Not the current app: the project's shared tasks must keep sending to its own Redis.
    app = Celery(broker=url, backend=url, set_as_current=False)
    options = {"global_keyprefix": settings.REDIS_KEY_PREFIX, **transport_options}
    app.conf.update(
        task_default_queue=celery_app.conf.task_default_queue,
        task_queues=celery_app.conf.task_queues,
        task_routes=celery_app.conf.task_routes,
        broker_transport_options=options,
        result_backend_transport_options=options,
    )
    return app


class RedisSentinels:
    """A master, its replica and three Sentinels watching them, each a redis-server of a
    test's own on a free port; `url` names the Sentinels, as REDIS_URL does in production.
    The test makes them fail over (`failover()`)."""

    master_name = "test-master"

    def __init__(self, data_dir: Path):
        self.data_dir, self.procs = data_dir, []
        self.ports = [free_port() for _ in range(2)]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.url = ";".join(f"sentinel://127.0.0.1:{port}/0" for port in self.sentinel_ports)
        self.env = {"REDIS_URL": self.url, "REDIS_SENTINEL_MASTER": self.master_name}

    def start(self) -> None:
        master, replica = self.ports
        self.procs.append(devstack.start_redis(master, self.data_dir / "master", False))
        self.procs.append(
            devstack.start_redis(
                replica, self.data_dir / "replica", False, "--replicaof", "127.0.0.1", str(master)
            )
        )
        for port in self.sentinel_ports:
            config = self.data_dir / f"sentinel-{port}.conf"
            # Quorum 2 of 3; a master silent for 1 s is down (Sentinel's default: 30 s).
            config.write_text(
                f"sentinel monitor {self.master_name} 127.0.0.1 {master} 2\n"
                f"sentinel down-after-milliseconds {self.master_name} 1000\n"
                f"sentinel failover-timeout {self.master_name} 10000\n"
            )
            data_dir = self.data_dir / f"sentinel-{port}"
            self.procs.append(
                devstack.start_redis(port, data_dir, False, "--sentinel", config=config)
            )
        assert wait_for(self.ready, timeout=budget(30)), "the Sentinels never saw the replica"

    @staticmethod
    def server(port: int) -> redis.Redis:
        """A client of the redis-server (or Sentinel) on `port`."""
        return redis.Redis(port=port, socket_timeout=2)

    def master_port(self) -> int:
        """The port of the master, as the first Sentinel says."""
        sentinel = self.server(self.sentinel_ports[0])
        return int(sentinel.sentinel_get_master_addr_by_name(self.master_name)[1])

    def role(self, port: int) -> str:
        """The role the redis-server on `port` says it has: master or slave."""
        return self.server(port).info("replication")["role"]

    def ready(self) -> bool:
        """Every Sentinel knows the master, its replica (in sync) and the two other Sentinels."""
        for port in self.sentinel_ports:
            sentinel = self.server(port)
            replicas = sentinel.sentinel_slaves(self.master_name)
            in_sync = [r for r in replicas if r["master-link-status"] == "ok" and not r["is_sdown"]]
            if not in_sync or len(sentinel.sentinel_sentinels(self.master_name)) < 2:
                return False
        return True

    def failover(self) -> None:
        """Make the replica the master now, as Sentinels do when the master dies."""
        self.server(self.sentinel_ports[0]).sentinel_failover(self.master_name)

    def celery_app(self) -> Celery:
        """A client of the project's queues through these Sentinels."""
        return queues_app(self.url, master_name=self.master_name)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            proc.wait(timeout=30)


PROMETHEUS, PROMTOOL = Path("/usr/bin/prometheus"), Path("/usr/bin/promtool")


@contextmanager
def running_prometheus(config: Path, log_dir: Path):
    """Debian's Prometheus on `config`, on a free port of loopback, its data in log_dir (never
    as the machine's service); yields its URL once it is ready, stops it after."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(PROMETHEUS),
        f"--config.file={config}",
        f"--storage.tsdb.path={log_dir / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    log_path = log_dir / "prometheus.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        if not wait_for(lambda: proc.poll() is None and http_answers(f"{url}/-/ready"), 30):
            pytest.fail(f"Prometheus did not start:\n{log_path.read_text()[-3000:]}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresServer:
    """A PostgreSQL of a test's own (Debian's 15), on a free port of loopback (or `address`) with
    trust auth, which the test stops, restarts, replicates and promotes. It runs as the
    `postgres` user, so its data lives in a folder of that user's (pytest's temporary folders
    are root's only); `remove()` stops it and deletes that folder."""

    def __init__(self, root: Path | None = None, name: str = "primary", address: str = "127.0.0.1"):
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="image-parroter-pg-"))
            shutil.chown(root, "postgres", "postgres")
        self.root, self.port, self.address = root, free_port(), address
        self.data_dir, self.log_path = root / name, root / f"{name}.log"

    def url(self, database: str = "image_parroter") -> str:
        return f"postgres://postgres@{self.address}:{self.port}/{database}"

    def run(self, program: str, *args: str) -> str:
        """`program` of PostgreSQL's, run as postgres; its output."""
        command = ["runuser", "-u", "postgres", "--", str(PG_BIN / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=budget(120))
        if done.returncode:
            raise RuntimeError(f"{program} failed: {done.stderr or done.stdout}")
        return done.stdout

    def pg_ctl(self, action: str, *args: str) -> None:
        self.run("pg_ctl", action, "-D", str(self.data_dir), "-w", *args)

    def init(self, trusted: str | None = None) -> None:
        """A new cluster; initdb trusts loopback, and this trusts the `trusted` subnet too."""
        self.run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--no-sync")
        if trusted:
            with open(self.data_dir / "pg_hba.conf", "a") as hba:
                hba.write(f"host all all {trusted} trust\n")

    def start(self) -> None:
        # Its own socket folder and address only: the machine's PostgreSQL is left alone.
        options = f"-p {self.port} -c listen_addresses={self.address} -k {self.root}"
        self.pg_ctl("start", "-l", str(self.log_path), "-o", options)

    def stop(self) -> None:
        self.pg_ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self.stop()
        self.start()

    def createdb(self, database: str = "image_parroter") -> None:
        self.run("createdb", "-h", self.address, "-p", str(self.port), "-U", "postgres", database)

    def replica(self) -> "PostgresServer":
        """A streaming replica of this server (pg_basebackup -R), started, in the same folder;
        a fast checkpoint, or the backup waits for the next one (minutes)."""
        replica = PostgresServer(self.root, f"replica-{uuid.uuid4().hex[:6]}", self.address)
        source = ["-h", self.address, "-p", str(self.port), "-U", "postgres"]
        into = ["-D", str(replica.data_dir), "-R", "-X", "stream", "-c", "fast", "-N"]
        self.run("pg_basebackup", *source, *into)
        replica.start()
        return replica

    def promote(self) -> None:
        """A replica becomes a primary that takes writes."""
        self.pg_ctl("promote")

    def remove(self) -> None:
        """Stop every server of this folder (this one and its replicas) and delete it."""
        for data_dir in self.root.iterdir():
            if (data_dir / "postmaster.pid").exists():
                with suppress(RuntimeError):  # it stopped meanwhile: delete it all the same
                    PostgresServer(self.root, data_dir.name).pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root)


def send_job(app: Celery, job) -> None:
    """Send a job to its task through `app` (a RedisServer's), as ops.dispatch.send does
    through the project's own Redis."""
    app.send_task(job.task_name, args=[str(job.pk)], task_id=dispatch.task_id(job))


def http_answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


@contextmanager
def running_worker_on(
    redis: RedisServer, pool: str, log_dir: Path, extra_args=(), host=None, **env
):
    """A worker (`-P pool`, no -c) on `redis` and the test database (or on `host`, a
    hosts.Host, and its environment); yields its name and its process."""
    node = host.name if host else "localhost"
    hostname, app = f"{pool}-{uuid.uuid4().hex[:8]}@{node}", redis.celery_app()
    args = ["worker", "-P", pool, "--hostname", hostname, "--loglevel", "INFO", *extra_args]

    def answers() -> bool:
        return bool(app.control.ping(destination=[hostname], timeout=0.5))

    env = {"REDIS_URL": redis.url, **env}
    log = log_dir / f"{hostname}.log"
    with running_process(hostname, args, log, answers, env, host=host) as proc:
        yield hostname, proc


@contextmanager
def running_web(log_dir: Path, host=None, **env):
    """gunicorn on the test database (or on `host`, a hosts.Host, at its address); yields
    the site's URL."""
    address, port = host.address if host else "127.0.0.1", free_port()
    url = f"http://{address}:{port}"
    args, log = ["--bind", f"{address}:{port}"], log_dir / "web.log"
    with running_process(
        "web", args, log, lambda: http_answers(url), env, program=GUNICORN, host=host
    ):
        yield url


@contextmanager
def running_flower(log_dir: Path, **env):
    """Flower (`celery -A image_parroter flower`, which reads flowerconfig.py) on a free port
    of loopback, with the task events it needs; yields its URL and the (user, password) it
    asks for."""
    port, auth = free_port(), ("staff", secrets.token_urlsafe(16))
    url = f"http://127.0.0.1:{port}"
    env = {"FLOWER_BASIC_AUTH": ":".join(auth), "CELERY_TASK_EVENTS": "true", **env}
    args, log = ["flower", f"--port={port}", "--address=127.0.0.1"], log_dir / "flower.log"
    with running_process("flower", args, log, lambda: http_answers(f"{url}/healthcheck"), env):
        yield url, auth


@contextmanager
def running_stack(redis: RedisServer, log_dir: Path, **env):
    """gunicorn and a gevent worker, as `make run` starts them, on `redis` and the test
    database; yields the site's URL and the worker's name."""
    env = {"REDIS_URL": redis.url, **env}
    with (
        running_web(log_dir, **env) as url,
        running_worker_on(redis, "gevent", log_dir, **env) as (worker, _),
    ):
        yield url, worker


class Person:
    """A browser: a session cookie, the CSRF token, and how long each answer took."""

    def __init__(self, url: str):
        self.url, self.session, self.waited = url, requests.Session(), {}
        self.session.get(f"{url}/", timeout=5)
        self.session.headers["X-CSRFToken"] = self.session.cookies["csrftoken"]

    def ask(self, what: str, method: str, path: str, **kwargs) -> requests.Response:
        started = time.monotonic()
        try:
            response = self._send(method, path, **kwargs)
        except requests.ConnectionError as error:
            # As a browser does, a GET that met its kept-alive connection closed is sent again
            # on a new one. gunicorn closes a connection after an answer given without reading
            # a body of over 64 KB (an upload refused while the database is away), and a
            # request sent before that close arrives meets it.
            if method != "get" or not closed_before_answering(error):
                raise
            response = self._send(method, path, **kwargs)
        self.waited[what] = round(time.monotonic() - started, 3)
        return response

    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(
            method, self.url + path, timeout=10, allow_redirects=False, **kwargs
        )


def closed_before_answering(error: requests.ConnectionError) -> bool:
    """The server closed the connection without a byte of an answer (the request was sent)."""
    cause = error.args[0] if error.args else None
    return isinstance(cause, ProtocolError) and isinstance(cause.args[-1], RemoteDisconnected)


object_storage_env = devstack.object_storage_env


def use_object_storage(settings, env: dict[str, str]) -> None:
    """This process (pytest-django's `settings`) stores media as `env` tells a worker to."""
    for name, value in env.items():
        if name.startswith("AWS_"):
            setattr(settings, name, value)
    # Pages may show images from the storage's origin (settings.py computes the same from the
    # environment at start).
    policy = settings.CONTENT_SECURITY_POLICY
    origins = object_storage_origins(env["AWS_S3_ENDPOINT_URL"], env["AWS_STORAGE_BUCKET_NAME"])
    img_src = [*policy["DIRECTIVES"]["img-src"], *origins]
    settings.CONTENT_SECURITY_POLICY = {
        **policy,
        "DIRECTIVES": {**policy["DIRECTIVES"], "img-src": img_src},
    }
    # Last: the storage is made anew, from the settings above, when STORAGES changes.
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": env["MEDIA_STORAGE"]}}


class MotoServer:
    """moto's standalone S3-compatible server on a free port of loopback (or `address`), with
    a new bucket for each test that asks."""

    def __init__(self, address: str = "127.0.0.1"):
        self.port, self.proc, self.address = free_port(), None, address
        self.url = f"http://{address}:{self.port}"

    def start(self) -> None:
        self.proc = devstack.start_moto(self.port, self.address)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def new_bucket(self):
        """A new, empty bucket (boto3's Bucket); `object_storage_env(url, bucket.name)`."""
        return devstack.create_bucket(object_storage_env(self.url, f"test-{uuid.uuid4().hex[:12]}"))

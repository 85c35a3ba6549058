"""The processes `make run` starts, on free ports and throwaway data, for whole-path benchmarks.

`scripts/devstack.py run` (honcho with the Procfile: the front, gunicorn 2x4 behind it, the
worker exactly as documented, beat) against a private redis-server, a temporary SQLite
database and media folder, with `bench.settings` so that the tutorial baseline shares the web
and the worker.
With `object_storage=True` the media go to a bucket of moto's S3-compatible server on
loopback instead (MEDIA_STORAGE=storages.backends.s3.S3Storage), and nothing to the folder.
"""

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "scripts"))
import devstack  # noqa: E402
import environ  # noqa: E402

from image_parroter.settings import database_tag  # noqa: E402


@dataclass
class Stack:
    url: str
    redis_url: str
    redis_prefix: str
    env: dict
    log: Path
    pid: int  # honcho's: the web, worker and beat are its children
    bucket: object = None  # boto3's Bucket, with object_storage=True

    def stored_bytes(self) -> int:
        """The size of every stored file: in the bucket, or under MEDIA_ROOT."""
        if self.bucket is not None:
            return sum(stored.size for stored in self.bucket.objects.all())
        media = Path(self.env["MEDIA_ROOT"])
        return sum(path.stat().st_size for path in media.rglob("*") if path.is_file())

    def worker_log(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_for(ready, what: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{what} did not come up:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


@contextmanager
def make_run_stack(extra_env: dict | None = None, *, object_storage: bool = False):
    with tempfile.TemporaryDirectory(prefix="image_parroter_bench_") as tmp:
        tmp = Path(tmp)
        redis_port, web_port = devstack.free_port(), devstack.free_port()
        redis_proc = devstack.start_redis(redis_port, tmp / "redis", append_only=False)
        moto_proc, storage_env, bucket = None, {}, None
        if object_storage:
            moto_port = devstack.free_port()
            moto_proc = devstack.start_moto(moto_port)
            storage_env = devstack.object_storage_env(f"http://127.0.0.1:{moto_port}", "bench")
            bucket = devstack.create_bucket(storage_env)
        venv_bin = str(Path(sys.executable).parent)
        env = {
            **{
                name: value
                for name, value in os.environ.items()
                if name != "PYTHONDONTWRITEBYTECODE"
            },
            "PATH": f"{venv_bin}:{os.environ['PATH']}",
            "PYTHONPATH": str(BASE_DIR),
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "MEDIA_ROOT": str(tmp / "media"),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "PORT": str(web_port),
            # The front's folder and gunicorn's socket, this stack's own.
            "FRONT_DIR": str(tmp / "front"),
            "WEB_SOCKET": str(tmp / "run" / "web.sock"),
            # Every benchmark client asks from 127.0.0.1, far faster than a person, and the
            # front would count their requests in progress as one address's.
            **devstack.RAISED_LIMITS,
            "FRONT_CONNECTIONS_PER_ADDRESS": "10000",
            # Through the front, /metrics asks for the token, as it does of any Prometheus.
            "METRICS_TOKEN": secrets.token_urlsafe(24),
            **storage_env,
            **(extra_env or {}),
        }
        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True)
        log = tmp / "stack.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, str(BASE_DIR / "scripts" / "devstack.py"), "run"],
                env=env,
                cwd=BASE_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{web_port}"
        # What the settings derive from the database, for clients of its Redis.
        tag = database_tag(environ.Env.db_url_config(env["DATABASE_URL"]))
        prefix = f"image_parroter:{tag}:"
        stack = Stack(
            url=url,
            redis_url=env["REDIS_URL"],
            redis_prefix=prefix,
            env=env,
            log=log,
            pid=proc.pid,
            bucket=bucket,
        )
        try:
            _wait_for(lambda: _answers(f"{url}/health"), "the web", proc, log)
            _wait_for(lambda: "ready." in stack.worker_log(), "the worker", proc, log)
            yield stack
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            for server in (redis_proc, moto_proc):
                if server is not None:
                    server.terminate()
                    server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError as error:
        return error.code == 503  # up, though something it needs is not
    except OSError:
        return False

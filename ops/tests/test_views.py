import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from ops import beat_lock, heartbeat, redis_client

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_health_names_the_workers_that_answered_and_beats_last_tick(client, celery_worker):
    cache.delete("ops:health:workers")
    heartbeat.record()

    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert body["database"] is True and body["redis"] is True
    assert celery_worker in body["workers"]
    assert 0 <= body["beat_seconds_since_tick"] < 5


def test_health_without_a_tick_says_so(client):
    redis_client.client().delete(heartbeat.tick_key())

    assert client.get(reverse("ops:health")).json()["beat_seconds_since_tick"] is None


def test_health_names_the_beat_that_holds_the_lock(client):
    redis_client.client().delete(beat_lock.key())
    assert client.get("/health").json()["beat"] is None

    lock = beat_lock.BeatLock()
    assert lock.hold()
    try:
        assert client.get("/health").json()["beat"] == f"{socket.gethostname()}:{os.getpid()}"
    finally:
        lock.release()
    assert client.get("/health").json()["beat"] is None


def test_health_answers_503_naming_redis_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"

    response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"]
    assert body["database"] is True and body["redis"] is False
    assert body["workers"] == [] and body["beat_seconds_since_tick"] is None
    assert body["beat"] is None


def test_health_answers_503_naming_the_database_when_it_is_unreachable():
    """In a process of its own, since this one holds the test database's connection."""
    env = {**os.environ, "DATABASE_URL": f"postgres://nobody@127.0.0.1:{closed_port()}/none"}
    script = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client(HTTP_HOST='localhost').get('/health'); "
        "print(json.dumps([r.status_code, r.json()]))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )

    status, body = json.loads(run.stdout.splitlines()[-1])
    assert status == 503
    assert body["failed"] == ["database"]
    assert body["database"] is False and body["redis"] is True


@pytest.mark.parametrize("path", ["task/status/{id}/", "task/done/{id}/", "group/status/{id}/"])
def test_task_result_urls_are_not_public(client, path):
    assert client.get("/" + path.format(id=uuid.uuid4())).status_code == 404

import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.urls import reverse

from image_parroter.tests.waiting import wait_for
from ops import beat_lock, heartbeat, redis_client

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_health_names_the_workers_whose_heartbeats_came_and_beats_last_tick(client, celery_worker):
    heartbeat.record()

    # A worker's heartbeat comes every 2 s.
    assert wait_for(lambda: celery_worker in client.get("/health").json()["workers"], timeout=10)
    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert body["database"] is True and body["redis"] is True
    assert 0 <= body["beat_seconds_since_tick"] < 5


def test_health_never_waits_on_the_workers(client):
    """No broadcast ping: /health reads the heartbeats kept in Redis. A ping is a PUBLISH on
    the broadcast exchange, then a wait for the replies."""
    server = redis_client.client()
    publishes = server.info("commandstats").get("cmdstat_publish", {}).get("calls", 0)

    for _ in range(5):
        assert client.get("/health").status_code == 200

    after = server.info("commandstats").get("cmdstat_publish", {}).get("calls", 0)
    assert after == publishes


DETAILS = {"workers", "beat_seconds_since_tick", "beat"}


@pytest.mark.parametrize(
    "meta",
    [
        {"REMOTE_ADDR": "203.0.113.9"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer not-the-token"},
    ],
)
def test_health_tells_others_only_whether_it_serves(client, settings, meta):
    settings.METRICS_TOKEN = "s3cret-scraper-token"
    if "HTTP_AUTHORIZATION" in meta:  # a token, from a client that is not loopback
        meta = {**meta, "REMOTE_ADDR": "203.0.113.9"}

    body = client.get("/health", **meta).json()

    assert body["status"] == "ok" and body["failed"] == []
    assert not DETAILS & set(body)


def test_health_gives_its_details_with_the_token_or_to_loopback(client, settings):
    settings.METRICS_TOKEN = "s3cret-scraper-token"
    token = {"HTTP_AUTHORIZATION": "Bearer s3cret-scraper-token"}
    assert set(client.get("/health", REMOTE_ADDR="203.0.113.9", **token).json()) >= DETAILS
    assert set(client.get("/health", REMOTE_ADDR="127.0.0.1").json()) >= DETAILS


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

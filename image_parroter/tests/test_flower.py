"""Flower, for real (flowerconfig.py), on a Redis of the test's own that has a password: it
shows a task waiting in its queue with its name and since when (the web's task-sent events),
then the worker's run of it (the workers' events), and what workers report of their settings
carries no password."""

import json
import secrets
import time

import pytest
import requests

from image_parroter.tests.processes import (
    Person,
    RedisServer,
    running_flower,
    running_web,
    running_worker_on,
)
from image_parroter.tests.waiting import wait_for
from thumbnailer.models import ThumbnailJob
from thumbnailer.tests.images import image_bytes

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EVENTS = {"CELERY_TASK_EVENTS": "true"}


@pytest.fixture
def locked_redis(tmp_path):
    """A redis-server of the test's own that asks for a password."""
    server = RedisServer(tmp_path / "redis", password=f"redis-{secrets.token_urlsafe(12)}")
    server.start()
    yield server
    server.stop()


def flower_api(url: str, auth, path: str, **params):
    response = requests.get(f"{url}/api/{path}", params=params, auth=auth, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_flower_shows_a_task_waiting_in_its_queue_then_the_workers_run_of_it(
    locked_redis, tmp_path, media_root
):
    env = {"REDIS_URL": locked_redis.url, "MEDIA_ROOT": str(media_root), **EVENTS}
    with running_web(tmp_path, **env) as url, running_flower(tmp_path, **env) as (flower, auth):
        person = Person(url)
        photo = ("photo.jpg", image_bytes(size=(640, 480)), "image/jpeg")
        upload = person.ask("upload", "post", "/", files=[("images", photo)])
        assert upload.status_code == 302, upload.text[:500]
        job = ThumbnailJob.objects.get()

        def waiting_task() -> dict | None:
            tasks = flower_api(flower, auth, "tasks").values()
            return next((t for t in tasks if t["args"] == repr([str(job.pk)])), None)

        # No worker serves `thumbnails` yet: the job waits in its queue.
        assert wait_for(waiting_task, timeout=10), "Flower heard nothing of the job"
        time.sleep(2)
        task = waiting_task()
        print(f"figure: Flower's /api/tasks, the job waiting: {json.dumps(task)}")
        assert (task["name"], task["state"], task["received"]) == (
            "thumbnailer.job_run",
            "PENDING",
            None,
        )
        assert time.time() - task["sent"] >= 2  # since when it waits

        with running_worker_on(locked_redis, "gevent", tmp_path, **env):
            done = wait_for(lambda: (t := waiting_task())["state"] == "SUCCESS" and t, timeout=30)
        print(f"figure: Flower's /api/tasks, the job done: {json.dumps(done)}")
        assert done["sent"] < done["received"] <= done["started"] <= done["succeeded"]


def test_what_workers_report_of_their_settings_carries_no_password(locked_redis, tmp_path):
    env = {"REDIS_URL": locked_redis.url, **EVENTS}
    with (
        running_worker_on(locked_redis, "gevent", tmp_path, **env) as (worker, _),
        running_flower(tmp_path, **env) as (flower, auth),
    ):

        def reported() -> dict | None:
            workers = flower_api(flower, auth, "workers", refresh=1)
            return workers if workers.get(worker, {}).get("conf") else None

        workers = wait_for(reported, timeout=30)

    assert locked_redis.password not in json.dumps(workers)
    conf = workers[worker]["conf"]
    masked = locked_redis.url.replace(locked_redis.password, "********")
    assert conf["REDIS_URL"] == conf["CELERY_BROKER_URL"] == masked
    assert conf["CACHES"]["default"]["LOCATION"] == [masked]
    assert conf["CELERY_TASK_DEFAULT_QUEUE"] == "default"  # the rest as it is

"""Generation through real gevent workers on Redis, including a worker killed half-way."""

import os
import signal
import time

import pytest

from image_parroter.celery import app as celery_app
from ops import dispatch
from users import services
from users.models import UserBatch
from users.services import user_batch_create
from users.tasks import user_batch_fill

from .conftest import wait_for_batch

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def send_to(hostname: str, batch: UserBatch) -> None:
    """Send the batch's task to that worker alone, through a queue only it consumes
    (the session's worker also listens on the default queue)."""
    queue = f"{hostname}-{batch.pk}"
    celery_app.control.add_consumer(queue, destination=[hostname], reply=True)
    user_batch_fill.apply_async((str(batch.pk),), queue=queue)


def test_a_batch_is_made_by_the_worker_and_watched_through_status_json(client, celery_worker):
    batch = user_batch_create(total=2500)
    statuses = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(f"/users/batches/{batch.pk}/status.json").json()
        statuses.add(status["status"])
        if status["status"] == "done":
            break
        time.sleep(0.05)
    assert status == {
        "id": str(batch.pk),
        "status": "done",
        "progress": 100,
        "created": 2500,
        "total": 2500,
    }
    assert batch.users.count() == 2500
    assert statuses <= {"queued", "running", "done"}


def test_two_deliveries_at_once_make_exactly_n(celery_worker):
    """The worker runs both copies side by side (gevent, concurrency 4): one attempt."""
    batch = UserBatch.objects.create(total=5000)
    for _ in range(2):
        user_batch_fill.delay(str(batch.pk))
    wait_for_batch(batch)
    assert (batch.status, batch.created, batch.attempts) == ("done", 5000, 1)
    assert batch.users.count() == 5000


def test_a_worker_killed_half_way_then_a_redispatch_makes_exactly_n(worker_factory, celery_worker):
    batch = UserBatch.objects.create(total=20_000)
    # Small chunks make the doomed worker slow enough to be caught half-way.
    with worker_factory("gevent", USERS_GENERATE_CHUNK_SIZE="50") as doomed:
        pid = celery_app.control.inspect(destination=[doomed], timeout=5).stats()[doomed]["pid"]
        send_to(doomed, batch)
        deadline = time.monotonic() + 60
        while batch.created < 2000:
            assert time.monotonic() < deadline, "the doomed worker never got going"
            time.sleep(0.02)
            batch.refresh_from_db()
        os.kill(pid, signal.SIGKILL)
    batch.refresh_from_db()
    assert batch.status == "running"
    assert 2000 <= batch.created == batch.users.count() < 20_000

    assert batch.claim_lost() == "queued"  # what ops' sweep does with a lost batch
    dispatch.send(batch)
    wait_for_batch(batch)
    assert (batch.status, batch.created, batch.attempts) == ("done", 20_000, 2)
    assert batch.users.count() == 20_000


def test_the_gevent_worker_runs_other_tasks_while_a_big_batch_is_made(celery_worker):
    batch = user_batch_create(total=30_000)
    while batch.created == 0:
        time.sleep(0.02)
        batch.refresh_from_db()
    celery_app.send_task("ops.heartbeat_record").get(timeout=10)
    batch.refresh_from_db()
    assert batch.status == "running"  # the heartbeat did not wait for the batch
    assert batch.created < 30_000
    wait_for_batch(batch)
    assert batch.users.count() == 30_000


def test_a_batch_longer_than_the_time_limit_goes_on_in_fresh_tasks(worker_factory, celery_worker):
    """A worker whose soft time limit is 1 s gives each task half a second of chunks."""
    batch = UserBatch.objects.create(total=20_000)
    with worker_factory("gevent", CELERY_TASK_TIME_LIMIT="31") as short:
        send_to(short, batch)
        wait_for_batch(batch)
    assert (batch.status, batch.created) == ("done", 20_000)
    assert batch.attempts == 1  # carrying on in a fresh task is the same attempt
    assert batch.users.count() == 20_000


def test_a_batch_cancelled_while_it_is_made_stops_and_keeps_its_users(celery_worker):
    batch = user_batch_create(total=50_000)
    while batch.created == 0:
        time.sleep(0.02)
        batch.refresh_from_db()

    assert services.user_batch_cancel(batch=batch)

    time.sleep(1)  # the chunk in hand ends
    batch.refresh_from_db()
    made = batch.created
    time.sleep(1)
    batch.refresh_from_db()
    assert (batch.status, batch.created) == ("cancelled", made)
    assert 0 < made == batch.users.count() < 50_000

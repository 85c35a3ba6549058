"""Generation through real gevent workers on Redis, including a worker killed half-way."""

import os
import signal
import time

import pytest

from image_parroter.celery import app as celery_app
from image_parroter.tests.waiting import budget, wait_for, wait_until_final
from ops import dispatch
from users import services
from users.models import UserBatch
from users.services import user_batch_create
from users.tasks import user_batch_fill

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def send_to(hostname: str, batch: UserBatch) -> None:
    """Send the batch's task to that worker alone, through a queue only it consumes
    (the session's worker also listens on the default queue)."""
    queue = f"{hostname}-{batch.pk}"
    celery_app.control.add_consumer(queue, destination=[hostname], reply=True)
    user_batch_fill.apply_async((str(batch.pk),), queue=queue)


def made_at_least(batch: UserBatch, count: int) -> bool:
    batch.refresh_from_db()
    return batch.created >= count


def holds_a_task_of(hostname: str, batch: UserBatch) -> bool:
    """Whether the worker runs, or has taken, a task of the batch (their ids start with its)."""
    inspect = celery_app.control.inspect(destination=[hostname], timeout=2)
    replies = [inspect.active(), inspect.reserved()]
    if None in replies:  # no answer in time: it may still hold one
        return True
    tasks = [task for reply in replies for task in reply.get(hostname, [])]
    return any(task["id"].startswith(f"{batch.pk}.") for task in tasks)


def test_a_batch_is_made_by_the_worker_and_watched_through_status_json(client, celery_worker):
    batch = user_batch_create(total=2500)
    statuses = set()

    def done_status():
        status = client.get(f"/users/batches/{batch.pk}/status.json").json()
        statuses.add(status["status"])
        return status if status["status"] == "done" else None

    status = wait_for(done_status, timeout=60, interval=0.05)
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
    wait_until_final(batch)
    assert (batch.status, batch.created, batch.attempts) == ("done", 5000, 1)
    assert batch.users.count() == 5000


def test_a_worker_killed_half_way_then_a_redispatch_makes_exactly_n(worker_factory, celery_worker):
    batch = UserBatch.objects.create(total=20_000)
    # Small chunks make the doomed worker slow enough to be caught half-way.
    with worker_factory("gevent", USERS_GENERATE_CHUNK_SIZE="50") as doomed:
        pid = celery_app.control.inspect(destination=[doomed], timeout=5).stats()[doomed]["pid"]
        send_to(doomed, batch)
        assert wait_for(lambda: made_at_least(batch, 2000), timeout=60, interval=0.02), (
            "the doomed worker never got going"
        )
        os.kill(pid, signal.SIGKILL)
    batch.refresh_from_db()
    assert batch.status == "running"
    assert 2000 <= batch.created == batch.users.count() < 20_000

    assert batch.claim_lost() == "queued"  # what ops' sweep does with a lost batch
    dispatch.send(batch)
    wait_until_final(batch)
    assert (batch.status, batch.created, batch.attempts) == ("done", 20_000, 2)
    assert batch.users.count() == 20_000


def test_the_gevent_worker_runs_other_tasks_while_a_big_batch_is_made(celery_worker):
    batch = user_batch_create(total=30_000)
    assert wait_for(lambda: made_at_least(batch, 1), timeout=60, interval=0.02)
    celery_app.send_task("ops.heartbeat_record").get(timeout=10)
    batch.refresh_from_db()
    assert batch.status == "running"  # the heartbeat did not wait for the batch
    assert batch.created < 30_000
    wait_until_final(batch)
    assert batch.users.count() == 30_000


def test_a_batch_longer_than_the_time_limit_goes_on_in_fresh_tasks(worker_factory, celery_worker):
    """A worker whose soft time limit is 1 s gives each task half a second of chunks."""
    batch = UserBatch.objects.create(total=20_000)
    with worker_factory("gevent", CELERY_TASK_TIME_LIMIT="31") as short:
        send_to(short, batch)
        wait_until_final(batch)
    assert (batch.status, batch.created) == ("done", 20_000)
    assert batch.attempts == 1  # carrying on in a fresh task is the same attempt
    assert batch.users.count() == 20_000


def test_a_batch_cancelled_while_it_is_made_stops_and_keeps_its_users(celery_worker):
    batch = user_batch_create(total=50_000)
    assert wait_for(lambda: made_at_least(batch, 1), timeout=60, interval=0.02)

    assert services.user_batch_cancel(batch=batch)

    # The chunk in hand ends, and with it the task.
    assert wait_for(lambda: not holds_a_task_of(celery_worker, batch), timeout=10)
    batch.refresh_from_db()
    made = batch.created
    time.sleep(budget(1))
    batch.refresh_from_db()
    assert (batch.status, batch.created) == ("cancelled", made)
    assert 0 < made == batch.users.count() < 50_000

"""How the sweep tells lost from waiting (ops.liveness), on a Redis of the test's own: a
backlog is never re-sent, and a worker's lease keeps a long task's job alive."""

import time
from datetime import timedelta

import pytest

from image_parroter.tests.factories import thumbnail_job, untouched, user_batch
from image_parroter.tests.processes import TEST_TASKS_ARGS, running_worker_on, send_job
from image_parroter.tests.waiting import wait_for
from ops import dispatch, liveness, redis_client
from ops.services import jobs_sweep_lost

LEASE = timedelta(seconds=45)


@pytest.mark.django_db
def test_under_a_backlog_the_sweep_sends_again_only_the_job_that_was_lost(own_redis, settings):
    settings.REDIS_URL = own_redis.url  # the sweep's view of the broker; no worker consumes
    app = own_redis.celery_app()
    waiting = [untouched(user_batch()) for _ in range(300)]
    for batch in waiting:
        send_job(app, batch)
    lost = untouched(user_batch())

    assert jobs_sweep_lost(lease=LEASE) == {"redispatched": 1, "failed": 0}

    assert liveness.alive([str(batch.pk) for batch in waiting]) == {str(b.pk) for b in waiting}
    for batch in waiting:
        batch.refresh_from_db()
        assert (batch.status, batch.attempts) == ("queued", 0)
    lost.refresh_from_db()
    assert lost.updated_at > waiting[0].updated_at  # claimed and sent again


@pytest.mark.django_db
def test_a_thumbnail_job_waiting_in_its_own_queue_is_not_lost(own_redis, settings):
    settings.REDIS_URL = own_redis.url
    job = untouched(thumbnail_job())
    send_job(own_redis.celery_app(), job)
    assert redis_client.client().llen(liveness.queue_keys("thumbnails")[0]) == 1  # not default

    assert jobs_sweep_lost(lease=LEASE) == {"redispatched": 0, "failed": 0}


@pytest.mark.django_db
def test_the_sweep_reads_redis_where_kombu_writes(own_redis, settings):
    """Kombu's layout (the priority lists beside a queue, the unacknowledged hash and its
    index) as kombu itself writes it: were a kombu upgrade to file messages elsewhere, this
    fails instead of the sweep re-sending every waiting job as lost."""
    settings.REDIS_URL = own_redis.url
    app, client, prefix = own_redis.celery_app(), redis_client.client(), settings.REDIS_KEY_PREFIX
    batches = [untouched(user_batch()) for _ in range(10)]
    for priority, batch in enumerate(batches):  # every priority a message can carry
        app.send_task(
            batch.task_name,
            args=[str(batch.pk)],
            task_id=dispatch.task_id(batch),
            priority=priority,
        )
    lists = {key.decode() for key in client.scan_iter(f"{prefix}*") if client.type(key) == b"list"}
    assert lists == set(liveness.queue_keys("default"))
    assert sum(client.llen(key) for key in lists) == len(batches)

    with app.connection_for_read() as connection:
        taken = connection.default_channel.basic_get("default", no_ack=False)
        tag = taken.delivery_tag
        assert client.hexists(f"{prefix}{liveness.UNACKED}", tag)
        assert client.zscore(f"{prefix}{liveness.UNACKED_INDEX}", tag) is not None
        assert sum(client.llen(key) for key in lists) == len(batches) - 1
        # Waiting or taken, every one is alive.
        ids = {str(batch.pk) for batch in batches}
        assert liveness.alive(list(ids)) == ids
        taken.ack()


def runs(app, worker: str, task_id: str) -> bool:
    """Whether `worker` has started the task (a task still reserved is not running)."""
    active = app.control.inspect(destination=[worker], timeout=1).active() or {}
    return any(task["id"] == task_id for task in active.get(worker, []))


@pytest.mark.worker
@pytest.mark.django_db
def test_a_worker_keeps_the_lease_on_a_job_while_it_holds_a_task_of_it(
    own_redis, settings, tmp_path
):
    settings.REDIS_URL, settings.JOB_LEASE_SECONDS = own_redis.url, 2
    app, job = own_redis.celery_app(), untouched(user_batch())
    with running_worker_on(
        own_redis, "gevent", tmp_path, TEST_TASKS_ARGS, JOB_LEASE_SECONDS="2"
    ) as (worker, _):
        # A task of the job that runs for 6 s: three times the lease, and its message was
        # taken long before the end, so only the renewed lease says it is alive.
        nap = app.send_task("tests.nap", args=(6,), task_id=dispatch.task_id(job))
        assert wait_for(lambda: runs(app, worker, nap.id), timeout=10)
        time.sleep(4.2)  # more than two leases since the worker started it
        assert not nap.ready()
        assert liveness.alive([str(job.pk)]) == {str(job.pk)}
        assert jobs_sweep_lost(lease=timedelta(seconds=2)) == {"redispatched": 0, "failed": 0}
        nap.get(timeout=10)
        # Its worker is done with it: the lease lapses.
        assert wait_for(lambda: not liveness.alive([str(job.pk)]), timeout=5)

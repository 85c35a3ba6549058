"""Workers that die, as real processes on a Redis of the test's own, and the sweep that sends
their jobs (thumbnail jobs and user batches) again: a gevent worker killed mid-job, and a job
that kills its gevent worker every time (image_parroter/tests/tasks.py makes any image named
"poison" do that). A prefork child killed by its job is in thumbnailer/tests/test_faults.py."""

import os
import signal
import time

import pytest

from image_parroter.tests.factories import thumbnail_job, user_batch
from image_parroter.tests.processes import TEST_TASKS_ARGS, running_worker_on, send_job
from image_parroter.tests.waiting import (
    budget,
    finished,
    lost_to_the_sweep,
    wait_for,
    wait_until_final,
)
from ops.models import JobStatus
from thumbnailer.tests.images import image_bytes
from users.models import UserBatch

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHOTO, SIZES = image_bytes("JPEG", (1200, 800)), [64, 128]


def test_the_jobs_of_a_killed_gevent_worker_are_done_soon_after_a_replacement_starts(
    own_redis, tmp_path, media_dir
):
    """Default settings: a 45 s lease, and the sweep every 30 s (beat's schedule)."""
    app = own_redis.celery_app()
    env = {"MEDIA_ROOT": str(media_dir), "USERS_GENERATE_CHUNK_SIZE": "50"}
    batch = user_batch(total=20_000)
    jobs = [thumbnail_job(f"photo-{number}.jpg", data=PHOTO, sizes=SIZES) for number in range(3)]
    with running_worker_on(own_redis, "gevent", tmp_path, **env) as (doomed, _):
        pid = app.control.inspect(destination=[doomed], timeout=5).stats()[doomed]["pid"]
        send_job(app, batch)
        assert wait_for(lambda: UserBatch.objects.filter(pk=batch.pk, created__gte=500), 60)
        for job in jobs:
            send_job(app, job)
        os.kill(pid, signal.SIGKILL)
    time.sleep(2)

    with running_worker_on(own_redis, "gevent", tmp_path, **env):
        replaced_at = time.monotonic()
        rows = [batch, *jobs]
        while not all(finished(row) for row in rows):
            assert time.monotonic() - replaced_at < budget(120), [(r, r.status) for r in rows]
            app.send_task("ops.jobs_sweep_lost")
            wait_for(lambda: all(finished(row) for row in rows), timeout=30)
    took = time.monotonic() - replaced_at
    print(f"figure: every job of the killed worker done {took:.1f} s after the replacement started")
    assert all(row.status == JobStatus.DONE for row in rows), [row.error for row in rows]
    assert batch.users.count() == 20_000


def test_a_job_that_kills_its_gevent_worker_every_time_fails_after_three_attempts(
    own_redis, tmp_path, media_dir, settings
):
    """Each death takes the whole worker; a supervisor (here, the test) starts another. A
    2 s lease instead of 45 s, so that three rounds take seconds, not minutes."""
    # Where, and for how long, the test looks for the job's lease, as the sweep does.
    settings.REDIS_URL, settings.JOB_LEASE_SECONDS = own_redis.url, 2
    app, poison = own_redis.celery_app(), thumbnail_job("poison.jpg", data=PHOTO, sizes=SIZES)
    env = {"MEDIA_ROOT": str(media_dir), "JOB_LEASE_SECONDS": "2"}
    started = time.monotonic()
    for attempt in range(1, 4):
        with running_worker_on(own_redis, "gevent", tmp_path, TEST_TASKS_ARGS, **env) as (_, proc):
            if attempt == 1:
                send_job(app, poison)
            else:  # as beat does every 30 s: the job is lost, so it is sent again (the
                # worker may die before the sweep's own result is stored)
                app.send_task("ops.jobs_sweep_lost")
            proc.wait(timeout=budget(30))  # it took the job, and the job killed it
        poison.refresh_from_db()
        assert (poison.status, poison.attempts) == (JobStatus.RUNNING, attempt)
        # Its lease lapses.
        assert wait_for(lambda: lost_to_the_sweep(poison, lease_seconds=2), timeout=10)

    with running_worker_on(own_redis, "gevent", tmp_path, TEST_TASKS_ARGS, **env):
        assert app.send_task("ops.jobs_sweep_lost").get(timeout=30) == {
            "redispatched": 0,
            "failed": 1,
        }
        poison.refresh_from_db()
        assert poison.status == JobStatus.FAILED
        assert poison.error.startswith("Gave up after 3 attempts: each time, the worker making")
        print(f"figure: failed after killing 3 gevent workers, {time.monotonic() - started:.1f} s")
        healthy = thumbnail_job("photo.jpg", data=PHOTO, sizes=SIZES)
        send_job(app, healthy)
        healthy = wait_until_final(healthy, timeout=30)
        assert healthy.status == JobStatus.DONE

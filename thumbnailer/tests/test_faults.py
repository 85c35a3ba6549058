"""Workers that die, as real processes on a Redis of the test's own: a gevent worker killed
mid-job, and a job that kills its worker every time (image_parroter/tests/tasks.py makes
any image named "poison" do that)."""

import os
import signal
import time

import pytest
from django.core.files.base import ContentFile

from conftest import running_worker_on
from ops import dispatch
from ops.models import JobStatus
from ops.tests.conftest import wait_for
from thumbnailer.models import JobImage, ThumbnailJob
from users.models import UserBatch

from .images import image_bytes

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TESTS_TASKS = ["--include", "image_parroter.tests.tasks"]


def job_of(name: str) -> ThumbnailJob:
    """A one-image job, recorded but not yet sent."""
    job = ThumbnailJob.objects.create(session_key="s" * 32, sizes=[64, 128])
    image = JobImage(job=job, upload_name=name, name=name)
    image.original.save(name, ContentFile(image_bytes("JPEG", (1200, 800))), save=False)
    image.save()
    return job


def send(app, job) -> None:
    name = "thumbnailer.job_run" if isinstance(job, ThumbnailJob) else "users.user_batch_fill"
    app.send_task(name, args=[str(job.pk)], task_id=dispatch.task_id(job))


def finished(job):
    job.refresh_from_db()
    return job if job.is_final else None


def test_a_job_that_kills_its_prefork_child_every_time_fails_after_three_attempts(
    own_redis, tmp_path, media_dir
):
    app = own_redis.celery_app()
    extra_args = ["--concurrency", "2", *TESTS_TASKS]
    with running_worker_on(own_redis, "prefork", tmp_path, extra_args, MEDIA_ROOT=str(media_dir)):
        poison, healthy = job_of("poison.jpg"), job_of("photo.jpg")
        started = time.monotonic()
        send(app, poison)

        poison = wait_for(lambda: finished(poison), timeout=120)
        assert poison and poison.status == JobStatus.FAILED
        assert poison.error.startswith("Gave up after 3 attempts: each time, the worker making")
        assert "more memory than this server allows" in poison.error
        took = time.monotonic() - started
        print(f"figure: poison job failed after 3 attempts in {took:.1f} s")
        assert took < 60
        # The pool replaced its children and goes on.
        send(app, healthy)
        healthy = wait_for(lambda: finished(healthy), timeout=30)
        assert healthy and healthy.status == JobStatus.DONE, healthy and healthy.error


def test_the_jobs_of_a_killed_gevent_worker_are_done_soon_after_a_replacement_starts(
    own_redis, tmp_path, media_dir
):
    """Default settings: a 45 s lease, and the sweep every 30 s (beat's schedule)."""
    app = own_redis.celery_app()
    env = {"MEDIA_ROOT": str(media_dir), "USERS_GENERATE_CHUNK_SIZE": "50"}
    batch = UserBatch.objects.create(total=20_000)
    jobs = [job_of(f"photo-{number}.jpg") for number in range(3)]
    with running_worker_on(own_redis, "gevent", tmp_path, **env) as (doomed, _):
        pid = app.control.inspect(destination=[doomed], timeout=5).stats()[doomed]["pid"]
        send(app, batch)
        assert wait_for(lambda: UserBatch.objects.filter(pk=batch.pk, created__gte=500), 60)
        for job in jobs:
            send(app, job)
        os.kill(pid, signal.SIGKILL)
    time.sleep(2)

    with running_worker_on(own_redis, "gevent", tmp_path, **env):
        replaced_at = time.monotonic()
        rows = [batch, *jobs]
        while not all(finished(row) for row in rows):
            assert time.monotonic() - replaced_at < 120, [(row, row.status) for row in rows]
            app.send_task("ops.jobs_sweep_lost")
            wait_for(lambda: all(finished(row) for row in rows), timeout=30)
    took = time.monotonic() - replaced_at
    print(f"figure: every job of the killed worker done {took:.1f} s after the replacement started")
    assert all(row.status == JobStatus.DONE for row in rows), [row.error for row in rows]
    assert batch.users.count() == 20_000


def test_a_job_that_kills_its_gevent_worker_every_time_fails_after_three_attempts(
    own_redis, tmp_path, media_dir
):
    """Each death takes the whole worker; a supervisor (here, the test) starts another. A
    2 s lease instead of 45 s, so that three rounds take seconds, not minutes."""
    app, poison = own_redis.celery_app(), job_of("poison.jpg")
    env = {"MEDIA_ROOT": str(media_dir), "JOB_LEASE_SECONDS": "2"}
    started = time.monotonic()
    for attempt in range(1, 4):
        with running_worker_on(own_redis, "gevent", tmp_path, TESTS_TASKS, **env) as (_, proc):
            if attempt == 1:
                send(app, poison)
            else:  # as beat does every 30 s: the job is lost, so it is sent again (the
                # worker may die before the sweep's own result is stored)
                app.send_task("ops.jobs_sweep_lost")
            proc.wait(timeout=30)  # it took the job, and the job killed it
        poison.refresh_from_db()
        assert (poison.status, poison.attempts) == (JobStatus.RUNNING, attempt)
        time.sleep(2.5)  # its lease lapses

    with running_worker_on(own_redis, "gevent", tmp_path, TESTS_TASKS, **env):
        assert app.send_task("ops.jobs_sweep_lost").get(timeout=30) == {
            "redispatched": 0,
            "failed": 1,
        }
        poison.refresh_from_db()
        assert poison.status == JobStatus.FAILED
        assert poison.error.startswith("Gave up after 3 attempts: each time, the worker making")
        print(f"figure: failed after killing 3 gevent workers, {time.monotonic() - started:.1f} s")
        healthy = job_of("photo.jpg")
        send(app, healthy)
        healthy = wait_for(lambda: finished(healthy), timeout=30)
        assert healthy and healthy.status == JobStatus.DONE

"""The sweep, through the project's real job models."""

from datetime import timedelta

import pytest
from celery import group
from django.conf import settings
from django_celery_results.models import TaskResult

from image_parroter.celery import app as celery_app
from image_parroter.tests.factories import thumbnail_job, untouched, user_batch
from image_parroter.tests.waiting import wait_until_final
from ops import dispatch, redis_client, tasks
from ops.models import JobStatus
from ops.services import job_models, jobs_sweep_lost
from thumbnailer.models import ThumbnailJob
from users.models import UserBatch

LEASE = timedelta(seconds=45)


# Each kind of job: how to make one (never sent), and what it holds once it ran.
JOB_KINDS = {
    "thumbnail job": (thumbnail_job, lambda job: job.archive.name.endswith(".zip")),
    "user batch": (user_batch, lambda batch: batch.users.count() == batch.created == 5),
}
KINDS = pytest.mark.parametrize(
    "make_job, has_its_result", JOB_KINDS.values(), ids=JOB_KINDS.keys()
)


def lose_the_messages() -> None:
    """What a Redis that lost its data (or was never reached) holds of the queue: nothing."""
    redis_client.client().delete(f"{settings.REDIS_KEY_PREFIX}{celery_app.conf.task_default_queue}")


def test_the_sweep_knows_every_kind_of_job():
    assert {ThumbnailJob, UserBatch} <= set(job_models())


@pytest.mark.django_db
@KINDS
def test_a_job_lost_on_its_third_run_fails_with_a_reason_a_person_understands(
    make_job, has_its_result
):
    job = untouched(make_job(status=JobStatus.RUNNING, attempts=3))

    assert jobs_sweep_lost(lease=LEASE) == {"redispatched": 0, "failed": 1}

    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)
    assert job.error.startswith("Gave up after 3 attempts: each time, the worker making it")
    assert "more memory" in job.error
    assert job.finished_at is not None


@pytest.mark.django_db
@KINDS
def test_a_message_lost_before_any_worker_took_it_costs_no_attempt(make_job, has_its_result):
    """As when Redis was down as the job was made: however often, it is only sent again."""
    job = untouched(make_job(attempts=2))
    for _ in range(3):
        sent_at = job.updated_at
        assert jobs_sweep_lost(lease=LEASE)["redispatched"] == 1
        lose_the_messages()
        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.QUEUED, 2) and job.updated_at > sent_at
        job = untouched(job)


@pytest.mark.django_db
@KINDS
def test_the_sweep_leaves_fresh_and_finished_jobs_alone(make_job, has_its_result):
    make_job()
    make_job(status=JobStatus.RUNNING, attempts=1)
    untouched(make_job(status=JobStatus.DONE, attempts=1))
    untouched(make_job(status=JobStatus.FAILED, attempts=1))

    assert jobs_sweep_lost(lease=LEASE) == {"redispatched": 0, "failed": 0}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@KINDS
@pytest.mark.parametrize(
    "status, attempts",
    [(JobStatus.QUEUED, 0), (JobStatus.RUNNING, 1)],
    ids=["enqueue lost", "worker died"],
)
def test_the_sweep_redispatches_a_lost_job_and_it_completes(
    celery_worker, make_job, has_its_result, status, attempts
):
    job = untouched(make_job(status=status, attempts=attempts))

    sweep = tasks.jobs_sweep_lost.apply_async(headers={"periodic_task_name": "Sweep lost jobs"})
    assert sweep.get(timeout=20) == {"redispatched": 1, "failed": 0}

    job = wait_until_final(job, timeout=30)
    assert job.status == JobStatus.DONE, job.error
    assert has_its_result(job)
    # A run that was lost counts (mark_running counted it), a lost message does not.
    assert job.attempts == attempts + 1
    # The sweep's run is in the history; the job's own tasks are not periodic runs.
    assert set(TaskResult.objects.values_list("task_name", flat=True)) == {"ops.jobs_sweep_lost"}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@KINDS
def test_of_two_sweeps_that_saw_the_same_lost_job_only_one_redispatches_it(
    celery_worker, make_job, has_its_result
):
    """As when a second beat sends the same sweep: only one copy claims the job."""
    job = untouched(make_job())
    seen_by_one, seen_by_other = type(job).objects.get(pk=job.pk), job

    assert seen_by_one.claim_lost() == JobStatus.QUEUED
    assert seen_by_other.claim_lost() is None
    dispatch.send(seen_by_one)

    job = wait_until_final(job, timeout=30)
    assert (job.status, job.attempts) == (JobStatus.DONE, 1)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_sweep_tasks_at_once_redispatch_each_job_once(celery_worker):
    jobs = [untouched(make_job()) for make_job, _ in JOB_KINDS.values() for _ in range(2)]

    outcomes = group(tasks.jobs_sweep_lost.s(), tasks.jobs_sweep_lost.s()).delay().get(timeout=20)

    assert sum(outcome["redispatched"] for outcome in outcomes) == len(jobs)
    for job in jobs:
        job = wait_until_final(job, timeout=30)
        assert (job.status, job.attempts) == (JobStatus.DONE, 1)

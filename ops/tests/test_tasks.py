from datetime import timedelta

import pytest
from celery import group
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.utils import timezone
from django_celery_results.models import TaskResult
from kombu.exceptions import OperationalError as BrokerError

from image_parroter.tests.factories import thumbnail_job, user_batch
from ops import dispatch, heartbeat, reasons
from ops.models import DailySummary, JobStatus
from ops.tasks import heartbeat_record, run_history_purge, summary_record
from thumbnailer import services as thumbnailer_services
from thumbnailer.tasks import job_run
from users import services as users_services
from users.tasks import FAILED, user_batch_fill

pytestmark = pytest.mark.django_db


def test_purging_run_history_keeps_the_recent_days(settings):
    settings.RUN_HISTORY_DAYS = 7
    old = TaskResult.objects.create(task_id="old", status="SUCCESS")
    recent = TaskResult.objects.create(task_id="recent", status="SUCCESS")
    TaskResult.objects.filter(pk=old.pk).update(date_done=timezone.now() - timedelta(days=8))

    assert run_history_purge() == 1
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == [recent.task_id]


@pytest.mark.parametrize(
    "error", [RuntimeError("a bug"), OperationalError("locked")], ids=["crash", "retries-spent"]
)
@pytest.mark.parametrize(
    "make_job, task, service, reason",
    [
        (user_batch, user_batch_fill, (users_services, "user_batch_fill"), FAILED),
        (
            thumbnail_job,
            job_run,
            (thumbnailer_services, "job_run"),
            thumbnailer_services.INTERNAL_ERROR,
        ),
    ],
    ids=["user-batch", "thumbnail-job"],
)
def test_a_job_task_that_fails_for_good_fails_its_job(
    monkeypatch, media_root, error, make_job, task, service, reason
):
    """Both kinds fail the same way (JobTask.on_failure): a crash at once, a transient error
    once its retries are spent (eager retries run at once)."""
    calls = []

    def fails(**_):
        calls.append(1)
        raise error

    monkeypatch.setattr(*service, fails)
    job = make_job()

    task.apply(args=[str(job.pk)], task_id=dispatch.task_id(job))

    job.refresh_from_db()
    assert (job.status, job.error) == (JobStatus.FAILED, reasons.in_english(reason))
    assert len(calls) == (1 if isinstance(error, RuntimeError) else task.max_retries + 1)


@pytest.mark.parametrize(
    "make_job, task, service",
    [
        (user_batch, user_batch_fill, (users_services, "user_batch_fill")),
        (thumbnail_job, job_run, (thumbnailer_services, "job_run")),
    ],
    ids=["user-batch", "thumbnail-job"],
)
def test_a_job_task_that_cannot_reach_the_broker_for_a_moment_tries_again(
    monkeypatch, media_root, make_job, task, service
):
    """As a worker host whose link went down while it published a job's chord: kombu's
    OperationalError is retried (eager retries run at once), and the job is done."""
    calls, real = [], getattr(*service)

    def unreachable_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise BrokerError("Error 113 connecting to 10.231.0.1:6379. No route to host.")
        return real(**kwargs)

    monkeypatch.setattr(*service, unreachable_once)
    job = make_job()

    task.apply(args=[str(job.pk)], task_id=dispatch.task_id(job))

    job.refresh_from_db()
    assert (job.status, len(calls)) == (JobStatus.DONE, 2), job.error


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_copies_of_each_periodic_task_at_once_do_the_work_once(celery_worker):
    """As when a second beat is started by mistake and both send the same runs."""
    get_user_model().objects.create(
        username="yesterday", date_joined=timezone.now() - timedelta(days=1)
    )
    TaskResult.objects.create(task_id="old", status="SUCCESS")
    TaskResult.objects.update(date_done=timezone.now() - timedelta(days=30))
    copies = [
        task.s() for task in (heartbeat_record, summary_record, run_history_purge) for _ in "ab"
    ]

    results = group(copies).apply_async().get(timeout=30)

    assert heartbeat.seconds_since_tick() < 30
    assert DailySummary.objects.get().users == 1
    assert sorted(results[4:]) == [0, 1]
    assert not TaskResult.objects.exists()

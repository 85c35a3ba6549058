"""The periodic work itself: sweeping lost jobs, the daily summary, trimming run history."""

from datetime import date, datetime, time, timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_celery_results.models import TaskResult

from . import dispatch, liveness
from .models import BackgroundJob, DailySummary, JobStatus


def job_models() -> list[type[BackgroundJob]]:
    """Every concrete kind of background job the project has (thumbnail jobs, user batches...)."""
    return [model for model in apps.get_models() if issubclass(model, BackgroundJob)]


def jobs_sweep_lost(*, lease: timedelta) -> dict[str, int]:
    """Send the jobs that are lost (ops.liveness) again, failing those out of attempts.

    Only jobs whose rows nobody changed for `lease` are looked at, and read before the broker
    is: a job that moves on meanwhile changes its row, and its claim (claim_lost) then misses."""
    outcome = {"redispatched": 0, "failed": 0}
    jobs = [job for model in job_models() for job in model.objects.maybe_lost(for_=lease)]
    alive = liveness.alive([str(job.pk) for job in jobs])  # one look at the broker
    for job in jobs:
        if str(job.pk) in alive:
            continue
        status = job.claim_lost()
        if status == JobStatus.QUEUED:
            dispatch.send(job)
            outcome["redispatched"] += 1
        elif status == JobStatus.FAILED:
            outcome["failed"] += 1
    return outcome


def summary_record(*, day: date) -> DailySummary:
    """Count the users, jobs and failures of `day` (local time); recording it again updates it."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = start + timedelta(days=1)
    jobs = failures = 0
    for model in job_models():
        jobs += model.objects.filter(created_at__gte=start, created_at__lt=end).count()
        failures += model.objects.filter(
            status=JobStatus.FAILED, finished_at__gte=start, finished_at__lt=end
        ).count()
    users = get_user_model().objects.filter(date_joined__gte=start, date_joined__lt=end).count()
    summary, _ = DailySummary.objects.update_or_create(
        day=day, defaults={"users": users, "jobs": jobs, "failures": failures}
    )
    return summary


def run_history_purge(*, older_than: timedelta) -> int:
    """Delete recorded task runs older than `older_than`; returns how many."""
    deleted, _ = TaskResult.objects.filter(date_done__lt=timezone.now() - older_than).delete()
    return deleted

"""Periodic tasks. Each is safe when two copies run at once (a second beat started by
mistake): the heartbeat and the summary overwrite the same value, the sweep claims each job
with a conditional UPDATE, and deleting old runs twice deletes them once."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import heartbeat as heartbeat_store
from . import services


# Every 10 s: its run history keeps only the runs that failed (ops.history).
@shared_task(name="ops.heartbeat", ignore_result=False, run_history="failures")
def heartbeat() -> float:
    """Record that beat (or whoever sent this) reached a worker; returns the tick's time."""
    return heartbeat_store.record_tick()


@shared_task(name="ops.sweep_stalled_jobs")
def sweep_stalled_jobs() -> dict[str, int]:
    """Re-dispatch lost jobs (their message or their worker was lost); fail those out of
    attempts. Waiting and working jobs are left alone (ops.liveness)."""
    return services.jobs_sweep_lost(lease=timedelta(seconds=settings.JOB_LEASE_SECONDS))


@shared_task(name="ops.daily_summary")
def daily_summary() -> str:
    """Record yesterday's users, jobs and failures."""
    yesterday = timezone.localdate() - timedelta(days=1)
    return str(services.summary_record(day=yesterday))


@shared_task(name="ops.purge_run_history")
def purge_run_history() -> int:
    """Delete recorded periodic runs older than RUN_HISTORY_DAYS."""
    return services.run_history_purge(older_than=timedelta(days=settings.RUN_HISTORY_DAYS))

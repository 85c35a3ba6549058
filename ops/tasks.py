"""The base of every job's tasks, and the periodic tasks.

Each periodic task is safe when two copies run at once (a second beat started by mistake):
the heartbeat and the summary overwrite the same value, the sweep claims each job with a
conditional UPDATE, and deleting old runs twice deletes them once."""

from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from image_parroter.pools import run_off_loop

from . import heartbeat, services
from .dispatch import job_id_of

# A locked SQLite database, a lost database or storage connection, a broker out of reach while
# a task publishes (a chord, a retry): worth another try. A retry that cannot be published
# either drops the message (Celery's Reject) and leaves the job to the sweep, never failed.
TRANSIENT_ERRORS = (OperationalError, ConnectionError, TimeoutError, BrokerError)


class JobTask(Task):
    """A task that works for one job (its task id names the job: ops.dispatch).

    Transient errors are retried with backoff. A task that fails for good (a crash, its retries
    spent) fails its job through `fail_job`, which each kind of job defines: the same way for
    thumbnail jobs and user batches. A task whose worker died is no failure: its message goes
    back to the queue (late acks), and the sweep counts such runs (BackgroundJob.mark_running).
    """

    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = True
    max_retries = 5

    def fail_job(self, job_id: str, exc: Exception) -> None:
        """Fail the job, which `exc` ended, with a reason a person can read."""
        raise NotImplementedError

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if job_id := job_id_of(task_id):
            run_off_loop(self.fail_job, job_id, exc)


# Every 10 s: its run history keeps only the runs that failed (ops.history).
@shared_task(name="ops.heartbeat_record", ignore_result=False, run_history="failures")
def heartbeat_record() -> float:
    """Record that beat (or whoever sent this) reached a worker; returns the tick's time."""
    return heartbeat.record()


@shared_task(name="ops.jobs_sweep_lost")
def jobs_sweep_lost() -> dict[str, int]:
    """Send lost jobs again (their message or their worker was lost); fail those out of
    attempts. Waiting and working jobs are left alone (ops.liveness)."""
    return services.jobs_sweep_lost(lease=timedelta(seconds=settings.JOB_LEASE_SECONDS))


@shared_task(name="ops.summary_record")
def summary_record() -> str:
    """Record yesterday's users, jobs and failures."""
    yesterday = timezone.localdate() - timedelta(days=1)
    return str(services.summary_record(day=yesterday))


@shared_task(name="ops.run_history_purge")
def run_history_purge() -> int:
    """Delete recorded periodic runs older than RUN_HISTORY_DAYS."""
    return services.run_history_purge(older_than=timedelta(days=settings.RUN_HISTORY_DAYS))

"""Thin tasks, named after the service they call (see thumbnailer/tasks.py)."""

from celery import shared_task
from django.conf import settings
from django.utils.translation import gettext_noop

from image_parroter.pools import run_off_loop
from ops import dispatch, reasons
from ops.liveness import redelivered
from ops.tasks import JobTask

from . import services
from .models import UserBatch

FAILED = [
    reasons.because(
        gettext_noop("Something went wrong on our side while making the users. Please try again.")
    )
]


class UserBatchTask(JobTask):
    def fail_job(self, job_id: str, exc: Exception) -> None:
        """The batch's task failed for good (a crash, retries spent); the users made stay."""
        if batch := UserBatch.objects.filter(pk=job_id).first():
            batch.mark_failed(FAILED)


# A transient error (a locked SQLite database, a dropped PostgreSQL connection) is retried:
# committed chunks stay and the retry makes only what is missing. The batch's row says how it
# went: no result is stored.
@shared_task(bind=True, base=UserBatchTask, name="users.user_batch_fill", ignore_result=True)
def user_batch_fill(self, batch_id: str) -> int:
    """Make the users a batch still lacks; returns how many it has."""
    batch = UserBatch.objects.get(pk=batch_id)
    # Half the soft time limit each: a batch of any size goes on in a fresh task instead of
    # being cut off by the worker's time limit. Each chunk runs in a real thread in a gevent
    # worker, and the loop serves the other tasks between them.
    done = services.user_batch_fill(
        batch=batch,
        seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2,
        redelivered=redelivered(self),
        run_chunk=run_off_loop,
    )
    if not done:
        dispatch.send(batch)
    elif services.users_purge_due():  # the ceiling on generated accounts
        run_off_loop(services.users_over_ceiling_purge)
    batch.refresh_from_db()
    return batch.created

"""The one way work reaches the workers: `send(job)`, used by the web, the sweep and a task
that hands the rest of its job to a fresh task.

A job's task gets the job's id only, once the surrounding transaction commits, so it always
finds its row. Every task id starts with its job's id (`task_id`), which is how the sweep
matches the broker's messages and the workers' leases to jobs (ops.liveness).
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import TYPE_CHECKING

from celery import current_app
from django.db import transaction

from . import redis_client

if TYPE_CHECKING:  # the Celery app loads this before Django's models are ready
    from .models import BackgroundJob

logger = logging.getLogger(__name__)


def task_id(job: BackgroundJob) -> str:
    """A new task id that names `job`."""
    return f"{job.pk}.{uuid.uuid4().hex[:12]}"


def job_id_of(task_id: str | None) -> str:
    """The job a task works for, or "" for a task of no job (the heartbeat, the sweep)."""
    job_id, dot, _ = (task_id or "").partition(".")
    return job_id if dot else ""


def send(job: BackgroundJob) -> None:
    """Send `job` to its task (`job.task_name`) once the transaction commits (at once outside
    one). If Redis cannot take the message the job stays a queued row, an outbox of one, and
    the caller goes on at once: the sweep sends it when Redis is back."""
    transaction.on_commit(partial(_publish, job))


def _publish(job: BackgroundJob) -> None:
    try:
        # Nobody waits on a job task's result (the row says how it went), so none is stored
        # and the sender never subscribes to one in Redis.
        current_app.send_task(
            job.task_name, args=[str(job.pk)], task_id=task_id(job), ignore_result=True
        )
    except redis_client.ERRORS as exc:
        logger.warning("%s waits for the broker (%s); the sweep will send it", job, exc)

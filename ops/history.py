"""Runs that beat sent are recorded in the database (django-celery-results), so staff see
them in the admin next to the schedules; every other task keeps its result in Redis.

django-celery-beat's DatabaseScheduler puts `periodic_task_name` in the message headers,
which the worker exposes on the task's request; that is how a periodic run is told apart.
The `record_*` handlers are connected to Celery's signals in image_parroter/celery.py.
"""

from functools import cache

from celery import Task, states

# What a run that is going well, or went well, records.
SUCCESSFUL = (states.STARTED, states.SUCCESS)


@cache
def database_backend(app):
    # Imported here: it loads Django's models, which the Celery app is made before.
    from django_celery_results.backends.database import DatabaseBackend

    return DatabaseBackend(app=app)


def record(task: Task, state: str, result=None, traceback: str | None = None) -> None:
    """Record a periodic run's state; a task declared with run_history="failures" (the
    10-second heartbeat, which would drown every other run) only when it did not succeed."""
    request = task.request
    if getattr(task, "run_history", "all") == "failures" and state in SUCCESSFUL:
        return
    if getattr(request, "periodic_task_name", None):
        database_backend(task.app).store_result(
            request.id, result, state, traceback=traceback, request=request
        )


def record_start(task: Task, **_) -> None:
    record(task, states.STARTED)


def record_success(sender: Task, result, **_) -> None:
    record(sender, states.SUCCESS, result)


def record_retry(sender: Task, reason, einfo, **_) -> None:
    record(sender, states.RETRY, reason, einfo and einfo.traceback)


def record_failure(sender: Task, exception, einfo, **_) -> None:
    record(sender, states.FAILURE, exception, einfo.traceback)

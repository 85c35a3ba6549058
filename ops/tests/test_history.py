import json

import pytest
from celery import current_app
from django_celery_results.models import TaskResult

from image_parroter.tests.waiting import wait_for
from ops.tasks import heartbeat_record, run_history_purge

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_periodic_run_is_recorded_in_the_database_with_its_details(celery_worker):
    sent = run_history_purge.apply_async(headers={"periodic_task_name": "Purge old run history"})
    deleted = sent.get(timeout=20)

    run = wait_for(lambda: TaskResult.objects.filter(task_id=sent.id, status="SUCCESS").first(), 10)
    assert run is not None
    assert run.task_name == "ops.run_history_purge"
    assert run.periodic_task_name == "Purge old run history"
    assert run.worker == celery_worker
    assert json.loads(run.task_args) == "()"
    assert json.loads(run.result) == deleted
    assert run.date_started is not None and run.date_done is not None


def test_the_heartbeats_runs_are_recorded_only_when_they_fail(celery_worker):
    """Every 10 s it would drown every other run; its failures are what staff need."""
    sent = heartbeat_record.apply_async(headers={"periodic_task_name": "Beat heartbeat"})
    sent.get(timeout=20)
    done_after = run_history_purge.apply_async(headers={"periodic_task_name": "Later"})
    done_after.get(timeout=20)

    assert wait_for(lambda: TaskResult.objects.filter(task_id=done_after.id).exists(), 10)
    assert not TaskResult.objects.filter(task_id=sent.id).exists()


def test_a_failed_periodic_run_keeps_its_traceback(celery_worker):
    # As beat sends a task an admin gave a wrong argument to.
    sent = current_app.send_task(
        "ops.heartbeat_record", args=[1], headers={"periodic_task_name": "Broken"}
    )

    run = wait_for(lambda: TaskResult.objects.filter(task_id=sent.id, status="FAILURE").first(), 20)
    assert run is not None
    assert "TypeError" in run.traceback
    assert json.loads(run.task_args) == "[1]"


def test_other_tasks_keep_their_result_in_redis_only(celery_worker):
    sent = heartbeat_record.delay()

    assert sent.get(timeout=20) > 0
    assert sent.backend.__class__.__name__ == "RedisBackend"
    assert not TaskResult.objects.filter(task_id=sent.id).exists()

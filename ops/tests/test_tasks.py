from datetime import timedelta

import pytest
from celery import group
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_celery_results.models import TaskResult

from ops import heartbeat
from ops.models import DailySummary
from ops.tasks import heartbeat_record, run_history_purge, summary_record

pytestmark = pytest.mark.django_db


def test_purging_run_history_keeps_the_recent_days(settings):
    settings.RUN_HISTORY_DAYS = 7
    old = TaskResult.objects.create(task_id="old", status="SUCCESS")
    recent = TaskResult.objects.create(task_id="recent", status="SUCCESS")
    TaskResult.objects.filter(pk=old.pk).update(date_done=timezone.now() - timedelta(days=8))

    assert run_history_purge() == 1
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == [recent.task_id]


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

from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from ops import tasks
from ops.models import DailySummary, JobStatus
from ops.services import summary_record
from thumbnailer.models import ThumbnailJob
from users.models import UserBatch

pytestmark = pytest.mark.django_db


def make_user(username: str, joined: datetime):
    return get_user_model().objects.create(username=username, date_joined=joined)


def test_the_summary_counts_the_users_of_that_day_only():
    day = date(2026, 3, 14)
    noon = timezone.make_aware(datetime(2026, 3, 14, 12))
    make_user("a", noon)
    make_user("b", noon + timedelta(hours=11))
    make_user("before", noon - timedelta(hours=13))
    make_user("after", noon + timedelta(hours=12))

    summary = summary_record(day=day)

    assert (summary.day, summary.users) == (day, 2)


def test_the_summary_counts_jobs_made_and_failed_that_day_of_every_kind():
    day = date(2026, 3, 14)
    noon = timezone.make_aware(datetime(2026, 3, 14, 12))
    that_day = [
        ThumbnailJob.objects.create(owner="o"),
        ThumbnailJob.objects.create(owner="o", status=JobStatus.FAILED),
        UserBatch.objects.create(total=50, status=JobStatus.FAILED),
    ]
    day_before = [
        ThumbnailJob.objects.create(owner="o", status=JobStatus.FAILED),
        UserBatch.objects.create(total=50, status=JobStatus.FAILED),
    ]
    for jobs, when in [(that_day, noon), (day_before, noon - timedelta(days=1))]:
        for job in jobs:
            type(job).objects.filter(pk=job.pk).update(created_at=when, finished_at=when)

    summary = summary_record(day=day)

    assert (summary.jobs, summary.failures) == (3, 2)


def test_the_daily_task_records_yesterday_once_however_often_it_runs():
    yesterday = timezone.now() - timedelta(days=1)
    make_user("a", yesterday)

    tasks.summary_record()
    make_user("b", yesterday)
    tasks.summary_record()

    summary = DailySummary.objects.get()
    assert summary.day == timezone.localdate() - timedelta(days=1)
    assert summary.users == 2


def test_the_home_page_shows_the_latest_day(client):
    DailySummary.objects.create(day=date(2026, 3, 13), users=9, jobs=9, failures=9)
    DailySummary.objects.create(day=date(2026, 3, 14), users=1, jobs=12, failures=0)

    html = client.get("/").content.decode()

    assert "On March 14, 2026:" in html
    assert "1 new user," in html and "12 jobs" in html and "0 failures" in html


def test_the_home_page_has_no_summary_before_the_first_one(client):
    assert "daily-summary" not in client.get("/").content.decode()

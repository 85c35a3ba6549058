"""The project's own periodic tasks, as a new installation starts with them.

Created once, by a migration (0002_schedules), and never re-imposed: an admin's edits stay
(get_or_create leaves a schedule that exists alone). The tests' `schedules` fixture calls the
same function after a test emptied the tables. Each task is named after the service function
it calls."""

from django.utils import timezone

INTERVALS = [
    # name, task, every, period
    ("Beat heartbeat", "ops.heartbeat_record", 10, "seconds"),
    # A dead worker's jobs are sent again within about JOB_LEASE_SECONDS plus this.
    ("Sweep lost jobs", "ops.jobs_sweep_lost", 30, "seconds"),
]
CRONTABS = [
    # name, task, minute, hour
    # Hourly at minute 5.
    ("Purge expired thumbnail jobs", "thumbnailer.jobs_purge_expired", "5", "*"),
    # Daily at 00:10, for the day that just ended.
    ("Daily summary", "ops.summary_record", "10", "0"),
    # Daily at 04:30.
    ("Purge old run history", "ops.run_history_purge", "30", "4"),
]


def schedules_create(*, apps) -> None:
    """Create those of the schedules above that do not exist, with `apps`' models (a
    migration's historical ones, or django.apps.apps), and tell a running beat."""
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, every, period in INTERVALS:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})
    for name, task, minute, hour in CRONTABS:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*"
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})
    # PeriodicTask's save() signal, which tells beat, does not fire for historical models.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})

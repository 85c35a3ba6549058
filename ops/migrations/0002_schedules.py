"""The project's periodic tasks, created once: later edits in the admin are kept, because
beat and later deploys never re-impose them."""

from django.db import migrations
from django.utils import timezone

INTERVALS = [
    # name, task, every, period
    ("Beat heartbeat", "ops.heartbeat", 10, "seconds"),
    ("Sweep stalled jobs", "ops.sweep_stalled_jobs", 1, "minutes"),
]
CRONTABS = [
    # name, task, minute, hour
    # Hourly at minute 5.
    ("Purge expired thumbnail jobs", "thumbnailer.purge_expired_jobs", "5", "*"),
    # Daily at 00:10, for the day that just ended.
    ("Daily summary", "ops.daily_summary", "10", "0"),
    # Daily at 04:30.
    ("Purge old run history", "ops.purge_run_history", "30", "4"),
]


def create_schedules(apps, schema_editor):
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
    # Tell a running beat that the schedule changed (PeriodicTask's save() signal does not
    # fire for historical models in migrations).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0001_daily_summary"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, migrations.RunPython.noop)]

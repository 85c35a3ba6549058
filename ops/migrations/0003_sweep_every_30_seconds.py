"""The sweep now tells lost jobs from waiting ones (ops.liveness), so it can run every 30 s:
a dead worker's jobs are sent again within about a minute. A schedule an admin changed from
the original minute is kept."""

from django.db import migrations
from django.utils import timezone

NAME = "Sweep stalled jobs"


def every(apps, old: tuple, new: tuple) -> None:
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    interval, _ = IntervalSchedule.objects.get_or_create(every=new[0], period=new[1])
    changed = PeriodicTask.objects.filter(
        name=NAME, interval__every=old[0], interval__period=old[1]
    ).update(interval=interval)
    if changed:  # tell a running beat (no save() signal for historical models)
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [("ops", "0002_schedules")]

    operations = [
        migrations.RunPython(
            lambda apps, _: every(apps, (1, "minutes"), (30, "seconds")),
            lambda apps, _: every(apps, (30, "seconds"), (1, "minutes")),
        )
    ]

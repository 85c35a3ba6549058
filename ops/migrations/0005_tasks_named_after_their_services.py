"""Each task is now named after the service it calls (`ops.jobs_sweep_lost` calls
ops.services.jobs_sweep_lost), and the sweep's schedule says "lost" as the code does. A
schedule an admin renamed keeps its name; its task is renamed all the same."""

from django.db import migrations
from django.utils import timezone

TASKS = {
    "ops.heartbeat": "ops.heartbeat_record",
    "ops.sweep_stalled_jobs": "ops.jobs_sweep_lost",
    "ops.daily_summary": "ops.summary_record",
    "ops.purge_run_history": "ops.run_history_purge",
    "thumbnailer.purge_expired_jobs": "thumbnailer.jobs_purge_expired",
}
SWEEP_NAMES = ("Sweep stalled jobs", "Sweep lost jobs")


def rename(apps, tasks: dict, names: tuple) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for old, new in tasks.items():
        PeriodicTask.objects.filter(task=old).update(task=new)
    PeriodicTask.objects.filter(name=names[0]).update(name=names[1])
    # Tell a running beat (no save() signal for historical models).
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [("ops", "0004_no_backend_cleanup_schedule")]

    operations = [
        migrations.RunPython(
            lambda apps, _: rename(apps, TASKS, SWEEP_NAMES),
            lambda apps, _: rename(
                apps, {new: old for old, new in TASKS.items()}, SWEEP_NAMES[::-1]
            ),
        )
    ]

"""Remove the `celery.backend_cleanup` schedule that beat's DatabaseScheduler added by itself
(ops.schedulers.Scheduler no longer does)."""

from django.db import migrations


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task="celery.backend_cleanup").delete()


class Migration(migrations.Migration):
    dependencies = [("ops", "0003_sweep_every_30_seconds")]

    operations = [migrations.RunPython(remove, migrations.RunPython.noop)]

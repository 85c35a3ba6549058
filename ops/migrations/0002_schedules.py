"""The project's periodic tasks, created once (ops/schedules.py): later edits in the admin are
kept, because beat and later deploys never re-impose them.

An installation migrated before the schedules took their present form got them as they were
then, and 0003 and 0005 brought them to it; on a new one they find nothing to change."""

from django.db import migrations

from ops.schedules import schedules_create


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0001_daily_summary"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(lambda apps, _: schedules_create(apps=apps), migrations.RunPython.noop)
    ]

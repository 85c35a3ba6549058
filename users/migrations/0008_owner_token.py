# A batch belongs to an owner token kept in the visitor's session, no longer to the session key
# (the visitor's live cookie); each batch keeps its visitor (ops.owners).

from django.db import migrations, models

from ops.owners import owners_from_session_keys


def owners_from_sessions(apps, schema_editor):
    owners_from_session_keys(apps.get_model("users", "UserBatch"))


class Migration(migrations.Migration):
    dependencies = [
        ("sessions", "0001_initial"),
        ("users", "0007_verbose_names_translated"),
    ]

    operations = [
        migrations.AddField(
            model_name="userbatch",
            name="owner",
            field=models.CharField(
                blank=True, db_index=True, editable=False, max_length=64, verbose_name="owner"
            ),
        ),
        migrations.RunPython(owners_from_sessions, migrations.RunPython.noop),
        migrations.RemoveField(model_name="userbatch", name="session_key"),
    ]

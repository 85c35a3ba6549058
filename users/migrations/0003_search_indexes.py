"""Trigram indexes for the users list's search on PostgreSQL.

The search is `icontains`, which Django writes as UPPER(column::text) LIKE UPPER('%text%') on
PostgreSQL: a GIN trigram index on that expression answers it without reading every row.
SQLite has no such index and scans (see bench/README.md for what that costs).
"""

from django.db import migrations

COLUMNS = ("username", "email")


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS users_user_{column}_trgm "
            f"ON users_user USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS users_user_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0002_userbatch"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from image_parroter.celery import app as celery_app


def test_celery_speaks_json_only():
    assert celery_app.conf.accept_content == ["json"]
    assert celery_app.conf.task_serializer == "json"
    assert celery_app.conf.result_serializer == "json"


def test_celery_declares_the_default_queue():
    assert celery_app.conf.task_default_queue == "default"
    assert [queue.name for queue in celery_app.conf.task_queues] == ["default"]


def test_celery_delivery_survives_a_lost_worker():
    assert celery_app.conf.task_acks_late is True
    assert celery_app.conf.task_reject_on_worker_lost is True
    assert celery_app.conf.worker_prefetch_multiplier == 1
    visibility = celery_app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > celery_app.conf.task_time_limit > celery_app.conf.task_soft_time_limit


def test_celery_settings_for_faults_are_chosen_not_defaulted():
    conf = celery_app.conf
    assert conf.task_publish_retry_policy["max_retries"] == 1
    assert conf.broker_transport_options["socket_connect_timeout"] <= 0.5
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is False
    assert conf.worker_soft_shutdown_timeout > 0
    assert conf.worker_max_memory_per_child > 0


def test_celery_uses_redis_and_the_database_scheduler():
    assert celery_app.conf.broker_url == settings.REDIS_URL
    assert celery_app.conf.result_backend == settings.REDIS_URL
    assert celery_app.conf.beat_scheduler == "ops.schedulers:Scheduler"
    assert celery_app.conf.timezone == settings.TIME_ZONE


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000


def manage(*args, **env):
    """Run manage.py in a fresh process with env on top of ours (a None value unsets it)."""
    merged = {key: value for key, value in {**os.environ, **env}.items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env=merged,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        check=False,
    )


def test_production_settings_pass_check_deploy():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="parroter.example.com",
        DJANGO_ALLOW_ASYNC_UNSAFE=None,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY=None)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr

import os
import secrets

import pytest
from django.db import connection
from django_celery_beat.schedulers import DatabaseScheduler
from kombu.utils.imports import symbol_by_name

from image_parroter.celery import app as celery_app
from image_parroter.tests.processes import manage
from ops.schedulers import Scheduler


def test_celery_speaks_json_only():
    assert celery_app.conf.accept_content == ["json"]
    assert celery_app.conf.task_serializer == "json"
    assert celery_app.conf.result_serializer == "json"


def test_celery_declares_a_queue_per_workload():
    assert celery_app.conf.task_default_queue == "default"
    assert [queue.name for queue in celery_app.conf.task_queues] == ["default", "thumbnails"]


def test_celery_delivery_survives_a_lost_worker():
    assert celery_app.conf.task_acks_late is True
    assert celery_app.conf.task_reject_on_worker_lost is True
    assert celery_app.conf.worker_prefetch_multiplier == 1
    visibility = celery_app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > celery_app.conf.task_time_limit > celery_app.conf.task_soft_time_limit
    results = celery_app.conf.result_backend_transport_options
    assert results["visibility_timeout"] == visibility


def test_celery_settings_for_faults_are_chosen_not_defaulted():
    conf = celery_app.conf
    assert conf.task_publish_retry_policy["max_retries"] == 1
    assert conf.broker_transport_options["socket_connect_timeout"] <= 0.5
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is False
    assert conf.worker_soft_shutdown_timeout > 0
    assert conf.worker_max_memory_per_child > 0


def test_celery_uses_the_redis_the_environment_names():
    """Broker and results on the Redis of REDIS_URL (`devstack.py test` sets it to its own)."""
    assert type(celery_app.backend).__name__ == "RedisBackend"
    with celery_app.connection_for_write() as broker:
        assert broker.transport.driver_type == "redis"
    if "REDIS_URL" not in os.environ:
        pytest.skip("REDIS_URL is not set: run the tests through `make test`")
    assert celery_app.conf.broker_url == os.environ["REDIS_URL"]
    assert celery_app.conf.result_backend == os.environ["REDIS_URL"]


def test_celery_keeps_the_clock_of_djangos_time_zone():
    """Beat's crontab times (the daily summary at 00:10) are in the zone the site shows."""
    code = (
        "from django.utils import timezone; from image_parroter.celery import app; "
        "print(app.now().utcoffset(), timezone.localtime().utcoffset())"
    )
    result = manage("shell", "--verbosity", "0", "-c", code, TIME_ZONE="Asia/Kolkata")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5:30:00", "5:30:00"]


def test_beat_reads_its_schedule_from_the_database():
    scheduler = symbol_by_name(celery_app.conf.beat_scheduler)
    assert scheduler is Scheduler and issubclass(scheduler, DatabaseScheduler)


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000


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


def test_settings_without_the_environment_are_not_in_debug():
    script = "from django.conf import settings as s; print(s.DEBUG, s.SECURE_PROXY_SSL_HEADER)"
    result = manage(
        "shell",
        *("-v", "0", "-c", script),
        DJANGO_DEBUG=None,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "None"]


def test_without_debug_there_is_no_start_without_a_secret_key():
    result = manage("check", DJANGO_DEBUG=None, DJANGO_SECRET_KEY=None)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY=None)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


# What a fresh process's media storage is, as the web and the workers would make it.
STORAGE_REPORT = """
from django.core.files.storage import default_storage as s
s._setup()
w = s._wrapped
print(type(w).__module__ + "." + type(w).__name__)
if hasattr(w, "bucket_name"):
    print(w.bucket_name, w.endpoint_url, w.region_name, w.access_key, w.secret_key)
    print(w.addressing_style, w.client_config.s3["addressing_style"], w.querystring_expire)
"""
AWS_NAMES = (
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_S3_REGION_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_S3_ADDRESSING_STYLE",
    "AWS_QUERYSTRING_EXPIRE",
)


def test_media_stay_on_disk_with_no_object_storage_variables():
    result = manage(
        "shell", "-v", "0", "-c", STORAGE_REPORT, MEDIA_STORAGE=None, **dict.fromkeys(AWS_NAMES)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.files.storage.filesystem.FileSystemStorage"]


def test_object_storage_takes_django_storages_own_names_from_the_environment():
    env = {
        "MEDIA_STORAGE": "storages.backends.s3.S3Storage",
        "AWS_STORAGE_BUCKET_NAME": "parroter",
        "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_S3_REGION_NAME": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "key-id",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_QUERYSTRING_EXPIRE": "60",
    }
    result = manage("shell", "-v", "0", "-c", STORAGE_REPORT, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "storages.backends.s3.S3Storage",
        *("parroter", "http://127.0.0.1:9000", "eu-west-1", "key-id", "secret"),
        *("path", "path", "60"),
    ]

"""A Redis shared with other apps and other copies of this one: everything of ours lives under
REDIS_KEY_PREFIX, and a worker of another copy neither takes our tasks nor answers our pings."""

import time
import uuid

import pytest
from celery import Celery, chord
from django.conf import settings
from django.core.cache import cache

from image_parroter.celery import app as celery_app
from image_parroter.settings import database_tag
from image_parroter.tests.processes import TEST_TASKS_ARGS, running_process
from image_parroter.tests.waiting import budget
from ops import heartbeat, redis_client
from ops.tasks import heartbeat_record

pytestmark = pytest.mark.worker

QUEUE = "test-shared-redis"


def redis():
    return redis_client.client()


def test_every_key_of_ours_is_under_the_prefix(celery_worker):
    before = set(redis().scan_iter())
    cache.set("shared-redis-probe", 1)
    heartbeat.record()
    beat = heartbeat_record.si()
    assert chord([beat.clone(), beat.clone()], beat.clone()).apply_async().get(timeout=30)
    assert celery_app.control.ping(destination=[celery_worker], timeout=2)
    keys = {key.decode() for key in set(redis().scan_iter()) - before}
    assert keys, "nothing was written"
    assert not [key for key in keys if not key.startswith(settings.REDIS_KEY_PREFIX)]


def test_another_copy_with_its_own_database_has_its_own_queues(tmp_path, media_dir):
    """Two copies of the project with default settings on one Redis: one worker each."""
    other_db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "other.sqlite3")}
    other_prefix = f"image_parroter:{database_tag(other_db)}:"
    assert other_prefix != settings.REDIS_KEY_PREFIX
    other = Celery(broker=settings.REDIS_URL, backend=settings.REDIS_URL, set_as_current=False)
    other.conf.broker_transport_options = {"global_keyprefix": other_prefix}
    other.conf.result_backend_transport_options = {"global_keyprefix": other_prefix}
    theirs = f"another-copy-{uuid.uuid4().hex[:8]}@localhost"
    args = ["worker", "-P", "gevent", "--hostname", theirs, "--queues", QUEUE]
    args += [*TEST_TASKS_ARGS, "--without-mingle", "--without-gossip"]
    env = {
        "DATABASE_URL": f"sqlite:///{other_db['NAME']}",
        "REDIS_KEY_PREFIX": None,  # the default, from its own database
        "MEDIA_ROOT": str(media_dir),
    }

    def answers_its_own_copy() -> bool:
        return bool(other.control.ping(destination=[theirs], timeout=0.5))

    with running_process(theirs, args, tmp_path / "worker.log", answers_its_own_copy, env):
        assert not celery_app.control.ping(destination=[theirs], timeout=0.5)
        celery_app.send_task("tests.nap", args=(0,), queue=QUEUE)
        time.sleep(budget(1))  # time enough for a worker that listens to take it
        # Still waiting in our queue, where no worker of ours listens.
        assert redis().llen(f"{settings.REDIS_KEY_PREFIX}{QUEUE}") == 1
        redis().delete(f"{settings.REDIS_KEY_PREFIX}{QUEUE}")
        # Their own tasks run.
        assert other.send_task("tests.nap", args=(0,), queue=QUEUE).get(timeout=30) is None


def test_the_default_prefix_names_the_database():
    assert settings.REDIS_KEY_PREFIX.startswith("image_parroter:")
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}
    assert database_tag(sqlite) == database_tag({**sqlite, "NAME": "./db.sqlite3"})
    assert database_tag(sqlite) != database_tag({**sqlite, "NAME": "/elsewhere/db.sqlite3"})
    postgres = {"ENGINE": "django.db.backends.postgresql", "NAME": "a", "HOST": "h", "PORT": 5432}
    assert database_tag(postgres) != database_tag({**postgres, "NAME": "b"})

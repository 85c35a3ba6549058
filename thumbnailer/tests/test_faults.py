"""A job that kills its prefork child every time, as a real worker on a Redis of the test's
own (image_parroter/tests/tasks.py makes any image named "poison" do that). The faults that
span the apps (a killed gevent worker, the sweep) are in image_parroter/tests/test_faults.py."""

import time

import pytest

from image_parroter.tests.factories import thumbnail_job
from image_parroter.tests.processes import TEST_TASKS_ARGS, running_worker_on, send_job
from image_parroter.tests.waiting import budget, wait_until_final
from ops.models import JobStatus

from .images import image_bytes

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHOTO, SIZES = image_bytes("JPEG", (1200, 800)), [64, 128]


def test_a_job_that_kills_its_prefork_child_every_time_fails_after_three_attempts(
    own_redis, tmp_path, media_dir
):
    app = own_redis.celery_app()
    extra_args = ["--concurrency", "2", *TEST_TASKS_ARGS]
    with running_worker_on(own_redis, "prefork", tmp_path, extra_args, MEDIA_ROOT=str(media_dir)):
        poison = thumbnail_job("poison.jpg", data=PHOTO, sizes=SIZES)
        healthy = thumbnail_job("photo.jpg", data=PHOTO, sizes=SIZES)
        started = time.monotonic()
        send_job(app, poison)

        poison = wait_until_final(poison, timeout=120)
        assert poison.status == JobStatus.FAILED
        assert poison.error.startswith("Gave up after 3 attempts: each time, the worker making")
        assert "more memory than this server allows" in poison.error
        took = time.monotonic() - started
        print(f"figure: poison job failed after 3 attempts in {took:.1f} s")
        assert took < budget(60)
        # The pool replaced its children and goes on.
        send_job(app, healthy)
        healthy = wait_until_final(healthy, timeout=30)
        assert healthy.status == JobStatus.DONE, healthy.error

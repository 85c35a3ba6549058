"""Redis stopped under a real gunicorn and a real gevent worker: the web answers at once,
every job is kept as a row, and the sweep sends them when Redis is back."""

import pytest

from image_parroter.tests.processes import Person
from image_parroter.tests.waiting import budget, lost_to_the_sweep, wait_for
from ops.models import JobStatus
from thumbnailer.models import ThumbnailJob
from thumbnailer.tests.images import image_bytes
from users.models import UserBatch

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_with_redis_down_the_web_answers_at_once_and_keeps_every_job(
    own_redis, stack_factory, settings
):
    # A short lease, so that the sweep need not wait 45 s to call the jobs lost.
    settings.REDIS_URL, settings.JOB_LEASE_SECONDS = own_redis.url, 2  # as the stack sees them
    with stack_factory(own_redis, JOB_LEASE_SECONDS="2") as (url, _):
        person = Person(url)
        own_redis.stop()

        upload = person.ask(
            "upload", "post", "/", files={"images": ("photo.jpg", image_bytes(), "image/jpeg")}
        )
        generate = person.ask("generate users", "post", "/users/generate/", data={"total": 50})
        job_page = person.ask("job page", "get", upload.headers.get("location", "/"))
        users_page = person.ask("users page", "get", "/users/")
        health = person.ask("health", "get", "/health")

        assert (upload.status_code, generate.status_code) == (302, 302)
        assert (job_page.status_code, users_page.status_code) == (200, 200)
        assert health.status_code == 503 and health.json()["failed"] == ["redis"]
        print(f"figure: seconds per answer with Redis down: {person.waited}")
        assert max(person.waited.values()) < budget(1.0), person.waited
        job, batch = ThumbnailJob.objects.get(), UserBatch.objects.get()
        assert job.status == batch.status == JobStatus.QUEUED

        own_redis.start()
        for row in (job, batch):  # the lease: the jobs are lost now, not waiting
            assert wait_for(lambda row=row: lost_to_the_sweep(row, lease_seconds=2), timeout=10)
        sweep = own_redis.celery_app().send_task("ops.jobs_sweep_lost")
        assert sweep.get(timeout=30) == {"redispatched": 2, "failed": 0}

        for row in (job, batch):
            row = wait_for(
                lambda row=row: type(row).objects.filter(pk=row.pk, progress=100).first(), 30
            )
            assert row and row.status == JobStatus.DONE, row and row.error
        assert batch.users.count() == 50
        assert person.ask("health", "get", "/health").status_code == 200

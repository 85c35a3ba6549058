"""Redis failed over by its Sentinels under a real gunicorn and a real gevent worker, with
people uploading and asking for users meanwhile: no answer is a 500, and every job is done."""

import time

import pytest

from image_parroter.tests.processes import Person
from image_parroter.tests.waiting import budget, wait_for
from ops.models import JobStatus
from thumbnailer.models import ThumbnailJob
from thumbnailer.tests.images import image_bytes
from users.models import UserBatch

pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.own_servers,
    pytest.mark.django_db(transaction=True),
]

BATCH = 50
# Two images a job: a chord, whose results and counter are the result backend's.
TWO_IMAGES = [("images", (f"photo-{n}.jpg", image_bytes(), "image/jpeg")) for n in (1, 2)]
# What each request may answer: /health says 503 while Redis does not answer.
EXPECTED = {"upload": {302}, "generate": {302}, "job page": {200}, "health": {200, 503}}


def all_done() -> bool:
    rows = [*ThumbnailJob.objects.all(), *UserBatch.objects.all()]
    return all(row.status == JobStatus.DONE for row in rows)


def test_a_sentinel_failover_under_load_answers_no_500_and_every_job_is_done(
    redis_sentinels, stack_factory, settings
):
    group = redis_sentinels
    # As the stack sees them; a short lease, so that the sweep need not wait 45 s.
    settings.REDIS_URL, settings.REDIS_SENTINEL_MASTER = group.url, group.master_name
    settings.JOB_LEASE_SECONDS = 2
    old_master, new_master = group.ports
    with stack_factory(group, JOB_LEASE_SECONDS="2", **group.env) as (url, _):
        person = Person(url)
        answers = []  # (seconds since the failover, what, status, seconds taken)
        failover_at = switched_after = demoted_after = None
        started = time.monotonic()
        # Before the failover, through it, and on until the old master is a replica (Sentinel
        # turns it into one about 10 s after the switch).
        while time.monotonic() - started < budget(22):
            if failover_at is None and time.monotonic() - started > 3:
                failover_at = time.monotonic()
                group.failover()
            upload = person.ask("upload", "post", "/", files=TWO_IMAGES)
            steps = {
                "upload": upload,
                "generate": person.ask(
                    "generate", "post", "/users/generate/", data={"total": BATCH}
                ),
                "job page": person.ask("job page", "get", upload.headers["location"]),
                "health": person.ask("health", "get", "/health"),
            }
            since = time.monotonic() - (failover_at or time.monotonic())
            answers += [
                (round(since, 2), what, answer.status_code, person.waited[what])
                for what, answer in steps.items()
            ]
            if failover_at and switched_after is None and group.master_port() == new_master:
                switched_after = time.monotonic() - failover_at
            if failover_at and demoted_after is None and group.role(old_master) == "slave":
                demoted_after = time.monotonic() - failover_at
        assert switched_after is not None, "the Sentinels never switched to the replica"
        # The old master takes writes, and holds the connections it has, until it is a replica.
        assert demoted_after is not None, "the old master was never made a replica"
        assert [a for a in answers if a[0] > demoted_after + 3], "too little asked after it"

        unexpected = [a for a in answers if a[2] not in EXPECTED[a[1]]]
        assert not unexpected, unexpected
        unhealthy = [a for a in answers if a[2] == 503]
        slow = [a for a in answers if a[3] > 1]
        assert max(a[3] for a in answers) < budget(5), slow  # none waited for a dead socket
        jobs, batches = ThumbnailJob.objects.count(), UserBatch.objects.count()
        assert jobs == batches == sum(1 for a in answers if a[1] == "upload")

        # Redis replicates asynchronously: what the old master took after the switch and
        # before it became a replica is lost, and a job whose message or chord counter was
        # among it is left without a message and, a lease later, without a lease: the sweep's.
        sweeps, resent = group.celery_app(), 0
        deadline = time.monotonic() + budget(120)
        while not wait_for(all_done, timeout=5) and time.monotonic() < deadline:
            resent += sweeps.send_task("ops.jobs_sweep_lost").get(timeout=budget(30))[
                "redispatched"
            ]
        assert all_done(), [
            (row.pk, row.status, row.error)
            for model in (ThumbnailJob, UserBatch)
            for row in model.objects.exclude(status=JobStatus.DONE)
        ]
        assert all(batch.users.count() == BATCH for batch in UserBatch.objects.all())
        assert person.ask("health", "get", "/health").status_code == 200
        keys = [key.decode() for key in group.server(new_master).scan_iter()]
        assert keys and all(key.startswith(settings.REDIS_KEY_PREFIX) for key in keys)
        print(
            f"figure: Sentinel switched masters {switched_after:.2f} s after SENTINEL FAILOVER "
            f"and made the old master a replica after {demoted_after:.2f} s; "
            f"{len(answers)} answers, {len(unhealthy)} x 503, "
            f"{len(slow)} over 1 s (slowest {max(a[3] for a in answers)} s); "
            f"{jobs} jobs and {batches} batches done, {resent} of them re-sent by the sweep; "
            f"503s and slow answers: {unhealthy + slow}"
        )

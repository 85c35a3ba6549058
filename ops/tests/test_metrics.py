"""GET /metrics (ops/metrics.py): what waits in each queue and for how long, what workers
hold, the workers, beat and the jobs, read from Redis and the database at each scrape."""

import json
import time
from collections import Counter

import pytest
import redis
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from image_parroter.tests.factories import thumbnail_job, user_batch
from image_parroter.tests.processes import send_job
from image_parroter.tests.waiting import budget, wait_for
from ops import heartbeat, redis_client
from ops.liveness import queue_keys
from ops.models import JobStatus

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """The samples of one scrape, by (name, sorted labels)."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def queue_sample(samples, name: str, queue: str) -> float:
    return samples[(f"image_parroter_{name}", (("queue", queue),))]


@pytest.fixture
def broker(own_redis, settings):
    """A Redis of the test's own that no worker consumes, and a client of its queues."""
    settings.REDIS_URL = own_redis.url
    return own_redis.celery_app()


def test_depth_and_oldest_age_of_each_queue(client, broker):
    first = broker.send_task("thumbnailer.image_thumbnails_make", args=[1])
    time.sleep(0.5)
    for image_id in (2, 3):
        broker.send_task("thumbnailer.image_thumbnails_make", args=[image_id])
    broker.send_task("ops.heartbeat_record")

    samples = scrape(client)

    assert queue_sample(samples, "queue_depth", "thumbnails") == 3
    assert queue_sample(samples, "queue_depth", "default") == 1
    assert 0.5 <= queue_sample(samples, "queue_oldest_age_seconds", "thumbnails") < 0.5 + budget(2)
    assert queue_sample(samples, "queue_oldest_age_seconds", "default") < budget(2)
    # Where kombu keeps them: a list per queue under the prefix, newest pushed on the left,
    # the oldest at the right end, where workers BRPOP.
    oldest = redis_client.client().lindex(f"{settings.REDIS_KEY_PREFIX}thumbnails", -1)
    assert json.loads(oldest)["headers"]["id"] == first.id


def test_the_prefix_of_every_key_is_exported(client, broker, settings):
    settings.REDIS_KEY_PREFIX = "parroter:eu-1:"
    samples = scrape(client)
    assert samples[("image_parroter_info", (("redis_key_prefix", "parroter:eu-1:"),))] == 1


def test_an_empty_queue_is_zero_deep_and_zero_old(client, broker):
    samples = scrape(client)

    for queue in ("thumbnails", "default"):
        assert queue_sample(samples, "queue_depth", queue) == 0
        assert queue_sample(samples, "queue_oldest_age_seconds", queue) == 0


def test_messages_with_a_priority_are_counted_from_their_own_lists(client, broker):
    # Kombu files a message with a priority under a list of its own beside the queue's.
    broker.send_task("thumbnailer.image_thumbnails_make", args=[1])
    broker.send_task("thumbnailer.image_thumbnails_make", args=[2], priority=5)
    keys = queue_keys("thumbnails")
    assert [redis_client.client().llen(key) for key in keys] == [1, 1, 0, 0]

    assert queue_sample(scrape(client), "queue_depth", "thumbnails") == 2


def test_messages_a_worker_took_and_has_not_acknowledged(client, broker):
    for image_id in (1, 2):
        broker.send_task("thumbnailer.image_thumbnails_make", args=[image_id])
    with broker.connection_for_read() as connection:
        channel = connection.default_channel
        taken = channel.basic_get("thumbnails", no_ack=False)
        assert taken is not None

        samples = scrape(client)

        assert samples[("image_parroter_messages_unacked", ())] == 1
        assert queue_sample(samples, "queue_depth", "thumbnails") == 1
        taken.ack()
    assert scrape(client)[("image_parroter_messages_unacked", ())] == 0


def test_jobs_and_batches_by_status(client, broker):
    thumbnail_job()
    thumbnail_job(status=JobStatus.FAILED)
    thumbnail_job(status=JobStatus.FAILED)
    user_batch(status=JobStatus.RUNNING)

    samples = scrape(client)

    def jobs(kind, status):
        return samples[("image_parroter_jobs", (("kind", kind), ("status", status)))]

    assert jobs("thumbnailer.thumbnailjob", "queued") == 1
    assert jobs("thumbnailer.thumbnailjob", "failed") == 2
    assert jobs("thumbnailer.thumbnailjob", "done") == 0
    assert jobs("users.userbatch", "running") == 1


def test_seconds_since_beats_tick_and_inf_before_any(client, broker):
    assert scrape(client)[("image_parroter_beat_seconds_since_tick", ())] == float("inf")
    heartbeat.record()
    assert scrape(client)[("image_parroter_beat_seconds_since_tick", ())] < budget(2)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_running_worker_is_seen(client, celery_worker):
    def seen() -> float:
        return scrape(client)[("image_parroter_workers_seen", ())]

    # Its heartbeat comes every 2 s.
    assert wait_for(lambda: seen() >= 1, timeout=5)


def test_a_scrape_asks_redis_the_same_whatever_the_backlog(client, broker, own_redis):
    """Each of its questions is answered in constant time (a list's length and its last
    message, the unacknowledged hash's length), so a deep backlog does not slow it. How long
    it takes with 1,000 messages waiting is a benchmark figure (bench/wholepath.py)."""
    server = redis.Redis.from_url(own_redis.url)

    def calls() -> Counter:
        stats = server.info("commandstats")
        return Counter(
            {name.removeprefix("cmdstat_"): stat["calls"] for name, stat in stats.items()}
        )

    def commands_of_a_scrape() -> tuple[Counter, dict]:
        before = calls()
        samples = scrape(client)
        return calls() - before - Counter(info=1), samples

    scrape(client)  # the first one connects to Redis and the database
    empty, _ = commands_of_a_scrape()
    jobs = [user_batch() for _ in range(500)] + [thumbnail_job() for _ in range(500)]
    for job in jobs:
        send_job(broker, job)
    backlog, samples = commands_of_a_scrape()

    assert queue_sample(samples, "queue_depth", "thumbnails") == 500
    assert queue_sample(samples, "queue_depth", "default") == 500
    assert backlog == empty, (backlog, empty)
    assert set(backlog) <= {"llen", "lindex", "hlen", "zremrangebyscore", "zrangebyscore", "get"}


@pytest.mark.parametrize("remote", ["127.0.0.1", "::1"])
def test_loopback_scrapes_without_a_token(client, broker, remote):
    assert client.get("/metrics", REMOTE_ADDR=remote).status_code == 200


def test_others_are_refused_when_no_token_is_set(client, broker, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


def test_others_need_the_token(client, broker, settings):
    settings.METRICS_TOKEN = "s3cret-scraper-token"
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/metrics", **remote).status_code == 403
    wrong = client.get("/metrics", **remote, HTTP_AUTHORIZATION="Bearer s3cret-scraper-tokeN")
    assert wrong.status_code == 403
    right = client.get("/metrics", **remote, HTTP_AUTHORIZATION="Bearer s3cret-scraper-token")
    assert right.status_code == 200


@pytest.mark.parametrize(
    "forwarded",
    [
        {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"HTTP_X_REAL_IP": "203.0.113.9"},
        {"HTTP_FORWARDED": "for=203.0.113.9"},
    ],
)
def test_a_request_forwarded_by_a_local_proxy_is_not_local(client, broker, settings, forwarded):
    settings.METRICS_TOKEN = "s3cret-scraper-token"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", **forwarded).status_code == 403


def test_a_request_through_the_front_is_not_local(client, broker, settings):
    settings.TRUSTED_PROXIES = ["unix"]
    settings.METRICS_TOKEN = "s3cret-scraper-token"
    through_front = {"REMOTE_ADDR": "", "HTTP_X_FORWARDED_FOR": "127.0.0.1"}
    assert client.get("/metrics", **through_front).status_code == 403
    token = {"HTTP_AUTHORIZATION": "Bearer s3cret-scraper-token"}
    assert client.get("/metrics", **through_front, **token).status_code == 200


def test_a_request_from_a_unix_socket_is_not_local(client, broker):
    assert client.get("/metrics", REMOTE_ADDR="").status_code == 403


def test_without_redis_the_scrape_says_so(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert client.get("/metrics").status_code == 503


def test_workers_silent_for_an_hour_are_forgotten(client, broker):
    key = heartbeat.workers_key()
    redis_client.client().zadd(
        key, {"gone@host": time.time() - 3700, "quiet@host": time.time() - 60}
    )

    assert scrape(client)[("image_parroter_workers_seen", ())] == 0
    assert redis_client.client().zrange(key, 0, -1) == [b"quiet@host"]

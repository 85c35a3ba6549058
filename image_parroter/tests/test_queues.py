"""A queue per workload: thumbnails on `thumbnails`, everything else on `default`, each bound
with its own routing key. The documented worker consumes both, and a flood of thumbnails
never holds the heartbeat back; a CPU host serving `thumbnails` alone runs a whole job, chord
callback included."""

import time

import pytest

from image_parroter.celery import app as celery_app
from image_parroter.tests.factories import thumbnail_job
from image_parroter.tests.processes import running_worker_on, send_job
from image_parroter.tests.waiting import budget, wait_for, wait_until_final
from ops import redis_client
from ops.liveness import queue_keys
from thumbnailer.tests.images import image_bytes

THUMBNAIL_TASKS = [
    "thumbnailer.job_run",
    "thumbnailer.image_thumbnails_make",
    "thumbnailer.job_archive_build",
]
DEFAULT_TASKS = [
    "users.user_batch_fill",
    "ops.heartbeat_record",
    "ops.jobs_sweep_lost",
    "ops.summary_record",
    "ops.run_history_purge",
    "thumbnailer.jobs_purge_expired",
]


@pytest.fixture(scope="module", autouse=True)
def tasks_loaded():
    """Every app's tasks registered, as in a worker (autodiscovery is lazy elsewhere)."""
    celery_app.loader.import_default_modules()


def queue_of(task_name: str) -> str:
    return celery_app.amqp.router.route({}, task_name)["queue"].name


@pytest.mark.parametrize("task_name", THUMBNAIL_TASKS)
def test_thumbnail_work_is_routed_to_thumbnails(task_name):
    assert task_name in celery_app.tasks
    assert queue_of(task_name) == "thumbnails"


@pytest.mark.parametrize("task_name", DEFAULT_TASKS)
def test_batches_and_periodic_work_are_routed_to_default(task_name):
    assert task_name in celery_app.tasks
    assert queue_of(task_name) == "default"


@pytest.mark.worker
def test_the_documented_worker_consumes_both_queues(celery_worker):
    queues = celery_app.control.inspect(destination=[celery_worker], timeout=5).active_queues()
    assert sorted(queue["name"] for queue in queues[celery_worker]) == ["default", "thumbnails"]


def waiting(queue: str) -> int:
    return sum(redis_client.client().llen(key) for key in queue_keys(queue))


@pytest.mark.parametrize("queue", ["default", "thumbnails"])
def test_a_message_for_one_queue_never_lands_in_the_other(own_redis, settings, queue):
    """Sent to the queues' exchange with one queue's routing key, as any client may send."""
    settings.REDIS_URL = own_redis.url
    app = own_redis.celery_app()
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for declared in app.amqp.queues.values():  # as a worker does when it starts
            declared(channel).declare()
        exchange = app.amqp.queues[queue].exchange.name
        connection.Producer(channel).publish({"for": queue}, exchange=exchange, routing_key=queue)

    other = ({"default", "thumbnails"} - {queue}).pop()
    assert (waiting(queue), waiting(other)) == (1, 0)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_goes_past_200_queued_image_tasks(own_redis, settings, tmp_path, media_root):
    settings.REDIS_URL = own_redis.url
    app = own_redis.celery_app()
    # 200 images that each take the CPU a while: seconds of work for two cores.
    job = thumbnail_job(data=image_bytes(size=(1600, 1200)), sizes=(128, 256, 512), images=200)
    image_ids = list(job.images.values_list("pk", flat=True))
    # `celery -A image_parroter worker -P gevent`, no other flag.
    with running_worker_on(own_redis, "gevent", tmp_path, MEDIA_ROOT=str(media_root)):
        for image_id in image_ids:
            app.send_task("thumbnailer.image_thumbnails_make", args=[image_id])
        assert wait_for(lambda: waiting("thumbnails") < 190, timeout=10)  # it is busy
        round_trips = []
        for _ in range(3):
            started = time.monotonic()
            app.send_task("ops.heartbeat_record").get(timeout=budget(10))
            round_trips.append(time.monotonic() - started)
            behind = waiting("thumbnails")
        # The flood was still there, and the heartbeat went past it. How long its round trip
        # takes under such a flood is a benchmark figure (bench/wholepath.py), not a bound.
        assert behind > 100
        print(f"figure: heartbeat round trips behind the flood: {round_trips}")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_cpu_host_serving_thumbnails_alone_runs_a_job_of_three_images(
    own_redis, settings, tmp_path, media_root
):
    """`-Q thumbnails -P prefork`: the chord's members and its callback (the archive) must
    all be on `thumbnails`, or the job never ends."""
    settings.REDIS_URL = own_redis.url
    job = thumbnail_job(images=3)
    with running_worker_on(
        own_redis, "prefork", tmp_path, ["-Q", "thumbnails"], MEDIA_ROOT=str(media_root)
    ):
        send_job(own_redis.celery_app(), job)
        job = wait_until_final(job, timeout=60)
    assert job.status == "done", job.error
    assert job.archive

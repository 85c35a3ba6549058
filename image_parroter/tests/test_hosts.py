"""Hosts that come and go: a web host and two worker hosts, each a network namespace of its
own (its own loopback, no shared folder, no route but to the bridge), on a PostgreSQL, a Redis
and an S3-compatible server (moto) that listen on the bridge's address only. 40 jobs of several
images and a 200,000-user batch go through on both worker hosts; the host making the batch is
SIGKILLed (its whole process group) and not restarted; the other loses its link for 20 s.
Every job still ends done with a whole archive in object storage, the batch with exactly its
users, nothing done twice, and nothing written to any host's own disk."""

import io
import os
import re
import signal
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest

from image_parroter.tests.processes import (
    RAISED_LIMITS,
    Person,
    manage,
    object_storage_env,
    running_web,
    running_worker_on,
)
from image_parroter.tests.waiting import budget, wait_for
from thumbnailer.tests.images import image_bytes

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.own_servers]

TOTAL, JOBS, IMAGES_PER_JOB, SIZES = 200_000, 40, 3, [128, 256]
PHOTO = image_bytes(size=(1600, 1200))
# A lease of 8 s instead of 45, so that the dead host's jobs are sent again within seconds
# (the test sends the sweep every 3 s, as beat does every 30 s).
LEASE_SECONDS, SWEEP_EVERY = 8, 3
PARTITION_SECONDS = 20


def rows(database_url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        return connection.execute(sql, params).fetchall()


def succeeded(log: Path, task: str) -> set[str]:
    """The ids of `task`'s runs that a worker's log says succeeded."""
    return set(re.findall(rf"Task {re.escape(task)}\[([^\]]+)\] succeeded", log.read_text()))


def redispatched(log: Path) -> int:
    """How many jobs the sweeps that a worker's log shows sent again."""
    return sum(map(int, re.findall(r"\{'redispatched': (\d+)", log.read_text())))


def received(log: Path, task: str, job_id: str) -> bool:
    return f"Task {task}[{job_id}." in log.read_text()


@contextmanager
def sweeping(app, every: float):
    """Meanwhile the sweep is sent every `every` seconds, as beat sends it every 30 s."""
    stop = threading.Event()

    def send() -> None:
        while not stop.wait(every):
            app.send_task("ops.jobs_sweep_lost", ignore_result=True)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=budget(10))


def assert_archives(database_url: str, bucket) -> None:
    """Each job is done; its archive is a whole zip of its originals and thumbnails; the
    bucket holds that one archive and each image's original and thumbnails, nothing more (a
    second run that kept its effect would leave a second archive or stray thumbnails)."""
    jobs = rows(database_url, "SELECT id, status, error, archive FROM thumbnailer_thumbnailjob")
    assert len(jobs) == JOBS
    assert [status for _, status, _, _ in jobs] == ["done"] * JOBS, jobs
    stored = {}
    for summary in bucket.objects.all():
        stored.setdefault(summary.key.split("/")[1], set()).add(summary.key)
    for job_id, _, _, archive in jobs:
        images = rows(
            database_url,
            "SELECT name, original, thumbnails, done FROM thumbnailer_jobimage WHERE job_id = %s",
            job_id,
        )
        assert len(images) == IMAGES_PER_JOB and all(done for *_, done in images), images
        expected = {archive} | {original for _, original, _, _ in images}
        expected |= {name for *_, made, _ in images for name in made.values()}
        assert stored[str(job_id)] == expected
        with zipfile.ZipFile(io.BytesIO(bucket.Object(archive).get()["Body"].read())) as zipped:
            assert zipped.testzip() is None
            names = set(zipped.namelist())
        stems = [name.rsplit(".", 1)[0] for name, *_ in images]
        assert names == {f"originals/{name}" for name, *_ in images} | {
            f"thumbnails/{size}/{stem}.jpg" for size in SIZES for stem in stems
        }


def assert_users(database_url: str) -> None:
    """The batch made exactly TOTAL users, each once, and its count says so."""
    [(status, created, made, names, emails)] = rows(
        database_url,
        "SELECT b.status, b.created, count(u.id), count(DISTINCT u.username),"
        " count(DISTINCT u.email) FROM users_userbatch b"
        " LEFT JOIN users_user u ON u.batch_id = b.id GROUP BY b.id",
    )
    assert (status, created, made, names, emails) == ("done", TOTAL, TOTAL, TOTAL, TOTAL)


def upload_jobs(person: Person) -> float:
    """Upload the JOBS jobs one after another; how long that took."""
    started = time.monotonic()
    for number in range(JOBS):
        files = [
            ("images", (f"photo-{number}-{n}.jpg", PHOTO, "image/jpeg"))
            for n in range(IMAGES_PER_JOB)
        ]
        upload = person.ask("upload", "post", "/", files=files, data={"sizes": SIZES})
        assert upload.status_code == 302, upload.text
    return time.monotonic() - started


def test_work_goes_on_when_a_worker_host_dies_and_another_loses_its_link(
    network, network_servers, tmp_path
):
    postgres, redis, moto = network_servers
    database_url = postgres.url()
    web, first, second = (network.add(name) for name in ("web", "worker-1", "worker-2"))
    for host in (web, first, second):
        # Before anything is sent: each host is reached through its own veth, reaches the
        # bridge through it, and has no route anywhere else.
        network.assert_own(host.address)
        network.assert_own(network.address, host)
        link = f"{network.subnet} dev eth0 proto kernel scope link src {host.address} "
        assert host.routes() == [link]
    assert manage("migrate", "--noinput", DATABASE_URL=database_url).returncode == 0
    bucket = moto.new_bucket()
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        **object_storage_env(moto.url, bucket.name),
        "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    web_env = {
        **env,
        "DJANGO_ALLOWED_HOSTS": web.address,
        **RAISED_LIMITS,
        "USERS_GENERATE_MAX": str(TOTAL),
    }
    made, done_jobs, done_batches = (
        "SELECT created FROM users_userbatch",
        "SELECT count(*) FROM thumbnailer_thumbnailjob WHERE status = 'done'",
        "SELECT count(*) FROM users_userbatch WHERE status = 'done'",
    )

    def count(sql: str) -> int:
        return rows(database_url, sql)[0][0]

    image_task, batch_task = "thumbnailer.image_thumbnails_make", "users.user_batch_fill"
    logs, app = tmp_path, redis.celery_app()
    with ExitStack() as stack:
        url = stack.enter_context(running_web(logs, host=web, **web_env))
        name1, doomed = stack.enter_context(
            running_worker_on(redis, "gevent", logs, host=first, **env)
        )
        person = Person(url)
        started = time.monotonic()
        generate = person.ask("generate", "post", "/users/generate/", data={"total": TOTAL})
        assert generate.status_code == 302, generate.text
        [(batch_id,)] = rows(database_url, "SELECT id FROM users_userbatch")
        assert wait_for(lambda: count(made) > 0, timeout=30)
        # The second worker host comes once the first is making the batch.
        name2, _ = stack.enter_context(
            running_worker_on(redis, "prefork", logs, ("--concurrency", "2"), host=second, **env)
        )
        log1, log2 = logs / f"{name1}.log", logs / f"{name2}.log"
        uploads = stack.enter_context(ThreadPoolExecutor(1)).submit(upload_jobs, person)

        def both_working() -> bool:
            on_both = succeeded(log1, image_task) and succeeded(log2, image_task)
            return on_both and count(done_jobs) >= JOBS // 4

        assert wait_for(both_working, timeout=90, interval=0.2)
        # The host making the batch dies mid-way: every process of it at once, for good.
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=budget(10))
        killed, at_kill = time.monotonic(), (count(made), count(done_jobs))
        assert at_kill[1] < JOBS, "every job was done before the kill"

        with sweeping(app, SWEEP_EVERY):
            uploaded = uploads.result(timeout=budget(60))
            taken_over = wait_for(lambda: received(log2, batch_task, batch_id), timeout=60)
            assert taken_over, "the batch was not sent again"
            taken_over = time.monotonic() - killed
            assert wait_for(lambda: count(made) > at_kill[0], timeout=30)
            at_cut = count(made), count(done_jobs)
            second.link("down")
            time.sleep(PARTITION_SECONDS)
            second.link("up")
            linked = time.monotonic()
            network.assert_own(second.address)

            def all_done() -> bool:
                return count(done_jobs) == JOBS and count(done_batches) == 1

            assert wait_for(all_done, timeout=150, interval=0.5), (
                rows(database_url, "SELECT status, attempts, error FROM thumbnailer_thumbnailjob"),
                rows(database_url, "SELECT status, created, attempts, error FROM users_userbatch"),
            )
        finished = time.monotonic()

    images1, images2 = succeeded(log1, image_task), succeeded(log2, image_task)
    attempts = "SELECT attempts, count(*) FROM {} GROUP BY attempts ORDER BY attempts"
    job_attempts = rows(database_url, attempts.format("thumbnailer_thumbnailjob"))
    batch_attempts = rows(database_url, attempts.format("users_userbatch"))
    print(
        f"figure: {JOBS} jobs uploaded in {uploaded:.1f} s;"
        f" at the kill {at_kill[0]} users made and {at_kill[1]} jobs done; the batch on"
        f" worker-2 {taken_over:.1f} s after the kill; at the link's cut {at_cut[0]} users and"
        f" {at_cut[1]} jobs; everything done {finished - killed:.1f} s after the kill and"
        f" {finished - linked:.1f} s after the link came back; whole run"
        f" {finished - started:.1f} s; images made: worker-1 {len(images1)}, worker-2"
        f" {len(images2)}; jobs sent again by the sweep {redispatched(log2)}; (attempts, how"
        f" many) of the jobs {job_attempts}, of the batch {batch_attempts}"
    )
    assert images1 and images2
    assert_archives(database_url, bucket)
    assert_users(database_url)
    for host in (web, first, second):
        assert host.written() == [], host.name

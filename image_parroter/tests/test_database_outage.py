"""A PostgreSQL of the test's own restarted, and failed over to a streaming replica, under a
real gunicorn and a real gevent worker: while the database is away every page answers 503
with Retry-After (the site's page, or JSON for scripts), never 500, and /health names the
database; once it is back the site answers as before, and the work that was in progress
finishes: the thumbnail job with its archive, the user batch with exactly its N users."""

import itertools
import threading
import time
from collections import Counter
from contextlib import contextmanager

import psycopg
import pytest

from image_parroter.tests.processes import Person, manage
from image_parroter.tests.waiting import budget, wait_for
from thumbnailer.tests.images import image_bytes

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.own_servers]

TOTAL = 500
# Enough work that both are still running when the database goes: a batch made one user per
# transaction (about 10 s), and 20 large images (a second or two).
PHOTO = image_bytes(size=(2400, 1800))
IMAGES = [("images", (f"photo-{n}.jpg", PHOTO, "image/jpeg")) for n in range(20)]
ONE_IMAGE = IMAGES[:1]
SLOW_BATCHES = {"USERS_GENERATE_CHUNK_SIZE": "1"}


class SteadyLoad(threading.Thread):
    """The same visitor asking for pages back to back in another thread until stopped; counts
    the statuses it was answered with."""

    def __init__(self, person: Person, job_path: str):
        super().__init__(daemon=True)
        self.person = Person(person.url)
        self.person.session.cookies.update(person.session.cookies)  # the job's owner
        self.paths = ["/", job_path, f"{job_path}status.json", "/users/", "/health"]
        self.statuses, self.done = Counter(), threading.Event()

    def run(self) -> None:
        for path in itertools.cycle(self.paths):
            if self.done.is_set():
                return
            self.statuses[self.person.ask("load", "get", path).status_code] += 1

    def stop(self) -> Counter:
        self.done.set()
        self.join(timeout=budget(30))
        return self.statuses


@contextmanager
def a_steady_visitor(person: Person, job_path: str, fault: str):
    """Meanwhile the same visitor asks for pages back to back in another thread: it must be
    answered with nothing but 200s and 503s."""
    load = SteadyLoad(person, job_path)
    load.start()
    yield
    statuses = load.stop()
    print(f"figure: statuses of a steady visitor over {fault}: {dict(statuses)}")
    assert set(statuses) <= {200, 503}, statuses


def rows(database_url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        return connection.execute(sql, params).fetchall()


def batches(database_url: str) -> list[tuple]:
    """(status, total, users made) of every batch."""
    return rows(
        database_url,
        "SELECT b.status, b.total, count(u.id) FROM users_userbatch b"
        " LEFT JOIN users_user u ON u.batch_id = b.id GROUP BY b.id, b.status, b.total",
    )


def migrate(database_url: str) -> None:
    done = manage("migrate", "--noinput", DATABASE_URL=database_url)
    assert done.returncode == 0, done.stderr


def work_in_progress(person: Person, database_url: str) -> str:
    """A batch of TOTAL users and a job of many images, both running; the job's path."""
    generate = person.ask("generate", "post", "/users/generate/", data={"total": TOTAL})
    assert generate.status_code == 302, generate.text
    batch = "SELECT status, progress FROM users_userbatch"
    assert wait_for(lambda: rows(database_url, batch)[0][1] > 0, timeout=30)
    upload = person.ask("upload", "post", "/", files=IMAGES)
    assert upload.status_code == 302, upload.text

    def both_running() -> bool:
        job = rows(database_url, "SELECT status, progress FROM thumbnailer_thumbnailjob")
        running = job[0][0] == rows(database_url, batch)[0][0] == "running"
        return running and job[0][1] < 50

    assert wait_for(both_running, timeout=30, interval=0.05), (
        rows(database_url, "SELECT status, progress, error FROM thumbnailer_thumbnailjob"),
        rows(database_url, "SELECT status, progress, error FROM users_userbatch"),
    )
    return upload.headers["location"]


def answers(person: Person, job_path: str) -> dict:
    """Each page a visitor or a script asks for, and what it answered."""
    json = {"Accept": "application/json"}
    return {
        "upload page": person.ask("upload page", "get", "/"),
        "upload": person.ask("upload", "post", "/", files=ONE_IMAGE),
        "job page": person.ask("job page", "get", job_path),
        "job status": person.ask("job status", "get", f"{job_path}status.json"),
        "users": person.ask("users", "get", "/users/"),
        "users as JSON": person.ask("users as JSON", "get", "/users/", headers=json),
        "generate": person.ask("generate", "post", "/users/generate/", data={"total": 50}),
    }


def assert_away(person: Person, job_path: str, fault: str) -> None:
    """Every page is 503 with Retry-After, at once, as HTML or JSON as asked; /health names
    the database."""
    for what, response in answers(person, job_path).items():
        assert (what, response.status_code) == (what, 503), response.text[:2000]
        assert int(response.headers["Retry-After"]) > 0, what
        if what in ("job status", "users as JSON"):
            assert response.json()["failed"] == ["database"], what
        else:
            assert "Back in a moment" in response.text, what
    health = person.ask("health", "get", "/health")
    assert health.status_code == 503 and health.json()["failed"] == ["database"]
    print(f"figure: seconds per answer with {fault}: {person.waited}")
    assert max(person.waited.values()) < budget(1.0), person.waited


def assert_fine(person: Person, job_path: str) -> None:
    """Every page answers as it does with the database up, and writes are taken."""
    expected = {"upload": 302, "generate": 302}
    for what, response in answers(person, job_path).items():
        assert response.status_code == expected.get(what, 200), (what, response.text[:2000])
    health = person.ask("health", "get", "/health")
    assert health.status_code == 200, health.text


def site_back(person: Person) -> float:
    """Seconds until /health answers 200 again."""
    started = time.monotonic()
    back = wait_for(lambda: person.ask("health", "get", "/health").status_code == 200, 30)
    assert back, "the site did not come back"
    return round(time.monotonic() - started, 2)


def assert_work_finished(person: Person, database_url: str, job_path: str, rounds: int) -> None:
    """The job made its archive; every batch (the one running through the fault, and one of
    50 for each of the `rounds` of assert_fine) has exactly the users it asked for; nothing
    asked for while the database was away was kept."""
    started = time.monotonic()
    jobs = rows(database_url, "SELECT count(*) FROM thumbnailer_thumbnailjob")
    assert jobs == [(1 + rounds,)]

    def job_done() -> dict | None:
        status = person.ask("job status", "get", f"{job_path}status.json").json()
        return status if status["status"] in ("done", "failed") else None

    status = wait_for(job_done, timeout=90, interval=0.5)
    assert status and status["status"] == "done", status
    assert person.ask("download", "get", status["download_url"]).status_code in (200, 302)

    def batches_final() -> list | None:
        found = batches(database_url)
        return found if all(status in ("done", "failed") for status, *_ in found) else None

    found = wait_for(batches_final, timeout=120, interval=0.5)
    assert found, batches(database_url)
    assert sorted(found) == sorted([("done", TOTAL, TOTAL)] + [("done", 50, 50)] * rounds)
    print(
        f"figure: all the work done {time.monotonic() - started:.1f} s after the database came back"
    )


def test_a_postgresql_restart_answers_503_while_away_and_loses_no_work(
    own_postgres, own_redis, stack_factory
):
    database_url = own_postgres.url()
    migrate(database_url)
    with stack_factory(own_redis, DATABASE_URL=database_url, **SLOW_BATCHES) as (url, _):
        person = Person(url)
        job_path = work_in_progress(person, database_url)
        with a_steady_visitor(person, job_path, "both restarts"):
            # A quick restart between two requests: the connections kept from before are dead.
            own_postgres.restart()
            assert_fine(person, job_path)

            own_postgres.stop()
            stopped = time.monotonic()
            assert_away(person, job_path, "PostgreSQL stopped")
            own_postgres.start()
            print(f"figure: PostgreSQL away {time.monotonic() - stopped:.2f} s")
            print(f"figure: seconds from PostgreSQL started to /health 200: {site_back(person)}")
            assert_fine(person, job_path)
        assert_work_finished(person, database_url, job_path, rounds=2)


def test_a_failover_to_a_streaming_replica_answers_503_between_and_loses_no_work(
    own_postgres, own_redis, stack_factory
):
    migrate(own_postgres.url())
    replica = own_postgres.replica()
    # Both hosts; libpq takes the first that accepts writes.
    hosts = f"127.0.0.1:{own_postgres.port},127.0.0.1:{replica.port}"
    both = f"postgres://postgres@{hosts}/image_parroter?target_session_attrs=read-write"
    with stack_factory(own_redis, DATABASE_URL=both, **SLOW_BATCHES) as (url, _):
        person = Person(url)
        job_path = work_in_progress(person, own_postgres.url())
        with a_steady_visitor(person, job_path, "the failover"):
            own_postgres.stop()
            stopped = time.monotonic()
            # The replica still answers, but read-only: no host to write to.
            assert_away(person, job_path, "no primary")
            replica.promote()
            print(f"figure: no primary for {time.monotonic() - stopped:.2f} s")
            print(f"figure: seconds from promote to /health 200: {site_back(person)}")
            assert_fine(person, job_path)
        assert_work_finished(person, replica.url(), job_path, rounds=1)

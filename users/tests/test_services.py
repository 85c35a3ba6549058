"""The generation service against the real database."""

import re
import string
import threading
from datetime import timedelta
from itertools import cycle

import pytest
from django.db import connection

from ops.models import JobStatus
from users import services
from users.models import User, UserBatch

pytestmark = pytest.mark.django_db


def test_create_records_a_queued_batch_and_sends_it_after_commit(
    sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.user_batch_create(total=120)
        assert sent_tasks == []  # the row is not committed yet
    assert (batch.status, batch.total, batch.created, batch.progress) == ("queued", 120, 0, 0)
    [(name, args, task_id)] = sent_tasks
    assert (name, args) == ("users.user_batch_fill", [str(batch.pk)])
    assert task_id.startswith(f"{batch.pk}.")


def test_fill_makes_exactly_n_users_like_the_tutorial_with_unusable_passwords():
    batch = UserBatch.objects.create(total=130)
    services.user_batch_fill(batch=batch, chunk_size=50)
    batch.refresh_from_db()
    assert (batch.status, batch.created, batch.progress, batch.attempts) == ("done", 130, 100, 1)
    assert batch.finished_at is not None
    users = list(batch.users.all())
    assert len(users) == 130
    for user in users:
        assert re.fullmatch(r"user_[A-Za-z]{10}", user.username)
        assert user.email == f"{user.username}@example.com"
        assert not user.has_usable_password()
    # Unusable passwords differ per user, as Django's set_unusable_password() makes them.
    assert len({user.password for user in users}) == 130


def test_fill_reports_progress_per_chunk(monkeypatch):
    batch = UserBatch.objects.create(total=100)
    seen = []
    original = services._add_chunk

    def add_and_watch(**kwargs):
        added = original(**kwargs)
        seen.append(UserBatch.objects.values_list("created", "progress").get(pk=batch.pk))
        return added

    monkeypatch.setattr(services, "_add_chunk", add_and_watch)
    services.user_batch_fill(batch=batch, chunk_size=30)
    assert seen == [(30, 30), (60, 60), (90, 90), (100, 100)]


def test_running_fill_again_makes_nothing_more():
    batch = UserBatch.objects.create(total=60)
    services.user_batch_fill(batch=batch)
    UserBatch.objects.filter(pk=batch.pk).update(status=JobStatus.RUNNING)  # as if redelivered
    batch.refresh_from_db()
    services.user_batch_fill(batch=batch)
    batch.refresh_from_db()
    assert (batch.status, batch.created, batch.attempts) == ("done", 60, 1)
    assert User.objects.count() == 60


def test_fill_after_a_lost_worker_makes_only_the_missing_users():
    """A worker died after committing some chunks: the next attempt tops up to exactly N."""
    batch = UserBatch.objects.create(total=200, status=JobStatus.RUNNING, attempts=1)
    for _ in range(2):  # the first worker committed two chunks, then died
        services._add_chunk(batch_pk=batch.pk, chunk_size=35)
    first = set(batch.users.values_list("username", flat=True))
    assert len(first) == 70
    batch.refresh_from_db()
    services.user_batch_fill(batch=batch, chunk_size=40)
    batch.refresh_from_db()
    assert (batch.status, batch.created) == ("done", 200)
    assert batch.users.count() == 200
    assert first <= set(batch.users.values_list("username", flat=True))


def test_fill_with_a_time_budget_stops_after_the_chunk_that_passes_it():
    batch = UserBatch.objects.create(total=1000)
    assert services.user_batch_fill(batch=batch, chunk_size=100, seconds=0) is False
    batch.refresh_from_db()
    assert (batch.status, batch.created, batch.progress) == ("running", 100, 10)
    assert services.user_batch_fill(batch=batch, chunk_size=100) is True
    batch.refresh_from_db()
    assert (batch.status, batch.created, batch.attempts) == ("done", 1000, 1)
    assert batch.users.count() == 1000


def test_a_done_or_failed_batch_is_left_alone():
    done = UserBatch.objects.create(total=50, status=JobStatus.DONE)
    failed = UserBatch.objects.create(total=50, status=JobStatus.FAILED)
    for batch in (done, failed):
        services.user_batch_fill(batch=batch)
    assert User.objects.count() == 0


def test_username_collisions_are_retried_until_exactly_n(monkeypatch):
    taken = User.objects.create_user("user_AAAAAAAAAA")
    names = cycle(["user_AAAAAAAAAA", "user_BBBBBBBBBB", "user_BBBBBBBBBB", "user_CCCCCCCCCC"])
    fresh = (f"user_{letter * 10}" for letter in "DEFGHIJKLMNOPQRSTUVWXYZ")

    def colliding_then_fresh(count):
        chosen = [next(names) for _ in range(count)]
        return [name if name != "user_CCCCCCCCCC" else next(fresh) for name in chosen]

    monkeypatch.setattr(services, "random_usernames", colliding_then_fresh)
    batch = UserBatch.objects.create(total=5)
    services.user_batch_fill(batch=batch, chunk_size=4)
    batch.refresh_from_db()
    assert batch.created == 5
    assert batch.users.count() == 5
    taken.refresh_from_db()
    assert taken.batch is None  # the existing account was not touched


def test_random_strings_are_letters_of_the_asked_length_and_all_letters_occur():
    strings = services.random_strings(count=2000, length=10)
    assert len(strings) == 2000
    assert all(re.fullmatch(r"[A-Za-z]{10}", text) for text in strings)
    assert len(set(strings)) == 2000
    assert set("".join(strings)) == set(string.ascii_letters)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_fills_of_one_batch_make_exactly_n():
    """Two workers on the same batch at once (a redelivery racing the first delivery)."""
    batch = UserBatch.objects.create(total=3000)
    start = threading.Barrier(2)
    errors = []

    def fill():
        try:
            start.wait()
            services.user_batch_fill(batch=UserBatch.objects.get(pk=batch.pk), chunk_size=100)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=fill) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    batch.refresh_from_db()
    # One dispatch delivered twice is one attempt, counted once however the two race.
    assert (batch.status, batch.created, batch.attempts) == ("done", 3000, 1)
    assert batch.users.count() == 3000 == User.objects.count()


def test_the_ceiling_purge_deletes_the_oldest_generated_accounts_never_staff():
    old, new = UserBatch.objects.create(total=30), UserBatch.objects.create(total=20)
    for batch in (old, new):
        services.user_batch_fill(batch=batch, chunk_size=10)
    # The old batch's users joined a day earlier, in the order of their ids.
    for offset, user in enumerate(old.users.order_by("id")):
        User.objects.filter(pk=user.pk).update(
            date_joined=user.date_joined - timedelta(days=1, seconds=-offset)
        )
    oldest = list(old.users.order_by("id").values_list("pk", flat=True))
    # The two oldest of all became staff: they are never purged, nor counted.
    User.objects.filter(pk__in=oldest[:2]).update(is_staff=True)
    User.objects.filter(pk=oldest[1]).update(is_staff=False, is_superuser=True)
    unfinished = UserBatch.objects.create(total=100)
    services._add_chunk(batch_pk=unfinished.pk, chunk_size=5)  # being made: not purged

    # 28 + 20 generated accounts: 10 past the ceiling.
    assert services.users_over_ceiling_purge(ceiling=38) == 10

    kept = set(User.objects.values_list("pk", flat=True))
    assert set(oldest[:2]) <= kept  # staff
    assert not set(oldest[2:12]) & kept  # the ten oldest generated accounts
    assert set(oldest[12:]) | set(new.users.values_list("pk", flat=True)) <= kept
    assert unfinished.users.count() == 5
    assert User.objects.generated().exclude(batch=unfinished).count() == 38
    # Under the ceiling there is nothing to do; a ceiling of 0 keeps no generated account.
    assert services.users_over_ceiling_purge(ceiling=38) == 0
    assert services.users_over_ceiling_purge(ceiling=0) == 38
    assert User.objects.count() == 2 + 5

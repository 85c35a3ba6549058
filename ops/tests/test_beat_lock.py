"""Exactly one beat sends: real beat processes on the test database and Redis, and the
scheduler in this process on a Redis of the test's own that the test stops and starts."""

import os
import re
import signal
import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks
from django_celery_results.models import TaskResult

from image_parroter.celery import app as celery_app
from image_parroter.tests.waiting import budget, wait_for
from ops import beat_lock
from ops.schedulers import Scheduler

EVERY_SECOND = "Every second"
TAKEN = re.compile(r"Beat lock taken by (\S+:\d+):")


def schedule_every_second() -> PeriodicTask:
    """A cheap periodic task on a 1 s schedule; each run is recorded as a task result."""
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    return PeriodicTask.objects.create(
        name=EVERY_SECOND, task="ops.run_history_purge", interval=interval
    )


@pytest.fixture
def every_second(transactional_db) -> PeriodicTask:
    return schedule_every_second()


def sends(log) -> int:
    return log.read_text().count(f"Sending due task {EVERY_SECOND} (")


def runs() -> int:
    return TaskResult.objects.filter(periodic_task_name=EVERY_SECOND).count()


def holder_in(log) -> str | None:
    """The `hostname:pid` of the beat that wrote `log`, once it has taken the lock."""
    match = TAKEN.search(log.read_text())
    return match and match[1]


def pid_of(token: str) -> int:
    return int(token.rpartition(":")[2])


def holder_and_waiter(log, other_log):
    """The logs of the beat that took the lock and of the one that waits for it, and the
    holder's `hostname:pid`, once the waiting one has said whom it waits for."""
    assert wait_for(lambda: holder_in(log) or holder_in(other_log), timeout=15), "no holder"
    if not holder_in(log):
        log, other_log = other_log, log
    holder = holder_in(log)
    assert wait_for(lambda: f"Beat lock held by {holder}: " in other_log.read_text(), 15)
    return log, other_log, holder


@pytest.mark.slow
def test_a_second_beat_sends_nothing_while_the_first_lives_and_takes_over_within_30_s(
    every_second, client, beat_factory
):
    with beat_factory() as log, beat_factory() as other_log:
        first_log, second_log, first = holder_and_waiter(log, other_log)
        assert client.get("/health").json()["beat"] == first

        # Both live for 8 s: the first sends every second, the second nothing.
        sent_before, runs_before = sends(first_log), runs()
        time.sleep(budget(8))
        runs_meanwhile, sent = runs() - runs_before, sends(first_log) - sent_before
        assert sends(second_log) == 0
        assert 4 <= sent <= budget(8) + 1
        # No run but the first's (+1: a run of a send made just before the 8 s began).
        assert 1 <= runs_meanwhile <= sent + 1

        os.kill(pid_of(first), signal.SIGKILL)
        killed_at = time.monotonic()
        second = wait_for(lambda: holder_in(second_log), timeout=30, interval=0.2)
        takeover = time.monotonic() - killed_at
        print(f"takeover {takeover:.1f} s after the holder was SIGKILLed")
        assert second and second != first
        assert takeover <= budget(30)
        runs_at_takeover = runs()
        assert wait_for(lambda: runs() >= runs_at_takeover + 2, timeout=15)
        assert sends(second_log) >= 2
        assert client.get("/health").json()["beat"] == second


@pytest.mark.django_db(transaction=True)
def test_a_beat_stopped_cleanly_hands_over_at_once_to_the_one_that_waits_which_sees_the_edits(
    beat_factory,
):
    # The row that tracks schedule edits, as `migrate` leaves it (without it, the
    # DatabaseScheduler does not see the first edit).
    PeriodicTasks.update_changed()
    with beat_factory() as log, beat_factory() as other_log:
        first_log, second_log, first = holder_and_waiter(log, other_log)
        # Made while the second waits (staff in the admin): it sends it once it holds the lock.
        schedule_every_second()

        os.kill(pid_of(first), signal.SIGTERM)
        stopped_at = time.monotonic()
        assert wait_for(lambda: holder_in(second_log), timeout=5, interval=0.1)
        print(f"takeover {time.monotonic() - stopped_at:.1f} s after SIGTERM")
        assert f"Beat lock released by {first}." in first_log.read_text()
        assert wait_for(lambda: sends(second_log), timeout=5)


def run_beat(scheduler: Scheduler, seconds: float) -> None:
    """Beat's loop (celery.beat.Service.start): tick, sleep what the tick says."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(max(0, min(scheduler.tick(), left)))


@pytest.mark.slow
def test_a_beat_whose_renewal_fails_sends_nothing_until_it_holds_the_lock_again(
    every_second, own_redis, settings, sent_tasks, caplog
):
    settings.REDIS_URL, settings.BEAT_LOCK_SECONDS = own_redis.url, 3  # renewed every 1 s
    scheduler = Scheduler(app=celery_app)
    try:
        run_beat(scheduler, 2.5)
        assert len(sent_tasks) >= 2

        own_redis.stop()
        # Its lock has 2 s to run after a renewal that fails: it stops at the first one.
        run_beat(scheduler, 1.2)
        assert "Beat lock lost by" in caplog.text
        sent = len(sent_tasks)
        run_beat(scheduler, 4)
        assert len(sent_tasks) == sent
        assert "Beat lock out of reach" in caplog.text

        own_redis.start()
        run_beat(scheduler, 3)
        assert len(sent_tasks) > sent
        assert beat_lock.holder() == scheduler.beat_lock.token
    finally:
        scheduler.close()
    assert beat_lock.holder() is None  # released by close()


def test_a_tick_held_up_past_the_locks_safe_window_sends_nothing(
    every_second, settings, sent_tasks, monkeypatch
):
    """A tick that takes longer than two renewal intervals (a locked database) may end
    after the lock lapsed and another beat took it: what it was about to send is dropped."""
    settings.BEAT_LOCK_SECONDS = 3  # renewed every 1 s; sure for 2 s
    scheduler = Scheduler(app=celery_app)
    try:
        run_beat(scheduler, 1.5)
        assert sent_tasks
        sent = len(sent_tasks)
        real_schedules_equal = scheduler.schedules_equal

        def held_up(*args):
            time.sleep(2.2)  # more than the 1 s interval: the task is due when it ends
            return real_schedules_equal(*args)

        # Reading the schedule (a tick's first step, from the database) is held up.
        monkeypatch.setattr(scheduler, "schedules_equal", held_up)
        time.sleep(scheduler.beat_lock.seconds_to_renewal())
        scheduler.tick()  # renews the lock, then reads the schedule for 2.2 s
        assert len(sent_tasks) == sent
    finally:
        scheduler.close()

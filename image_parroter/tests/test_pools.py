"""The documented gevent worker (no -c, no prefetch flag) never leaves a ready task waiting,
and CPU work does not stop its event loop (image_parroter/pools.py)."""

import time

import pytest
from celery import chain, group
from django.conf import settings

from image_parroter.celery import app as celery_app
from image_parroter.tests.processes import TEST_TASKS_ARGS
from image_parroter.tests.waiting import budget, wait_for
from ops.tasks import heartbeat_record

pytestmark = pytest.mark.worker

# Its own queue, so that no other test's worker takes these tasks.
QUEUE = "test-pools"
NAP = celery_app.signature("tests.nap", queue=QUEUE)
GRIND = celery_app.signature("tests.grind", queue=QUEUE)
HEARTBEAT = heartbeat_record.si().set(queue=QUEUE)
CHATTER = celery_app.signature("tests.chatter", queue=QUEUE)
HANDLER_LOCKS = celery_app.signature("tests.handler_locks", queue=QUEUE)


@pytest.fixture(scope="module")
def documented_worker(worker_factory):
    """`celery -A image_parroter worker -P gevent`, plus the tests' own tasks and queue."""
    extra_args = [*TEST_TASKS_ARGS, "--queues", QUEUE]
    with worker_factory("gevent", concurrency=None, extra_args=extra_args) as hostname:
        yield hostname


def active_tasks(worker: str, name: str) -> int:
    """How many tasks called `name` the worker runs now."""
    active = celery_app.control.inspect(destination=[worker], timeout=1).active() or {}
    return sum(task["name"] == name for task in active.get(worker, []))


def test_it_has_a_green_pool_and_a_wider_prefetch_window(documented_worker):
    stats = celery_app.control.inspect(destination=[documented_worker], timeout=5).stats()
    worker = stats[documented_worker]
    assert worker["pool"]["max-concurrency"] == settings.GREEN_POOL_CONCURRENCY
    assert worker["prefetch_count"] > worker["pool"]["max-concurrency"]
    # Enough broker connections for every slot to ack at once.
    options = worker["broker"]["transport_options"]
    assert options["max_connections"] >= worker["pool"]["max-concurrency"]


def test_a_chain_of_five_trivial_tasks_never_waits_between_hops(documented_worker):
    # Each hop used to race the previous task's ack; losing cost a 2 s wait for the consumer's
    # poll to time out. Three chains: 15 hops in well under one such wait.
    for _ in range(3):
        started = time.monotonic()
        chain(HEARTBEAT.clone() for _ in range(5)).apply_async().get(timeout=30)
        assert time.monotonic() - started < budget(1.5)


def test_a_full_pool_takes_the_next_task_as_soon_as_a_slot_frees(documented_worker):
    # Two pool-fulls of 0.3 s naps: 0.6 s of waiting, and the second starts as the first
    # ends. With the prefetch window no wider than the pool, the second waited 2 s in Redis.
    started = time.monotonic()
    group(NAP.clone(args=(0.3,)) for _ in range(2 * settings.GREEN_POOL_CONCURRENCY))().get(
        timeout=30
    )
    assert time.monotonic() - started < budget(1.8)


def test_cpu_work_leaves_the_event_loop_free(documented_worker):
    # Two tasks keep two real threads busy with Pillow for 3 s; meanwhile a heartbeat task
    # comes back at once. Run on the loop itself, the grind would hold it for the 3 s.
    grinding = group(GRIND.clone(args=(3.0,)) for _ in range(2))()
    assert wait_for(lambda: active_tasks(documented_worker, "tests.grind") == 2, timeout=3)
    round_trips = []
    for _ in range(5):
        started = time.monotonic()
        HEARTBEAT.clone().delay().get(timeout=30)
        round_trips.append(time.monotonic() - started)
        time.sleep(0.1)
    assert not grinding.ready()  # still grinding all along
    assert max(round_trips) < budget(1.0), round_trips
    assert all(rounds > 0 for rounds in grinding.get(timeout=30))


def test_cpu_threads_and_the_loop_log_at_once_without_hanging(documented_worker):
    """Every log handler has a real thread lock (pools.native_logging_locks): a green one,
    waited on by a CPU thread while the loop held it, could leave that thread asleep for good
    (a chord's image task hung so, in a log line, with every SQL statement logged)."""
    locks = HANDLER_LOCKS.clone().delay().get(timeout=30)
    assert locks and set(locks) == {"_thread.RLock"}, locks
    # Two threads and many greenlets (each task's own log lines) write at once.
    chatty = group(CHATTER.clone(args=(2000,)) for _ in range(8))()
    assert chatty.get(timeout=budget(30)) == [2000] * 8

"""Round trips through the real Redis and real worker processes."""

import time

import pytest

from image_parroter.celery import app as celery_app
from ops import heartbeat


@pytest.mark.worker
@pytest.mark.parametrize("pool", ["gevent", "prefork", "threads"])
def test_task_round_trip_through_redis_and_a_worker(worker_factory, pool):
    with worker_factory(pool) as hostname:
        sent_at = time.time()
        result = celery_app.send_task("ops.heartbeat_record")
        tick = result.get(timeout=30)
        assert result.successful()
        assert tick >= sent_at
        assert heartbeat.seconds_since_tick() < 30  # the worker wrote it to Redis
        stats = celery_app.control.inspect(destination=[hostname], timeout=5).stats()
        module = {"gevent": "gevent", "prefork": "prefork", "threads": "thread"}[pool]
        assert stats[hostname]["pool"]["implementation"].startswith(f"celery.concurrency.{module}:")

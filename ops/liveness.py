"""How the sweep tells a lost job from one that is waiting or working.

A job is alive while any of these holds, and lost when none does:

- a lease: every worker process renews, every JOB_LEASE_SECONDS / 3, a key in Redis for each
  job it has a task of in hand (running, or waiting for a CPU thread). A worker that dies
  stops renewing, and its leases expire after JOB_LEASE_SECONDS;
- one of the job's messages waits in a queue (a backlog is not a loss);
- one of its messages was taken by a worker less than JOB_LEASE_SECONDS ago (reserved, about
  to start).

Task ids start with their job's id (ops.dispatch.task_id), which is how a lease, a message
and a job are matched. `take_lease` and `put_down` are connected to Celery's signals in
image_parroter/celery.py.
"""

import json
import logging
import threading
import time
from collections import Counter

from django.conf import settings
from kombu.transport.redis import Channel as RedisChannel
from redis import RedisError

from . import redis_client
from .dispatch import job_id_of

logger = logging.getLogger(__name__)

# Kombu's Redis layout, read from kombu itself so that an upgrade that changed it cannot
# blind the sweep and /metrics (ops/tests/test_liveness.py checks it against kombu's own
# writes): the hash of messages workers hold unacknowledged and the index of when each was
# taken, and the separator and steps of the lists that keep a queue's prioritised messages
# beside its own (`<queue><sep><step>`; a message without a priority goes to the queue's own).
UNACKED, UNACKED_INDEX = RedisChannel.unacked_key, RedisChannel.unacked_index_key


def queue_keys(queue: str) -> list[str]:
    """The Redis lists a queue's waiting messages are in (kombu's Channel._q_for_pri)."""
    names = [
        f"{queue}{RedisChannel.sep}{step}" if step else queue
        for step in RedisChannel.priority_steps
    ]
    return [f"{settings.REDIS_KEY_PREFIX}{name}" for name in names]


def redelivered(task) -> bool:
    """Whether the running task's message was given back by a worker that died holding it
    (a prefork child killed, or a whole worker after the visibility timeout). Read it on the
    event loop: Celery keeps a task's request per thread."""
    return bool((task.request.delivery_info or {}).get("redelivered"))


def _lease_key(job_id: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}lease:{job_id}"


# The jobs this process has tasks of in hand, and how many of each.
_in_hand: Counter = Counter()
_renewer_started = threading.Event()


def _renew(job_ids) -> None:
    try:
        with redis_client.client().pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.set(_lease_key(job_id), 1, ex=settings.JOB_LEASE_SECONDS)
            pipe.execute()
    except (RedisError, OSError) as exc:  # Redis is away: the leases lapse, as they should
        logger.warning("could not renew job leases: %s", exc)


def _renew_forever() -> None:
    while True:
        time.sleep(settings.JOB_LEASE_SECONDS / 3)
        _renew(list(_in_hand))


def take_lease(task_id=None, **_) -> None:
    """Before a task runs (task_prerun): this process holds a task of its job."""
    # A thread under prefork and the threads pool, a greenlet under gevent (patched).
    if not _renewer_started.is_set():
        _renewer_started.set()
        threading.Thread(target=_renew_forever, name="job-leases", daemon=True).start()
    if job_id := job_id_of(task_id):
        _in_hand[job_id] += 1
        if _in_hand[job_id] == 1:  # else its lease is held and renewed already
            _renew([job_id])


def put_down(task_id=None, **_) -> None:
    """After a task ran (task_postrun)."""
    # The lease itself is left to expire: another process may hold a task of the same job.
    if (job_id := job_id_of(task_id)) in _in_hand:
        _in_hand[job_id] -= 1
        if not _in_hand[job_id]:
            del _in_hand[job_id]


def _job_ids_in(raw_messages, unwrap=lambda message: message) -> set[str]:
    job_ids = set()
    for raw in raw_messages:
        if raw is not None:
            job_ids.add(job_id_of(unwrap(json.loads(raw)).get("headers", {}).get("id")))
    return job_ids


def alive(job_ids: list[str]) -> set[str]:
    """Those of `job_ids` with a live lease or a message in the broker (see above)."""
    if not job_ids:
        return set()
    client, prefix = redis_client.client(), settings.REDIS_KEY_PREFIX
    leases = client.mget([_lease_key(job_id) for job_id in job_ids])
    found = {job_id for job_id, lease in zip(job_ids, leases, strict=True) if lease}
    # Every declared queue: a job's tasks may wait in `thumbnails` or `default`.
    for queue in settings.CELERY_TASK_QUEUES:
        for key in queue_keys(queue.name):
            found |= _job_ids_in(client.lrange(key, 0, -1))
    since = time.time() - settings.JOB_LEASE_SECONDS
    tags = client.zrangebyscore(f"{prefix}{UNACKED_INDEX}", since, "+inf")
    if tags:
        # Each entry is [message, exchange, routing key].
        taken = client.hmget(f"{prefix}{UNACKED}", tags)
        found |= _job_ids_in(taken, unwrap=lambda entry: entry[0])
    return found & set(job_ids)

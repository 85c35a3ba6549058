"""What to scale on, for Prometheus (GET /metrics): read from Redis and the database at each
scrape, by a custom collector and no counters in the process, so that every web process
(gunicorn runs several) gives the same answer.

A queue's oldest message is the last of its list (kombu LPUSHes new messages and workers
BRPOP from the other end); its age comes from the `sent_at` header `stamp_sent_at` puts on
every task message as it is published (connected in image_parroter/celery.py)."""

import json
import time

from django.conf import settings
from django.db.models import Count
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from . import heartbeat, redis_client
from .liveness import UNACKED, queue_keys

PREFIX = "image_parroter_"
SENT_AT = "sent_at"


def stamp_sent_at(headers=None, **_) -> None:
    """Before a task message is published (before_task_publish): when it was sent."""
    if headers is not None:
        headers[SENT_AT] = time.time()


def _sent_at(raw: bytes | None) -> float | None:
    if raw is None:
        return None
    return json.loads(raw).get("headers", {}).get(SENT_AT)


def _queues(names: list[str]) -> tuple[dict[str, int], dict[str, float], int]:
    """Per queue, the messages waiting and the age of the oldest; and the messages workers
    hold unacknowledged. One round trip: LLEN and LINDEX are O(1) at a list's ends."""
    with redis_client.client().pipeline(transaction=False) as pipe:
        for name in names:
            for key in queue_keys(name):
                pipe.llen(key)
                pipe.lindex(key, -1)
        pipe.hlen(f"{settings.REDIS_KEY_PREFIX}{UNACKED}")
        *replies, unacked = pipe.execute()
    now, replies = time.time(), iter(replies)
    depth, oldest_age = {}, {}
    for name in names:
        # For each list of the queue, in the order asked: its length, then its last message.
        ends = [(next(replies), _sent_at(next(replies))) for _ in queue_keys(name)]
        depth[name] = sum(length for length, _ in ends)
        sent = [stamp for _, stamp in ends if stamp is not None]
        oldest_age[name] = max(0.0, now - min(sent)) if sent else 0.0
    return depth, oldest_age, unacked


def _jobs_by_status():
    # Imported here: the Celery app, made before Django's models, loads this module.
    from .models import JobStatus
    from .services import job_models

    for model in job_models():
        counts = dict.fromkeys(JobStatus.values, 0)
        for row in model.objects.order_by().values("status").annotate(n=Count("pk")):
            counts[row["status"]] = row["n"]
        yield model._meta.label_lower, counts


class StateCollector(Collector):
    """The queues, the workers, beat and the jobs, as they are at this scrape."""

    def collect(self):
        # image_parroter_info{redis_key_prefix=...} 1: the prefix of every key, so that an
        # operator can read the queues' full names (KEDA's listName) off a scrape.
        yield InfoMetricFamily(
            PREFIX.rstrip("_"),
            "This installation: the prefix of its keys in Redis.",
            value={"redis_key_prefix": settings.REDIS_KEY_PREFIX},
        )
        names = [queue.name for queue in settings.CELERY_TASK_QUEUES]
        depth, oldest_age, unacked = _queues(names)
        queue_depth = GaugeMetricFamily(
            f"{PREFIX}queue_depth", "Messages waiting in the queue.", labels=["queue"]
        )
        queue_age = GaugeMetricFamily(
            f"{PREFIX}queue_oldest_age_seconds",
            "Seconds since the queue's oldest waiting message was sent (0 when empty).",
            labels=["queue"],
        )
        for name in names:
            queue_depth.add_metric([name], depth[name])
            queue_age.add_metric([name], oldest_age[name])
        yield queue_depth
        yield queue_age
        yield GaugeMetricFamily(
            f"{PREFIX}messages_unacked",
            "Messages workers have taken and not yet acknowledged (running or reserved).",
            value=unacked,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}workers_seen",
            f"Workers whose heartbeat reached Redis in the last {heartbeat.WORKER_SEEN_SECONDS} s.",
            value=len(heartbeat.workers_seen()),
        )
        since_tick = heartbeat.seconds_since_tick()
        yield GaugeMetricFamily(
            f"{PREFIX}beat_seconds_since_tick",
            "Seconds since beat's last heartbeat was run (+Inf: never).",
            value=float("inf") if since_tick is None else since_tick,
        )
        jobs = GaugeMetricFamily(
            f"{PREFIX}jobs", "Background jobs by kind and status.", labels=["kind", "status"]
        )
        for kind, counts in _jobs_by_status():
            for status, count in counts.items():
                jobs.add_metric([kind, status], count)
        yield jobs


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(StateCollector())


def scrape() -> bytes:
    """The metrics in Prometheus's text format."""
    return generate_latest(REGISTRY)

from celery import shared_task

from . import heartbeat as heartbeat_store


@shared_task(name="ops.heartbeat", ignore_result=False)
def heartbeat() -> float:
    """Record that beat (or whoever sent this) reached a worker; returns the tick's time."""
    return heartbeat_store.record_tick()

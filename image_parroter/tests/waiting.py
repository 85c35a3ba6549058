"""Waiting in tests: one poller with a deadline, and every time bound scaled in one place.

A slow machine (a loaded CI runner) sets TEST_TIME_SCALE=2 or 3; every deadline and every
wall-clock bound a test asserts goes through budget(), so one factor stretches them all."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ops.models import BackgroundJob


def time_scale() -> float:
    """TEST_TIME_SCALE from the environment (default 1), read at each call."""
    return float(os.environ.get("TEST_TIME_SCALE") or 1)


def budget(seconds: float) -> float:
    """`seconds` on this machine: a bound or a deadline, times TEST_TIME_SCALE."""
    return seconds * time_scale()


def wait_for(condition, timeout: float, interval: float = 0.1):
    """Poll `condition()` until it returns something truthy, for at most budget(timeout)
    seconds; that value, or None at the deadline (the caller asserts what it waited for)."""
    deadline = time.monotonic() + budget(timeout)
    while True:
        if value := condition():
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


def finished(job: BackgroundJob) -> BackgroundJob | None:
    """The job's row read again, if it is final (done, failed or cancelled); else None."""
    job.refresh_from_db()
    return job if job.is_final else None


def wait_until_final(job: BackgroundJob, timeout: float = 60) -> BackgroundJob:
    """The job (a thumbnail job or a user batch), read again once it is final; the test fails
    if it is not within budget(timeout) seconds."""
    if wait_for(lambda: finished(job), timeout) is None:
        pytest.fail(
            f"{type(job).__name__} {job.pk} still {job.status} at {job.progress}% "
            f"after {budget(timeout):.0f} s"
        )
    return job


def lost_to_the_sweep(job: BackgroundJob, lease_seconds: float) -> bool:
    """Whether the sweep (with that lease) would call the job lost now: its row untouched for
    the lease, and no lease, message or taken message of it in the broker (settings.REDIS_URL)."""
    from django.utils import timezone

    from ops import liveness

    since = timezone.now() - timedelta(seconds=lease_seconds)
    untouched = type(job).objects.filter(pk=job.pk, updated_at__lt=since).exists()
    return untouched and not liveness.alive([str(job.pk)])

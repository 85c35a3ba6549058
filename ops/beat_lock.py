"""Exactly one beat sends: the one that holds a lock in Redis (redis-py's Lock; its value the
holder's `hostname:pid`, its TTL BEAT_LOCK_SECONDS), renewed every third of that. Another beat
waits, trying every BEAT_LOCK_RETRY_SECONDS, and takes over once the lock lapses or is released.
ops/schedulers.py asks at every tick."""

import logging
import os
import socket
import time

from django.conf import settings

from . import redis_client

logger = logging.getLogger(__name__)


def key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}beat:lock"


def holder() -> str | None:
    """The `hostname:pid` of the beat that holds the lock, or None."""
    value = redis_client.client().get(key())
    return None if value is None else value.decode()


class BeatLock:
    """The lock as one beat sees it: held from a take or renewal that succeeded until a
    renewal fails. So a beat cut off from Redis stops sending at its next renewal, when its
    lock has about two thirds of its TTL still to run: before another beat can take it."""

    def __init__(self):
        self.token = f"{socket.gethostname()}:{os.getpid()}"
        self.lock = redis_client.client().lock(
            key(), timeout=settings.BEAT_LOCK_SECONDS, blocking=False, thread_local=False
        )
        # When (time.monotonic()) the last take or renewal that succeeded was sent; None
        # while this beat does not hold the lock.
        self.renewed_at: float | None = None
        # What the last "waits" line said, so that a waiting beat logs each change once.
        self.waiting_on: str | None = None

    def renewal_interval(self) -> float:
        return settings.BEAT_LOCK_SECONDS / 3

    def hold(self) -> bool:
        """Whether this beat holds the lock now; takes it when free, renews it when due."""
        now = time.monotonic()
        if self.renewed_at is not None and now - self.renewed_at < self.renewal_interval():
            return True
        try:
            current = self._take_or_renew()
        except redis_client.ERRORS as exc:  # LockNotOwnedError too: it lapsed meanwhile
            current, situation = None, f"out of reach ({exc})"
        else:
            situation = f"held by {current}" if current else "free again"
        if current == self.token:
            if self.renewed_at is None:
                logger.info("Beat lock taken by %s: this beat sends the schedule.", self.token)
            self.renewed_at, self.waiting_on = now, None
            return True
        if self.renewed_at is not None:
            logger.warning(
                "Beat lock lost by %s, %s: it sends nothing until it holds the lock again.",
                self.token,
                situation,
            )
            self.renewed_at = None
        self._log_waiting(situation)
        return False

    def _take_or_renew(self) -> str | None:
        """Take the lock if it is free, set its TTL afresh if it is ours; who holds it."""
        if self.lock.acquire(token=self.token):
            return self.token
        current = holder()
        if current == self.token:
            self.lock.reacquire()  # raises LockNotOwnedError if it lapsed since the GET
        return current

    def _log_waiting(self, situation: str) -> None:
        if situation != self.waiting_on:
            self.waiting_on = situation
            logger.warning(
                "Beat lock %s: %s waits and sends nothing (trying every %s s).",
                situation,
                self.token,
                settings.BEAT_LOCK_RETRY_SECONDS,
            )

    def seconds_to_renewal(self) -> float:
        return max(0.0, self.renewed_at + self.renewal_interval() - time.monotonic())

    def sure(self) -> bool:
        """Whether the lock is surely still this beat's, with a renewal interval to spare
        for a message in hand to reach Redis: renewed less than two intervals ago. False
        after a tick that took too long (a database that kept beat waiting)."""
        return (
            self.renewed_at is not None
            and time.monotonic() - self.renewed_at < 2 * self.renewal_interval()
        )

    def release(self) -> None:
        """On a clean shutdown: the lock is free at once, for a beat that waits or restarts."""
        if self.renewed_at is None:
            return
        self.renewed_at = None
        try:
            self.lock.release()
        except redis_client.ERRORS as exc:
            logger.warning("Beat lock not released by %s (%s): it lapses.", self.token, exc)
        else:
            logger.info("Beat lock released by %s.", self.token)

"""Beat's scheduler: django-celery-beat's DatabaseScheduler, sending only while it holds the
beat lock, and less the one schedule it adds by itself."""

import logging

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from .beat_lock import BeatLock

logger = logging.getLogger(__name__)


class Scheduler(DatabaseScheduler):
    """One beat sends, others wait (ops/beat_lock.py): a tick of a beat that does not hold
    the lock sends nothing and sleeps BEAT_LOCK_RETRY_SECONDS; the holder sleeps no longer
    than its next renewal, and frees the lock when it closes (a clean shutdown)."""

    def __init__(self, *args, **kwargs):
        self.beat_lock = BeatLock()
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        if not self.beat_lock.hold():
            return settings.BEAT_LOCK_RETRY_SECONDS
        return min(super().tick(*args, **kwargs), self.beat_lock.seconds_to_renewal())

    def apply_entry(self, entry, producer=None):
        # A tick held up (a locked database) may end after the lock could have lapsed.
        if self.beat_lock.sure():
            super().apply_entry(entry, producer=producer)
        else:
            logger.warning("Not sending %s: the beat lock may have lapsed meanwhile.", entry.name)

    def close(self):
        try:
            super().close()
        finally:
            self.beat_lock.release()

    def install_default_entries(self, data):
        """The DatabaseScheduler adds `celery.backend_cleanup` (daily, 04:00) whenever results
        expire. It has nothing to do here: Redis expires results by itself, and the periodic
        runs kept in the database are trimmed by `ops.run_history_purge`. So staff see only
        the project's own schedules (ops/schedules.py)."""

"""Beat's scheduler: django-celery-beat's DatabaseScheduler, less the one schedule it adds by
itself."""

from django_celery_beat.schedulers import DatabaseScheduler


class Scheduler(DatabaseScheduler):
    """The DatabaseScheduler adds `celery.backend_cleanup` (daily, 04:00) whenever results
    expire. It has nothing to do here: Redis expires results by itself, and the periodic runs
    kept in the database are trimmed by `ops.run_history_purge`. So staff see only the
    project's own schedules (the README's table)."""

    def install_default_entries(self, data):
        pass

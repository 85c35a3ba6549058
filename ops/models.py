"""What every background job has in common: a status a person can watch, and a way to
be (re-)dispatched to the workers."""

import uuid
from datetime import timedelta

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


FINAL_STATUSES = (JobStatus.DONE, JobStatus.FAILED)


class JobQuerySet(models.QuerySet):
    def unfinished(self):
        return self.exclude(status__in=FINAL_STATUSES)

    def stalled(self, *, older_than: timedelta):
        """Jobs nobody has touched for `older_than`: their enqueue or their worker was lost."""
        return self.unfinished().filter(updated_at__lt=timezone.now() - older_than)


class BackgroundJob(models.Model):
    """A unit of work a worker does for a person, watched through its status and progress.

    State changes are single UPDATE statements on the row, so tasks running side by side
    (a chord's members, a redelivered copy) never overwrite each other's fields.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField("progress (%)", default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    # The sweep fails a stalled job that has had this many attempts.
    max_attempts = 3

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def state_token(self) -> str:
        """What a page showing this job has seen; it changes whenever the page would."""
        return f"{self.status}-{self.progress}"

    def dispatch(self) -> None:
        """Send the work to the workers now. Each job kind says how."""
        raise NotImplementedError

    def enqueue(self) -> None:
        """Dispatch once the surrounding transaction commits, so the task finds its row."""
        transaction.on_commit(self.dispatch)

    def _update(self, **fields) -> None:
        fields.setdefault("updated_at", timezone.now())
        type(self).objects.filter(pk=self.pk).update(**fields)
        self.refresh_from_db()

    def mark_running(self) -> None:
        """A worker starts the job. Taking it out of `queued` is one more attempt; a task that
        goes on with a job already running (a retry, a continuation, a redelivery) is the same
        attempt, and the sweep puts a stalled job back in `queued` before sending it again."""
        # Conditional single statements: of two deliveries racing to start the job only one
        # counts, and a job that ended meanwhile stays ended.
        job = type(self).objects.filter(pk=self.pk)
        running = {"status": JobStatus.RUNNING, "updated_at": timezone.now()}
        if not job.filter(status=JobStatus.QUEUED).update(attempts=F("attempts") + 1, **running):
            job.unfinished().update(**running)
        self.refresh_from_db()

    def mark_done(self) -> None:
        self._update(status=JobStatus.DONE, progress=100, error="", finished_at=timezone.now())

    def mark_failed(self, reason: str) -> None:
        self._update(status=JobStatus.FAILED, error=reason, finished_at=timezone.now())

    def redispatch_stalled(self) -> str | None:
        """Send a stalled job to the workers again, or fail it once it has had max_attempts.

        Returns the new status (`queued`: sent again, `failed`: given up), or None when another
        sweep or the worker changed the row first. An attempt that never started (the job is still
        `queued`) is counted here; one that started was counted by mark_running. The job goes
        back to `queued`, so a re-dispatch that is lost too is counted on the next sweep.
        The UPDATE only matches the row as this sweep read it, so when two sweeps run at once
        (or the worker moved on meanwhile) only one of them acts.
        """
        attempts = self.attempts + (self.status == JobStatus.QUEUED)
        now = timezone.now()
        claim = type(self).objects.filter(
            pk=self.pk, status=self.status, updated_at=self.updated_at
        )
        if attempts >= self.max_attempts:
            reason = (
                f"Gave up after {attempts} attempts: the job stopped making progress each time "
                "(its worker stopped or its message was lost). Please try again."
            )
            fields = {"status": JobStatus.FAILED, "error": reason, "finished_at": now}
        else:
            fields = {"status": JobStatus.QUEUED, "progress": 0}
        if not claim.update(attempts=attempts, updated_at=now, **fields):
            return None
        self.refresh_from_db()
        if self.status == JobStatus.QUEUED:
            self.dispatch()
        return self.status


class DailySummary(models.Model):
    """What one day saw, recorded by the daily summary task and shown on the home page."""

    day = models.DateField(unique=True)
    users = models.PositiveIntegerField("new users")
    jobs = models.PositiveIntegerField("jobs made")
    failures = models.PositiveIntegerField("jobs failed")
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day"]
        verbose_name_plural = "daily summaries"

    def __str__(self) -> str:
        return f"{self.day}: {self.users} users, {self.jobs} jobs, {self.failures} failures"

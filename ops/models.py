"""What every background job has in common: a status a person can watch, changed by single
UPDATE statements. Sending work to the workers is ops.dispatch's."""

import uuid
from datetime import timedelta

from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from . import reasons


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


FINAL_STATUSES = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


class JobQuerySet(models.QuerySet):
    def unfinished(self):
        return self.exclude(status__in=FINAL_STATUSES)

    def owned_by(self, token: str):
        """The jobs of the session whose owner token this is (ops.owners); none for no token."""
        return self.filter(owner=token) if token else self.none()

    def maybe_lost(self, *, for_: timedelta):
        """Unfinished jobs whose row nobody has changed for `for_`: waiting, or lost (the
        sweep asks ops.liveness which)."""
        return self.unfinished().filter(updated_at__lt=timezone.now() - for_)


class BackgroundJob(models.Model):
    """A unit of work a worker does for a person, watched through its status and progress.

    State changes are single UPDATE statements on the row, so tasks running side by side
    (a chord's members, a redelivered copy) never overwrite each other's fields.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=JobStatus.choices,
        default=JobStatus.QUEUED,
        db_index=True,
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    # Why it failed, in English (for the admin, the logs, the shell's command), and the same
    # reason as sentences (ops.reasons) to show each reader in their own language.
    error = models.TextField(_("error"), blank=True)
    error_reason = models.JSONField(_("error reason"), default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Whose it is: the owner token of the browser session that asked for it (ops.owners),
    # which alone may cancel, retry or share it; empty for work asked for from the shell.
    # Staff never see it (not editable: no admin form shows it).
    owner = models.CharField(_("owner"), max_length=64, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = JobQuerySet.as_manager()

    # The sweep fails a lost job that has had this many attempts.
    max_attempts = 3
    # The registered name of the task that works on a job of this kind (ops.dispatch sends it
    # the job's id).
    task_name: str

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def error_message(self) -> str:
        """Why it failed, in the current language."""
        return reasons.shown(self.error_reason) if self.error_reason else self.error

    @property
    def state_token(self) -> str:
        """What a page showing this job has seen; it changes whenever the page would."""
        return f"{self.status}-{self.progress}"

    def _update(self, **fields) -> bool:
        """Change an unfinished job (one that was cancelled meanwhile stays cancelled)."""
        fields.setdefault("updated_at", timezone.now())
        changed = type(self).objects.filter(pk=self.pk).unfinished().update(**fields)
        self.refresh_from_db()
        return bool(changed)

    def mark_running(self, *, redelivered: bool = False) -> bool:
        """A worker starts the job; False if it must not (it ended, or it was given up).

        Taking it out of `queued` is one more attempt; a task that goes on with a job already
        running (a retry, a continuation, another image of it) is the same attempt, unless
        its message was `redelivered`: its worker died holding it, as a job that kills its
        worker makes it do. After max_attempts runs lost that way, the job fails instead of
        killing the next worker too."""
        # Conditional single statements: of two deliveries racing to start the job only one
        # counts, and a job that ended meanwhile stays ended.
        job = type(self).objects.filter(pk=self.pk)
        running = {"status": JobStatus.RUNNING, "updated_at": timezone.now()}
        if not job.filter(status=JobStatus.QUEUED).update(attempts=F("attempts") + 1, **running):
            again = {"attempts": F("attempts") + 1} if redelivered else {}
            job.unfinished().update(**running, **again)
        self.refresh_from_db()
        if self.status == JobStatus.RUNNING and self.attempts > self.max_attempts:
            self.mark_failed(self.lost_runs_reason(self.attempts - 1))
        return self.status == JobStatus.RUNNING

    def lost_runs_reason(self, runs: int) -> reasons.Reason:
        return [
            reasons.because(
                gettext_noop(
                    "Gave up after %(runs)s attempts: each time, the worker making it stopped "
                    "before it was done."
                ),
                runs=runs,
            ),
            reasons.because(gettext_noop("It may need more memory than this server allows.")),
        ]

    def mark_done(self) -> None:
        self._update(
            status=JobStatus.DONE,
            progress=100,
            error="",
            error_reason=[],
            finished_at=timezone.now(),
        )

    def mark_failed(self, reason: reasons.Reason) -> None:
        self._update(status=JobStatus.FAILED, **failed_because(reason), finished_at=timezone.now())

    def cancel(self) -> bool:
        """Stop a queued or running job, for its owner; False if it had ended already. Its
        tasks find it final and stop (or, finishing, keep nothing)."""
        return self._update(
            status=JobStatus.CANCELLED, error="", error_reason=[], finished_at=timezone.now()
        )

    def claim_lost(self) -> str | None:
        """Take a lost job (ops.liveness) back to `queued`, for the sweep to send again, or fail
        it once max_attempts runs of it were lost, as when it kills its worker every time.

        Returns the new status, or None when another sweep or a worker changed the row first:
        the UPDATE only matches the row as this sweep read it. Only runs count as attempts
        (mark_running counts them); a message lost before any worker took it (Redis was down)
        is simply sent again.
        """
        now = timezone.now()
        claim = type(self).objects.filter(
            pk=self.pk, status=self.status, updated_at=self.updated_at
        )
        if self.attempts >= self.max_attempts:
            reason = self.lost_runs_reason(self.attempts)
            fields = {"status": JobStatus.FAILED, **failed_because(reason), "finished_at": now}
        else:
            fields = {"status": JobStatus.QUEUED}
        if not claim.update(updated_at=now, **fields):
            return None
        self.refresh_from_db()
        return self.status


def failed_because(reason: reasons.Reason) -> dict:
    """The fields of a failed job that say why."""
    return {"error": reasons.in_english(reason), "error_reason": reason}


class DailySummary(models.Model):
    """What one day saw, recorded by the daily summary task and shown on the home page."""

    day = models.DateField(_("day"), unique=True)
    users = models.PositiveIntegerField(_("new users"))
    jobs = models.PositiveIntegerField(_("jobs made"))
    failures = models.PositiveIntegerField(_("jobs failed"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("daily summary")
        verbose_name_plural = _("daily summaries")

    def __str__(self) -> str:
        return f"{self.day}: {self.users} users, {self.jobs} jobs, {self.failures} failures"

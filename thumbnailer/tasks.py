"""Thin tasks, each named after the service it calls: load the rows by primary key, call the
service, return a small JSON value.

Their blocking work (the database, the storage, Pillow) runs off a gevent worker's event loop
(`off_loop`, `run_off_loop`: image_parroter/pools.py); publishing stays on the loop."""

from celery import chord, shared_task

from image_parroter.pools import off_loop, run_off_loop
from ops.dispatch import task_id
from ops.liveness import redelivered
from ops.tasks import JobTask

from . import services
from .models import JobImage, ThumbnailJob


class ThumbnailJobTask(JobTask):
    # Object storage's lost connections too (boto3's own classes).
    autoretry_for = (*JobTask.autoretry_for, *services.STORAGE_CONNECTION_ERRORS)

    def fail_job(self, job_id: str, exc: Exception) -> None:
        """A task of the job failed for good (a crash, retries spent)."""
        job = ThumbnailJob.objects.filter(pk=job_id).first()
        if job is not None and not job.is_final:
            unreachable = isinstance(exc, services.STORAGE_CONNECTION_ERRORS)
            reason = services.STORAGE_UNREACHABLE if unreachable else services.INTERNAL_ERROR
            services.job_fail(job=job, reason=reason)


# Nobody reads a job task's return value (the job's row says how it went), so none is stored.
# A chord's members store theirs all the same: Celery's group subscribes, in the worker that
# sends the chord, to each member's result, and lets go only when that result is published.
@shared_task(bind=True, base=ThumbnailJobTask, name="thumbnailer.job_run", ignore_result=True)
def job_run(self, job_id: str) -> None:
    """A job's one entry point (ops.dispatch.send): a single image still to make is made here,
    thumbnails and archive; several become a chord of one task per image, whose callback
    builds the archive. Safe to run again: finished images are skipped, one archive is kept."""
    job, pending = run_off_loop(_job_and_pending_images, job_id)
    if job is None:  # purged, or finished meanwhile
        return
    if len(pending) > 1:  # published here, on the event loop
        images = [image_thumbnails_make.si(pk).set(task_id=task_id(job)) for pk in pending]
        chord(images, job_archive_build.si(job_id).set(task_id=task_id(job))).delay()
    else:
        run_off_loop(services.job_run, job=job, redelivered=redelivered(self))


def _job_and_pending_images(job_id: str) -> tuple[ThumbnailJob | None, list[int]]:
    job = ThumbnailJob.objects.filter(pk=job_id).first()
    if job is None or job.is_final:
        return None, []
    return job, list(job.images.filter(done=False).values_list("pk", flat=True))


@shared_task(bind=True, base=ThumbnailJobTask, name="thumbnailer.image_thumbnails_make")
def image_thumbnails_make(self, image_id: int) -> bool:
    """One image of a chord."""
    return run_off_loop(_image_thumbnails_make, image_id, was_redelivered=redelivered(self))


def _image_thumbnails_make(image_id: int, *, was_redelivered: bool) -> bool:
    image = JobImage.objects.select_related("job").filter(pk=image_id).first()
    if image is None:
        return False
    services.image_thumbnails_make(image=image, redelivered=was_redelivered)
    return True


@shared_task(base=ThumbnailJobTask, name="thumbnailer.job_archive_build", ignore_result=True)
@off_loop
def job_archive_build(job_id: str) -> str | None:
    """A chord's callback."""
    job = ThumbnailJob.objects.filter(pk=job_id).first()
    if job is None:
        return None
    services.job_archive_build(job=job)
    return job.status


@shared_task(name="thumbnailer.jobs_purge_expired")
@off_loop
def jobs_purge_expired() -> dict:
    return {"deleted": services.jobs_purge_expired()}

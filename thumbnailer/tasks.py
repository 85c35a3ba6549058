"""Thin tasks: load the row by primary key, call the service, return a small JSON value.

Each body runs off a gevent worker's event loop (`off_loop`): it only uses the database,
the storage and Pillow."""

from celery import shared_task
from django.db import OperationalError

from image_parroter.pools import off_loop

from . import services
from .models import JobImage, ThumbnailJob

# A locked SQLite database, a lost database or storage connection: worth another try.
TRANSIENT_ERRORS = (OperationalError, ConnectionError, TimeoutError)
RETRY = {"autoretry_for": TRANSIENT_ERRORS, "retry_backoff": True, "max_retries": 5}


# Nobody reads a job task's return value (the job's row says how it went), so none is
# stored; a chord's members must store theirs, for the chord to know when they are all done.
@shared_task(name="thumbnailer.run_job", ignore_result=True, **RETRY)
@off_loop
def run_job(job_id: str) -> str | None:
    """A whole job in one task: its thumbnails, then its archive."""
    job = ThumbnailJob.objects.filter(pk=job_id).first()
    if job is None:  # purged meanwhile
        return None
    services.job_run(job=job)
    return job.status


@shared_task(name="thumbnailer.make_image_thumbnails", **RETRY)
@off_loop
def make_image_thumbnails(image_id: int) -> bool:
    """One image of a chord."""
    image = JobImage.objects.select_related("job").filter(pk=image_id).first()
    if image is None:
        return False
    services.image_thumbnails_make(image=image)
    return True


@shared_task(name="thumbnailer.build_archive", ignore_result=True, **RETRY)
@off_loop
def build_archive(job_id: str) -> str | None:
    job = ThumbnailJob.objects.filter(pk=job_id).first()
    if job is None:
        return None
    services.job_archive_build(job=job)
    return job.status


@shared_task(name="thumbnailer.fail_job", ignore_result=True, **RETRY)
@off_loop
def fail_job(job_id: str) -> str | None:
    """The chord's error callback: an image task failed for good (a crash, retries spent)."""
    job = ThumbnailJob.objects.filter(pk=job_id).first()
    if job is None or job.is_final:
        return None
    services.job_fail(job=job, reason=services.INTERNAL_ERROR)
    return job.status


@shared_task(name="thumbnailer.purge_expired_jobs")
@off_loop
def purge_expired_jobs() -> dict:
    return {"deleted": services.jobs_purge_expired()}

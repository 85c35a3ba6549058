"""Thin tasks: load the row by primary key, call the service, return a small JSON value.

Their bodies run off a gevent worker's event loop (`off_loop`, `run_off_loop`): the database,
the storage and Pillow there; publishing on the loop."""

from celery import shared_task
from django.db import OperationalError

from image_parroter.pools import off_loop, run_off_loop
from ops.liveness import redelivered

from . import services
from .models import JobImage, ThumbnailJob

# A locked SQLite database, a lost database or storage connection: worth another try.
TRANSIENT_ERRORS = (OperationalError, ConnectionError, TimeoutError)
RETRY = {"autoretry_for": TRANSIENT_ERRORS, "retry_backoff": True, "max_retries": 5}


# Nobody reads a job task's return value (the job's row says how it went), so none is
# stored; a chord's members must store theirs, for the chord to know when they are all done.
@shared_task(bind=True, name="thumbnailer.run_job", ignore_result=True, **RETRY)
def run_job(self, job_id: str) -> None:
    """A job's one entry point (from the web, and from the sweep): a single image still to
    make is made here, thumbnails and archive; several are spread over the workers."""
    job, pending = run_off_loop(_job_and_pending_images, job_id)
    if job is None:  # purged, or finished meanwhile
        return
    if len(pending) > 1:
        job.fan_out(pending)  # publishing stays on the event loop (see pools.off_loop)
    else:
        run_off_loop(services.job_run, job=job, redelivered=redelivered(self))


def _job_and_pending_images(job_id: str) -> tuple[ThumbnailJob | None, list[int]]:
    job = ThumbnailJob.objects.filter(pk=job_id).first()
    if job is None or job.is_final:
        return None, []
    return job, list(job.images.filter(done=False).values_list("pk", flat=True))


@shared_task(bind=True, name="thumbnailer.make_image_thumbnails", **RETRY)
def make_image_thumbnails(self, image_id: int) -> bool:
    """One image of a chord."""
    return run_off_loop(_make_image, image_id, redelivered(self))


def _make_image(image_id: int, redelivered: bool) -> bool:
    image = JobImage.objects.select_related("job").filter(pk=image_id).first()
    if image is None:
        return False
    services.image_thumbnails_make(image=image, redelivered=redelivered)
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

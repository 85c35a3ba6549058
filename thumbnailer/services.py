"""Use cases of the thumbnailer: create a job, make an image's thumbnails, build the archive,
fail, re-run and purge jobs. Views, tasks and the admin call these."""

import logging
import secrets
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from io import BytesIO
from typing import BinaryIO, TypeVar

import botocore.exceptions
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_noop

from ops import dispatch, reasons
from ops.models import FINAL_STATUSES, JobStatus

from . import imaging
from .models import JobImage, ThumbnailJob, job_folder

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Share of the bar for the thumbnails; the archive takes the rest.
THUMBNAILS_PROGRESS = 90
INTERNAL_ERROR = [
    reasons.because(
        gettext_noop(
            "Something went wrong on our side while making the thumbnails. Please try again."
        )
    )
]
STORAGE_UNREACHABLE = [
    reasons.because(
        gettext_noop(
            "The storage could not be reached, so the thumbnails could not be made. "
            "Please try again later."
        )
    )
]
# What a storage raises when it cannot keep or give files: the disk's OSError, and object
# storage's boto3 errors (which are not OSErrors: a refusal, no such bucket, no connection).
STORAGE_ERRORS = (OSError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
# Of those, a dropped connection or a timeout: worth a task's retry.
STORAGE_CONNECTION_ERRORS = (
    ConnectionError,
    TimeoutError,
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,
)


def _job_results_store(job: ThumbnailJob, store: Callable[[], T]) -> T | None:
    """store() the job's results; None, the job failed with the storage's reason, if the
    storage refuses them (full, read-only, no permission). A dropped connection or a timeout
    is raised instead, for the task's retries."""
    try:
        return store()
    except STORAGE_CONNECTION_ERRORS:
        raise
    except STORAGE_ERRORS as exc:
        stored = gettext_noop("The results could not be stored (%(why)s). Please try again later.")
        why = getattr(exc, "strerror", None) or str(exc)
        job_fail(job=job, reason=[reasons.because(stored, why=why)])
        return None


def job_create(
    *,
    owner: str,
    uploads: Sequence[tuple[UploadedFile, imaging.ImageInfo]],
    sizes: Sequence[int],
) -> ThumbnailJob:
    """Store the uploads under sanitised, distinct names and send the job after commit.

    The files are written first, so the transaction (which holds SQLite's write lock) only
    inserts the rows."""
    job = ThumbnailJob(owner=owner, sizes=sorted(set(sizes)))
    images, taken = [], set()
    try:
        for position, (upload, info) in enumerate(uploads):
            name = f"{imaging.safe_stem(upload.name, taken)}.{info.extension}"
            image = JobImage(
                job=job, position=position, upload_name=upload.name, name=name, frames=info.frames
            )
            image.original.save(name, upload, save=False)
            images.append(image)
        with transaction.atomic():
            job.save()
            JobImage.objects.bulk_create(images)
            dispatch.send(job)
    except BaseException:
        # The rows are rolled back; the files written so far must go too (none: the storage
        # refused the first, and is not asked again).
        if images:
            folder_delete(job_folder(job.pk))
        raise
    return job


def job_run(*, job: ThumbnailJob, redelivered: bool = False) -> None:
    """Every image's thumbnails, then the archive, in this one call; idempotent. The archive
    takes the files this call read and stored from memory, not again from the storage (four
    requests fewer an image in object storage)."""
    in_hand = {}
    for image in job.images.all():  # each image's .job is `job`, kept up to date by it
        in_hand |= image_thumbnails_make(image=image, redelivered=redelivered)
    job_archive_build(job=job, in_hand=in_hand)


def image_thumbnails_make(*, image: JobImage, redelivered: bool = False) -> dict[str, bytes]:
    """Decode the image once and store one thumbnail per size of its job; idempotent. Returns
    the original's and the recorded thumbnails' bytes by stored name ({} if it made none).

    The first image task to reach a queued job marks it running (one more attempt), as
    does a task whose worker died holding it (`redelivered`, see mark_running)."""
    job = image.job
    if image.done or job.is_final or not job.mark_running(redelivered=redelivered):
        return {}
    # Read whole before decoding: a storage that fails mid-read (a link down, a timeout) raises
    # here, for the task's retries, where Pillow would have taken its OSError for a file that
    # is not an image. The bytes stay in hand for an archive built in the same call.
    with image.original.open("rb") as stored:
        original = BytesIO(stored.read())
    original.name = image.original.name
    try:
        thumbnails = imaging.make_thumbnails(
            original, sizes=job.sizes, max_pixels=settings.MAX_IMAGE_PIXELS
        )
    except imaging.ImageError as exc:
        unreadable = reasons.because(
            gettext_noop("“%(name)s” could not be read:"), name=image.upload_name
        )
        job_fail(job=job, reason=[unreadable, reasons.because(exc.text, **exc.params)])
        return {}
    made = _job_results_store(job, lambda: _store_thumbnails(image, thumbnails))
    if made is None:
        return {}
    dimensions = {
        str(thumbnail.size): [thumbnail.width, thumbnail.height] for thumbnail in thumbnails
    }
    with transaction.atomic():
        # Of two copies of this task at once (a re-dispatch racing the first), only one
        # records its thumbnails.
        recorded = (
            JobImage.objects.filter(pk=image.pk, done=False)
            .exclude(job__status__in=FINAL_STATUSES)  # cancelled meanwhile: keep nothing
            .update(thumbnails=made, dimensions=dimensions, done=True)
        )
        counts = job.images.aggregate(total=Count("pk"), done=Count("pk", filter=Q(done=True)))
        # Images finish in any order: the bar only moves forward.
        percent = THUMBNAILS_PROGRESS * counts["done"] // counts["total"]
        ThumbnailJob.objects.filter(pk=job.pk).unfinished().update(
            progress=Greatest(F("progress"), percent), updated_at=timezone.now()
        )
    if not recorded:  # the other copy's names are kept; any of ours stored beside them go
        kept = set(JobImage.objects.get(pk=image.pk).thumbnails.values())
        for name in set(made.values()) - kept:
            default_storage.delete(name)
        return {}
    data = {str(thumbnail.size): thumbnail.data for thumbnail in thumbnails}
    return {image.original.name: original.getvalue()} | {made[size]: data[size] for size in made}


def _store_thumbnails(image: JobImage, thumbnails: list[imaging.Thumbnail]) -> dict[str, str]:
    """Store each thumbnail under its size; {"128": stored name, ...}."""
    made, folder = {}, f"{job_folder(image.job_id)}/thumbnails"
    for thumbnail in thumbnails:
        name = f"{folder}/{thumbnail.size}/{image.stem}.{thumbnail.extension}"
        # Left by an attempt that died before recording it? A disk would give this one another
        # name; object storage overwrites it (and so needs no request here).
        if default_storage.get_available_name(name) != name:
            default_storage.delete(name)
        made[str(thumbnail.size)] = default_storage.save(name, ContentFile(thumbnail.data))
    return made


def _store_archive(job: ThumbnailJob, images: list[JobImage], in_hand: dict[str, bytes]) -> str:
    """Zip the job to a local temporary file, and store it when whole; its stored name."""
    with tempfile.TemporaryFile() as scratch:
        imaging.write_archive(scratch, _archive_members(images, in_hand))
        scratch.seek(0)
        return default_storage.save(f"{job_folder(job.pk)}/{job.download_name}", File(scratch))


def _archive_members(
    images: Sequence[JobImage], in_hand: dict[str, bytes]
) -> Iterator[tuple[str, BinaryIO]]:
    for image in images:
        with _stored_file(image.original.name, in_hand) as original:
            yield f"originals/{image.name}", original
        for size, name in sorted(image.thumbnails.items(), key=lambda item: int(item[0])):
            extension = name.rsplit(".", 1)[-1]
            with _stored_file(name, in_hand) as thumbnail:
                yield f"thumbnails/{size}/{image.stem}.{extension}", thumbnail


def _stored_file(name: str, in_hand: dict[str, bytes]) -> BinaryIO:
    """The stored file `name`, from `in_hand` (its bytes, as they were stored) if there."""
    return BytesIO(in_hand[name]) if name in in_hand else default_storage.open(name, "rb")


def job_archive_build(*, job: ThumbnailJob, in_hand: dict[str, bytes] | None = None) -> None:
    """Zip every original and thumbnail of a job whose images are all done, once.

    A repeated callback finds the job done; an early one finds images not done and leaves the
    job to the next dispatch; a failed job only gets its outputs removed. The zip is written
    to a local temporary file and stored when whole, and only one stored copy is recorded.
    `in_hand`: files of the job already in memory, by stored name (job_run)."""
    if job.status == JobStatus.FAILED:
        job_outputs_delete(job=job)
        return
    images = list(job.images.all())
    if job.is_final or not images or not all(image.done for image in images):
        return
    name = _job_results_store(job, lambda: _store_archive(job, images, in_hand or {}))
    if name is None:
        return
    with transaction.atomic():
        recorded = (
            ThumbnailJob.objects.filter(pk=job.pk, archive="").unfinished().update(archive=name)
        )
        job.mark_done()
    # A concurrent callback recorded its archive first, or the job was cancelled. Object
    # storage overwrites a name (django-storages' default) where the disk picks another, so
    # the other callback's archive may be this very name.
    if not recorded and name != _recorded_archive(job):
        default_storage.delete(name)


def _recorded_archive(job: ThumbnailJob) -> str | None:
    return ThumbnailJob.objects.filter(pk=job.pk).values_list("archive", flat=True).first()


def job_fail(*, job: ThumbnailJob, reason: reasons.Reason) -> None:
    """Fail with a reason a person can read, and remove any partial output."""
    job.mark_failed(reason)
    job_outputs_delete(job=job)


def job_outputs_delete(*, job: ThumbnailJob) -> None:
    """Remove thumbnails and archive; the originals stay (until the purge) for a re-run.
    If the storage refuses (as when it failed the job), the files stay, forgotten."""
    try:
        folder_delete(f"{job_folder(job.pk)}/thumbnails")
        if job.archive:
            default_storage.delete(job.archive.name)
    except STORAGE_ERRORS as exc:
        logger.warning("%s: the storage refused to delete its output: %s", job, exc)
    job.images.update(thumbnails={}, dimensions={}, done=False)
    ThumbnailJob.objects.filter(pk=job.pk).update(archive="")


def job_share_key(*, job: ThumbnailJob) -> str:
    """The job's secret share key, made on first use: whoever has the link may view the job
    and download its zip (on another device, or someone the owner sends it to), nobody else."""
    if not job.share_key:
        ThumbnailJob.objects.filter(pk=job.pk, share_key="").update(
            share_key=secrets.token_urlsafe(32)
        )
        job.refresh_from_db(fields=["share_key"])
    return job.share_key


def job_share_revoke(*, job: ThumbnailJob) -> None:
    """The share link stops opening the job, for everyone who had it, at once; a new link
    gets a new key."""
    ThumbnailJob.objects.filter(pk=job.pk).update(share_key="")
    job.share_key = ""


def job_cancel(*, job: ThumbnailJob) -> bool:
    """Cancel a queued or running job and remove what it made; False if it had ended."""
    if not job.cancel():
        return False
    job_outputs_delete(job=job)
    return True


def job_rerun(*, job: ThumbnailJob) -> None:
    """Start a failed or cancelled job again from its originals."""
    job_outputs_delete(job=job)
    with transaction.atomic():
        ThumbnailJob.objects.filter(pk=job.pk).update(
            status=JobStatus.QUEUED, progress=0, error="", error_reason=[], finished_at=None
        )
        job.refresh_from_db()
        dispatch.send(job)


def jobs_purge_expired() -> int:
    """Delete jobs older than the retention time with all their files; returns how many.

    Safe to run twice at once: each job's files are deleted (a missing file is no error) before
    its row, and a job is counted by the run whose DELETE removed its row."""
    cutoff = timezone.now() - timedelta(hours=settings.JOB_RETENTION_HOURS)
    deleted = 0
    for job_id in ThumbnailJob.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True):
        folder_delete(job_folder(job_id))
        _, per_model = ThumbnailJob.objects.filter(pk=job_id).delete()
        deleted += per_model.get(ThumbnailJob._meta.label, 0)
    return deleted


def folder_delete(folder: str) -> None:
    """Delete every file under `folder` through the storage API (any backend)."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        default_storage.delete(f"{folder}/{name}")
    for name in folders:
        folder_delete(f"{folder}/{name}")

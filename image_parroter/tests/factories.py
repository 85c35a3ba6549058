"""Builders for every app's tests: uploads, thumbnail jobs and user batches made without the
workers, and what a job left behind (its stored files, its archive's names)."""

import secrets
import zipfile
from datetime import timedelta
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from ops import owners
from ops.models import BackgroundJob
from thumbnailer import services
from thumbnailer.models import JobImage, ThumbnailJob
from thumbnailer.tests.images import image_bytes
from users.models import UserBatch


def upload(name="photo.jpg", data=None, content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes() if data is None else data, content_type)


def thumbnail_job(name="photo.jpg", *, data=None, sizes=(64,), images=1, **fields) -> ThumbnailJob:
    """A job with one image (`data`, a small JPEG by default), or `images` copies of it
    named 1-photo.jpg, 2-photo.jpg..., never sent: as if the broker had been down, or not
    yet sent."""
    job = ThumbnailJob.objects.create(owner="o" * 32, sizes=list(sizes), **fields)
    content = ContentFile(image_bytes() if data is None else data)
    for position in range(images):
        image_name = f"{position}-{name}" if position else name
        image = JobImage(job=job, position=position, upload_name=image_name, name=image_name)
        image.original.save(image_name, content, save=False)
        image.save()
    return job


def owner_of(client) -> str:
    """The owner token of the test client's session (ops.owners), made if it had none."""
    session = client.session
    token = session.setdefault(owners.SESSION_KEY, secrets.token_urlsafe(24))
    session.save()
    return token


def user_batch(total=5, **fields) -> UserBatch:
    """A batch (of five users by default), never sent."""
    return UserBatch.objects.create(total=total, **fields)


def untouched(job: BackgroundJob) -> BackgroundJob:
    """The job as if nobody had touched its row for two hours."""
    type(job).objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    job.refresh_from_db()
    return job


def run_job(job: ThumbnailJob) -> ThumbnailJob:
    """What the worker does with a job, in this process."""
    services.job_run(job=job)
    job.refresh_from_db()
    return job


def stored_files(media_root: Path) -> list[str]:
    """Every file under the media folder, relative to it."""
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())


def archive_names(job: ThumbnailJob) -> list[str]:
    """The names in the job's zip archive, sorted, once its checksums are checked."""
    with job.archive.open("rb") as archive, zipfile.ZipFile(archive) as zip_file:
        assert zip_file.testzip() is None
        return sorted(zip_file.namelist())

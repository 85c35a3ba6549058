from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from thumbnailer import services
from thumbnailer.models import ThumbnailJob

from .images import image_bytes


def upload(name="photo.jpg", data=None, content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes() if data is None else data, content_type)


def stored_files(media_root: Path) -> list[str]:
    """Every file under the media folder, relative to it."""
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())


def run_job(job: ThumbnailJob) -> ThumbnailJob:
    """What the worker does with a job, in this process."""
    services.job_run(job=job)
    job.refresh_from_db()
    return job

import mimetypes
import secrets

from django.conf import settings
from django.contrib import messages
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from storages.backends.s3 import S3Storage

from ops import front, limits
from ops.models import JobStatus
from ops.owners import owner_token
from ops.responses import (
    form_errors_json,
    too_many_requests,
    unchanged_since_seen,
    wants_json,
)

from . import imaging, services
from .forms import UploadForm
from .models import ThumbnailJob

RECENT_JOBS = 10
STORAGE_UNAVAILABLE = gettext_lazy(
    "Your images could not be stored just now: the server's storage is unavailable. "
    "Nothing was kept; please try again in a few minutes."
)


# In a session: {job id: share key} of the jobs it opened through their share links; each
# opens the job only while the owner has not revoked that link.
SHARED_JOBS = "shared_job_keys"


def owned_job(request, pk) -> ThumbnailJob:
    """The job if this browser session made it; anyone else gets a 404, as if it did not
    exist."""
    return get_object_or_404(ThumbnailJob.objects.owned_by(owner_token(request)), pk=pk)


def viewable_job(request, pk) -> tuple[ThumbnailJob, bool]:
    """The job, and whether this session owns it: for its owner, or (to view and download
    only) for a session that opened its share link, while that link stands; anyone else gets
    a 404."""
    job = get_object_or_404(ThumbnailJob, pk=pk)
    if job.owner and job.owner == owner_token(request):
        return job, True
    key = request.session.get(SHARED_JOBS, {}).get(str(job.pk), "")
    if job.share_key and secrets.compare_digest(key.encode(), job.share_key.encode()):
        return job, False
    raise Http404


def upload(request):
    """The upload form, and this session's recent jobs."""
    status = 200
    if request.method == "POST":
        # The upload rates were counted before its body was read (ops.limits); what its images
        # would cost to decode is known from their headers, before any is decoded.
        pixels = sum(imaging.pixels(upload) for upload in request.FILES.getlist("images"))
        if wait := limits.megapixels_wait(request, pixels):
            return too_many_requests(request, limits.TOO_MANY_PIXELS, wait)
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = services.job_create(
                    owner=owner_token(request, create=True),
                    uploads=form.cleaned_data["images"],
                    sizes=form.cleaned_data["sizes"],
                )
            except services.STORAGE_ERRORS:  # it refused the files (full, read-only, unreachable)
                form.add_error(None, STORAGE_UNAVAILABLE)
                status = 503
            else:
                return redirect(job)
        if wants_json(request):
            return form_errors_json(form, status=503 if status == 503 else 400)
    else:
        form = UploadForm()
    jobs = ThumbnailJob.objects.owned_by(owner_token(request))
    context = {
        "form": form,
        "jobs": jobs[:RECENT_JOBS],
        "max_files": settings.MAX_FILES_PER_JOB,
        "max_bytes": settings.MAX_UPLOAD_BYTES,
    }
    return render(request, "thumbnailer/upload.html", context, status=status)


def previews(job: ThumbnailJob) -> list[dict]:
    """Per image: its name, whether its thumbnails are made, and their URLs and dimensions
    (smallest size first) as soon as they are, while the rest of the job goes on. A failed or
    cancelled job kept none."""
    if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        return []
    return [
        {
            "name": image.name,
            "done": image.done,
            "thumbnails": [
                {
                    "size": size,
                    "url": image.thumbnail_url(size),
                    # [width, height]; none for an image made before they were recorded.
                    "dimensions": image.dimensions.get(str(size)),
                }
                for size in sorted(map(int, image.thumbnails))
            ],
        }
        for image in job.images.all()
    ]


def state_context(job: ThumbnailJob, is_owner: bool) -> dict:
    """What the job's live part (_job_state.html) shows; its controls only to the owner."""
    images = previews(job)
    return {
        "job": job,
        "is_owner": is_owner,
        "previews": images,
        "images_made": sum(image["done"] for image in images),
    }


def open_shared(request, pk) -> None:
    """A share link (?key=...) opens the job, to view and download, for this browser's session
    from now on, until the owner revokes the link."""
    job = ThumbnailJob.objects.filter(pk=pk).exclude(share_key="").first()
    key = request.GET.get("key", "")
    if job is None or not secrets.compare_digest(key.encode(), job.share_key.encode()):
        raise Http404
    request.session[SHARED_JOBS] = {**request.session.get(SHARED_JOBS, {}), str(job.pk): key}


@require_GET
def detail(request, pk):
    """The job's page: progress while it runs, then previews and the download."""
    if "key" in request.GET:
        open_shared(request, pk)
        return redirect("thumbnailer:detail", pk=pk)  # the key leaves the address bar
    job, is_owner = viewable_job(request, pk)
    context = {
        **state_context(job, is_owner),
        "animations": job.images.filter(frames__gt=1),
        "follow_without_js": not job.is_final,
    }
    return render(request, "thumbnailer/job_detail.html", context)


@require_GET
def progress(request, pk):
    """The live part of the job page, or 204 when the page has seen this state already."""
    job, is_owner = viewable_job(request, pk)
    if unchanged := unchanged_since_seen(request, job):
        return unchanged
    return render(request, "thumbnailer/_job_state.html", state_context(job, is_owner))


@require_GET
def status(request, pk):
    """The job's state as JSON, for scripts and tests."""
    job, _ = viewable_job(request, pk)
    done = job.status == JobStatus.DONE
    return JsonResponse(
        {
            "id": str(job.pk),
            "status": job.status,
            "progress": job.progress,
            "error": job.error_message,
            "download_url": reverse("thumbnailer:download", args=[job.pk]) if done else None,
            "thumbnails": [
                thumbnail["url"] for image in previews(job) for thumbnail in image["thumbnails"]
            ],
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at and job.finished_at.isoformat(),
        }
    )


@require_POST
def cancel(request, pk):
    """The owner stops their queued or running job; what it made so far is removed."""
    services.job_cancel(job=owned_job(request, pk))
    return redirect("thumbnailer:detail", pk=pk)


@require_POST
def share(request, pk):
    """The owner's link to view the job on another device, or to send to someone."""
    job = owned_job(request, pk)
    key = services.job_share_key(job=job)
    link = request.build_absolute_uri(f"{job.get_absolute_url()}?key={key}")
    # The language selector comes back to the job's page: this one answers only a POST.
    context = {"job": job, "link": link, "language_next": job.get_absolute_url()}
    return render(request, "thumbnailer/share.html", context)


@require_POST
def share_revoke(request, pk):
    """The owner takes the share link back: it opens the job for nobody from now on."""
    job = owned_job(request, pk)
    services.job_share_revoke(job=job)
    messages.success(request, gettext("The share link no longer opens this job."))
    return redirect(job)


@require_POST
def retry(request, pk):
    """The owner starts their failed or cancelled job again from its originals."""
    job = owned_job(request, pk)
    if job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        services.job_rerun(job=job)
    return redirect(job)


def stored_file(request, name: str, *, filename: str, as_attachment: bool = False) -> HttpResponse:
    """A stored file for its owner (the caller checked). From object storage, a redirect to a
    presigned URL, so the bytes go from the storage to the browser and not through the web.
    From disk through the front, an X-Accel-Redirect: the front sends the file, and no Python
    thread waits on a slow reader. From disk with no front before gunicorn, the file itself."""
    disposition = content_disposition_header(as_attachment, filename)
    if isinstance(default_storage, S3Storage):
        return redirect(
            default_storage.url(name, parameters={"ResponseContentDisposition": disposition})
        )
    if isinstance(default_storage, FileSystemStorage) and front.sends_files(request):
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return front.file_response(name, content_type=content_type, disposition=disposition)
    return FileResponse(
        default_storage.open(name, "rb"), as_attachment=as_attachment, filename=filename
    )


@require_GET
def download(request, pk):
    job, _ = viewable_job(request, pk)
    if job.status != JobStatus.DONE or not job.archive:
        raise Http404("The archive is not ready.")
    return stored_file(request, job.archive.name, filename=job.download_name, as_attachment=True)


@require_GET
def thumbnail(request, pk, image_id, size):
    job, _ = viewable_job(request, pk)
    image = get_object_or_404(job.images, pk=image_id)
    name = image.thumbnails.get(str(size))
    if name is None:
        raise Http404
    return stored_file(request, name, filename=name.rsplit("/", 1)[-1])

"""Jobs through a real Celery worker on Redis: the chord, idempotent re-dispatch, failures,
the purge, and a storage backend without `.path()` in both the worker and this process."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from image_parroter.celery import app as celery_app
from image_parroter.tests.factories import archive_names, owner_of, stored_files, upload
from image_parroter.tests.waiting import budget, wait_for, wait_until_final
from ops import dispatch
from thumbnailer import services
from thumbnailer.models import ThumbnailJob

from .images import image_bytes, png_with_corrupt_pixels
from .storage import NO_PATH_STORAGE

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def upload_job(client, *files, sizes=("128", "256")) -> ThumbnailJob:
    response = client.post("/", {"images": list(files), "sizes": list(sizes)})
    assert response.status_code == 302, response.context["form"].errors
    return ThumbnailJob.objects.get(pk=response["Location"].split("/")[2])


def test_a_single_image_goes_through_the_worker(celery_worker, client):
    job = upload_job(client, upload("photo.jpg", image_bytes("JPEG", (1200, 900))))
    job = wait_until_final(job)
    assert (job.status, job.progress, job.attempts, job.error) == ("done", 100, 1, "")
    assert archive_names(job) == [
        "originals/photo.jpg",
        "thumbnails/128/photo.jpg",
        "thumbnails/256/photo.jpg",
    ]
    state = client.get(f"/jobs/{job.pk}/status.json").json()
    assert state["status"] == "done"
    assert len(state["thumbnails"]) == 2


def test_several_images_run_as_one_chord_with_one_archive(celery_worker, client, media_root):
    files = [
        upload("a.jpg", image_bytes("JPEG", (900, 600))),
        upload("a.png", image_bytes("PNG", (300, 300))),
        upload("b.gif", image_bytes("GIF", (500, 200))),
        upload("c.webp", image_bytes("WEBP", (640, 480))),
    ]
    job = wait_until_final(upload_job(client, *files, sizes=["128"]))
    assert (job.status, job.attempts) == ("done", 1)
    assert archive_names(job) == [
        "originals/a-2.png",
        "originals/a.jpg",
        "originals/b.gif",
        "originals/c.webp",
        "thumbnails/128/a-2.png",
        "thumbnails/128/a.jpg",
        "thumbnails/128/b.png",
        "thumbnails/128/c.webp",
    ]
    assert [name for name in stored_files(media_root) if name.endswith(".zip")] == [
        job.archive.name
    ]


def test_dispatching_again_never_makes_a_second_archive(celery_worker, client, media_root):
    job = upload_job(client, upload("a.jpg"), upload("b.jpg"), upload("c.jpg"))
    dispatch.send(job)  # a sweep re-dispatching while the first chord runs
    job = wait_until_final(job)
    archive = job.archive.name

    def zips() -> list[str]:
        return [name for name in stored_files(media_root) if name.endswith(".zip")]

    # The second chord's callback may still be zipping: it loses the race to record its
    # archive, and removes its copy.
    wait_for(lambda: zips() == [archive], timeout=30, interval=0.05)
    files = stored_files(media_root)
    dispatch.send(job)  # and once more after it is done: nothing changes
    celery_app.send_task("ops.heartbeat_record").get(timeout=30)  # the worker got past it
    time.sleep(budget(1))
    job.refresh_from_db()
    assert (job.status, job.archive.name) == ("done", archive)
    assert stored_files(media_root) == files
    assert len([name for name in files if name.endswith(".zip")]) == 1
    assert len([name for name in files if "/thumbnails/" in name]) == 3 * 2


def test_a_file_that_fails_in_the_worker_fails_the_job_with_its_reason(
    celery_worker, client, make_job, media_root
):
    """The form refuses damaged files, so here the stored original is damaged afterwards."""
    with transaction.atomic():  # dispatched when this block commits
        job = make_job(
            ("good.jpg", image_bytes()), ("broken.png", image_bytes("PNG")), owner=owner_of(client)
        )
        stored = job.images.get(name="broken.png").original.name
        default_storage.delete(stored)
        default_storage.save(stored, ContentFile(png_with_corrupt_pixels()))
    job = wait_until_final(job)
    assert job.status == "failed"
    assert job.error == "“broken.png” could not be read: The image is damaged or incomplete."
    assert not job.archive
    assert [name for name in stored_files(media_root) if "/originals/" not in name] == []
    html = client.get(job.get_absolute_url()).content.decode()
    assert "could not be read" in html
    assert client.get(f"/jobs/{job.pk}/download").status_code == 404


def test_an_image_task_that_crashes_fails_the_job_through_the_chord_error_callback(
    celery_worker, make_job, media_root
):
    with transaction.atomic():  # dispatched when this block commits
        job = make_job(("a.jpg", image_bytes()), ("lost.jpg", image_bytes()))
        default_storage.delete(job.images.get(name="lost.jpg").original.name)
    job = wait_until_final(job)
    assert (job.status, job.error_reason) == ("failed", [list(services.INTERNAL_ERROR[0])])
    assert (
        job.error
        == "Something went wrong on our side while making the thumbnails. Please try again."
    )
    assert [name for name in stored_files(media_root) if "/originals/" not in name] == []


@pytest.mark.usefixtures("no_path_storage")
def test_jobs_and_the_purge_work_through_a_storage_without_paths(
    worker_factory, client, media_root
):
    with worker_factory("gevent", MEDIA_STORAGE=NO_PATH_STORAGE):
        job = upload_job(client, upload("a.jpg"), upload("b.png", image_bytes("PNG")))
        job = wait_until_final(job)
        assert (job.status, job.error) == ("done", "")
        assert len(archive_names(job)) == 6
        response = client.get(f"/jobs/{job.pk}/download")
        assert response.status_code == 200
        ThumbnailJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=2))
        result = celery_app.send_task("thumbnailer.jobs_purge_expired").get(timeout=30)
    assert result == {"deleted": 1}
    assert stored_files(media_root) == []


def test_two_purges_at_once_delete_each_job_once(celery_worker, client, media_root):
    jobs = [wait_until_final(upload_job(client, upload(f"{n}.jpg"))) for n in range(3)]
    kept = wait_until_final(upload_job(client, upload("kept.jpg")))
    ThumbnailJob.objects.filter(pk__in=[job.pk for job in jobs]).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda _: celery_app.send_task("thumbnailer.jobs_purge_expired").get(timeout=30),
                range(2),
            )
        )
    assert sum(result["deleted"] for result in results) == 3
    assert list(ThumbnailJob.objects.values_list("pk", flat=True)) == [kept.pk]
    assert all(str(kept.pk) in name for name in stored_files(media_root))

"""The use cases, run in the test process (the worker integration is in test_tasks.py)."""

import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from image_parroter.tests.factories import archive_names, run_job, stored_files
from ops import reasons
from thumbnailer import services
from thumbnailer.models import JobImage, ThumbnailJob

from .images import image_bytes

pytestmark = pytest.mark.django_db


def test_job_create_stores_originals_under_safe_distinct_names(make_job, media_root):
    job = make_job(
        ("my photo.jpg", image_bytes("JPEG")),
        ("my-photo.jpg", image_bytes("JPEG")),
        ("PHOTO.png", image_bytes("PNG")),
        ("really-a-png.jpg", image_bytes("PNG")),
    )
    images = list(job.images.all())
    assert [image.name for image in images] == [
        "my-photo.jpg",
        "my-photo-2.jpg",
        "PHOTO.png",
        "really-a-png.png",
    ]
    assert [image.upload_name for image in images][:2] == ["my photo.jpg", "my-photo.jpg"]
    assert stored_files(media_root) == sorted(
        f"thumbnailer/{job.pk}/originals/{image.name}" for image in images
    )
    assert (job.status, job.progress, job.attempts, job.sizes) == ("queued", 0, 0, [128, 256])


def test_job_create_sends_the_job_only_after_commit(
    make_job, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = make_job()
        assert sent_tasks == []  # the rows are not committed yet
    [(name, args, task_id)] = sent_tasks
    assert (name, args) == ("thumbnailer.job_run", [str(job.pk)])
    assert task_id.startswith(f"{job.pk}.")  # the sweep tells the job's messages by it


def test_job_create_removes_its_files_when_it_fails(make_job, media_root, monkeypatch):
    def broken_send(job):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("ops.dispatch.send", broken_send)
    with pytest.raises(RuntimeError):
        make_job(("a.jpg", image_bytes()), ("b.jpg", image_bytes()))
    assert ThumbnailJob.objects.count() == 0
    assert stored_files(media_root) == []


@pytest.mark.usefixtures("no_path_storage")
def test_a_whole_job_through_a_storage_without_paths(make_job):
    with pytest.raises(NotImplementedError):
        default_storage.path("anything")
    job = run_job(
        make_job(
            ("cat.jpg", image_bytes("JPEG", (800, 600))),
            ("cat.png", image_bytes("PNG", (300, 100))),
            sizes=[128, 256],
        )
    )
    assert (job.status, job.progress, job.attempts, job.error) == ("done", 100, 1, "")
    assert archive_names(job) == [
        "originals/cat-2.png",
        "originals/cat.jpg",
        "thumbnails/128/cat-2.png",
        "thumbnails/128/cat.jpg",
        "thumbnails/256/cat-2.png",
        "thumbnails/256/cat.jpg",
    ]


def test_the_archive_holds_the_original_bytes_as_uploaded(make_job):
    original = image_bytes("JPEG", (700, 500), quality=97)
    job = run_job(make_job(("holiday.jpg", original), sizes=[128]))
    with job.archive.open("rb") as archive, zipfile.ZipFile(archive) as zip_file:
        assert zip_file.read("originals/holiday.jpg") == original


def test_progress_follows_the_images_and_never_goes_back(make_job):
    job = make_job(("a.jpg", image_bytes()), ("b.jpg", image_bytes()), ("c.jpg", image_bytes()))
    seen = []
    for image in job.images.all():
        services.image_thumbnails_make(image=image)
        job.refresh_from_db()
        seen.append(job.progress)
    assert seen == [30, 60, 90]
    ThumbnailJob.objects.filter(pk=job.pk).update(progress=95)
    services.image_thumbnails_make(image=job.images.first())  # a redelivered copy: no-op
    job.refresh_from_db()
    assert job.progress == 95


def test_running_every_step_twice_makes_no_duplicates(make_job, media_root):
    job = run_job(make_job(("a.jpg", image_bytes()), ("b.png", image_bytes("PNG"))))
    files = stored_files(media_root)
    archive = job.archive.name
    # A sweep re-dispatches, a message is redelivered: everything runs again.
    job = run_job(job)
    for image in job.images.all():
        image.done = False  # as if the first attempt died before recording it
        image.save()
        services.image_thumbnails_make(image=image)
    job.refresh_from_db()
    assert stored_files(media_root) == files
    assert (job.status, job.archive.name, job.attempts) == ("done", archive, 1)
    assert len([name for name in files if name.endswith(".zip")]) == 1


def test_an_early_callback_builds_nothing(make_job, media_root):
    job = make_job(("a.jpg", image_bytes()), ("b.jpg", image_bytes()))
    services.image_thumbnails_make(image=job.images.first())
    job.refresh_from_db()
    services.job_archive_build(job=job)
    job.refresh_from_db()
    assert (job.status, job.archive.name) == ("running", "")
    assert not [name for name in stored_files(media_root) if name.endswith(".zip")]


def test_two_callbacks_racing_record_one_archive(make_job, media_root):
    job = make_job()
    for image in job.images.all():
        services.image_thumbnails_make(image=image)
    late = ThumbnailJob.objects.get(pk=job.pk)  # loaded before the first callback finished
    services.job_archive_build(job=ThumbnailJob.objects.get(pk=job.pk))
    # The late copy still sees a running job: it builds, loses the race and removes its copy.
    services.job_archive_build(job=late)
    job.refresh_from_db()
    zips = [name for name in stored_files(media_root) if name.endswith(".zip")]
    assert zips == [job.archive.name]


def test_an_image_that_fails_in_the_worker_fails_the_job_and_cleans_up(make_job, media_root):
    good = image_bytes("JPEG", (400, 300))
    job = make_job(("good.jpg", good), ("bad.jpg", good))
    bad = job.images.get(name="bad.jpg")
    with default_storage.open(bad.original.name, "wb") as file:  # damaged after the form
        file.write(good[: len(good) // 3])
    job = run_job(job)
    assert job.status == "failed"
    assert job.error == "“bad.jpg” could not be read: The image is damaged or incomplete."
    assert job.finished_at is not None
    assert not job.archive
    assert stored_files(media_root) == sorted(
        f"thumbnailer/{job.pk}/originals/{name}" for name in ("good.jpg", "bad.jpg")
    )
    assert not any(image.done or image.thumbnails for image in job.images.all())


def test_a_failed_job_runs_again_after_a_rerun(make_job, django_capture_on_commit_callbacks):
    job = make_job()
    services.job_fail(job=job, reason=[reasons.because("the worker ran out of memory")])
    with django_capture_on_commit_callbacks() as callbacks:
        services.job_rerun(job=job)
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert (job.status, job.error, job.progress, job.finished_at) == ("queued", "", 0, None)
    job = run_job(job)
    assert (job.status, job.attempts) == ("done", 1)


def test_purge_deletes_expired_jobs_with_all_their_files(make_job, media_root, settings):
    settings.JOB_RETENTION_HOURS = 24
    old = run_job(make_job())
    recent = make_job()
    ThumbnailJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert services.jobs_purge_expired() == 1
    assert list(ThumbnailJob.objects.values_list("pk", flat=True)) == [recent.pk]
    assert all(str(recent.pk) in name for name in stored_files(media_root))
    assert services.jobs_purge_expired() == 0  # a second run finds nothing left to do


@pytest.mark.usefixtures("no_path_storage")
def test_purge_works_through_a_storage_without_paths(make_job, media_root):
    job = run_job(make_job())
    ThumbnailJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=9))
    assert services.jobs_purge_expired() == 1
    assert stored_files(media_root) == []


def test_two_copies_of_an_image_task_racing_leave_one_set_of_thumbnails(
    make_job, media_root, monkeypatch
):
    job = make_job(("a.jpg", image_bytes()))
    late = JobImage.objects.get()  # loaded before the first copy recorded anything
    services.image_thumbnails_make(image=JobImage.objects.get())
    files = stored_files(media_root)
    # The late copy cleared its names before the first copy saved, so its own files land
    # beside the first copy's ("a_<random>.jpg") until it finds it lost and removes them.
    delete, calls = default_storage.delete, []

    def delete_after_the_clearing(name):
        calls.append(name)
        if len(calls) > len(job.sizes):
            delete(name)

    monkeypatch.setattr(default_storage, "delete", delete_after_the_clearing)
    services.image_thumbnails_make(image=late)
    assert len(calls) == 2 * len(job.sizes)
    assert stored_files(media_root) == files
    assert sorted(JobImage.objects.get().thumbnails.values()) == [
        name for name in files if "/thumbnails/" in name
    ]


def test_storage_that_refuses_the_thumbnails_fails_the_job_with_a_reason(make_job, media_root):
    """A file where the thumbnails' folder goes refuses writes even to root, as a full or
    read-only disk does."""
    job = make_job(("photo.jpg", image_bytes("JPEG")))
    (media_root / "thumbnailer" / str(job.pk) / "thumbnails").write_text("")

    job = run_job(job)

    assert job.status == "failed"
    assert job.error.startswith("The results could not be stored (Not a directory)")
    assert job.error.endswith("Please try again later.")
    assert not job.archive


def test_a_task_that_reaches_a_job_cancelled_meanwhile_makes_nothing(make_job, media_root):
    job = make_job(("a.jpg", image_bytes("JPEG")), ("b.jpg", image_bytes("JPEG")))
    image = job.images.select_related("job").first()  # as the task read it: still queued
    assert ThumbnailJob.objects.get(pk=job.pk).cancel()

    services.image_thumbnails_make(image=image)
    services.job_archive_build(job=ThumbnailJob.objects.get(pk=job.pk))

    job.refresh_from_db()
    assert (job.status, job.attempts) == ("cancelled", 0)
    assert [name for name in stored_files(media_root) if "/originals/" not in name] == []

"""Media in object storage: django-storages' S3 backend against a real S3-compatible server
(moto_server, one for the session, a new bucket per test), in this process, in gunicorn and in
a real gevent worker. moto takes any key and signature: nothing here tests credentials."""

import time
import zipfile
from datetime import timedelta
from io import BytesIO

import pytest
import requests
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from PIL import Image
from playwright.sync_api import expect

from image_parroter.tests.factories import run_job, upload
from image_parroter.tests.processes import (
    free_port,
    object_storage_env,
    running_worker_on,
    send_job,
    use_object_storage,
)
from image_parroter.tests.waiting import budget, wait_until_final
from ops.reasons import in_english
from thumbnailer import services
from thumbnailer.models import ThumbnailJob
from thumbnailer.views import STORAGE_UNAVAILABLE

from .images import image_bytes

pytestmark = pytest.mark.django_db


def keys(bucket) -> list[str]:
    return sorted(stored.key for stored in bucket.objects.all())


def job_keys(job: ThumbnailJob, *names: str) -> list[str]:
    return sorted(f"thumbnailer/{job.pk}/{name}" for name in names)


def post(client, *files, sizes=("128", "256")):
    return client.post("/", {"images": list(files), "sizes": list(sizes)})


@pytest.fixture
def owner_job(client, object_storage) -> ThumbnailJob:
    """A job made through the form by `client`'s session, in the bucket, not sent."""
    assert post(client, upload("photo.jpg", image_bytes("JPEG", (600, 400)))).status_code == 302
    return ThumbnailJob.objects.get()


def followed(response) -> requests.Response:
    """What a browser gets from the app's redirect to a presigned URL: the storage's answer."""
    assert response.status_code == 302, response.status_code
    assert "X-Amz-Signature=" in response["Location"]
    return requests.get(response["Location"], timeout=budget(10))


def test_upload_thumbnails_and_archive_land_in_the_bucket_and_nothing_in_media_root(
    owner_job, object_storage, media_root
):
    _, bucket = object_storage
    assert keys(bucket) == job_keys(owner_job, "originals/photo.jpg")

    job = run_job(owner_job)

    assert (job.status, job.error) == ("done", "")
    assert keys(bucket) == job_keys(
        job,
        "originals/photo.jpg",
        "thumbnails/128/photo.jpg",
        "thumbnails/256/photo.jpg",
        job.download_name,
    )
    assert list(media_root.iterdir()) == []


def test_previews_and_the_download_redirect_to_presigned_urls_that_fetch_the_bytes(
    client, owner_job, object_storage
):
    env, bucket = object_storage
    job = run_job(owner_job)
    image = job.images.get()
    preview_url = f"/jobs/{job.pk}/images/{image.pk}/128"
    assert preview_url in client.get(job.get_absolute_url()).content.decode()

    preview = client.get(preview_url)
    assert preview["Location"].startswith(
        f"{env['AWS_S3_ENDPOINT_URL']}/{bucket.name}/thumbnailer/{job.pk}/thumbnails/128/photo.jpg?"
    )
    assert "X-Amz-Expires=3600" in preview["Location"]
    fetched = followed(preview)
    assert fetched.status_code == 200
    assert max(Image.open(BytesIO(fetched.content)).size) == 128

    download = followed(client.get(f"/jobs/{job.pk}/download"))
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="{job.download_name}"'
    )
    with zipfile.ZipFile(BytesIO(download.content)) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == [
            "originals/photo.jpg",
            "thumbnails/128/photo.jpg",
            "thumbnails/256/photo.jpg",
        ]


def test_another_session_gets_404_and_no_presigned_url(client, owner_job):
    job = run_job(owner_job)
    stranger = Client()
    stranger.get("/")
    for url in (f"/jobs/{job.pk}/download", f"/jobs/{job.pk}/images/{job.images.get().pk}/128"):
        assert client.get(url).status_code == 302
        refused = stranger.get(url)
        assert refused.status_code == 404 and "Location" not in refused


def test_cancel_deletes_what_the_job_made_and_the_purge_deletes_the_rest(
    client, owner_job, object_storage
):
    _, bucket = object_storage
    services.image_thumbnails_make(image=owner_job.images.select_related("job").get())
    assert len(keys(bucket)) == 3  # the original and two thumbnails: the job is running

    assert client.post(f"/jobs/{owner_job.pk}/cancel").status_code == 302

    owner_job.refresh_from_db()
    assert owner_job.status == "cancelled"
    assert keys(bucket) == job_keys(owner_job, "originals/photo.jpg")  # kept for a re-run
    ThumbnailJob.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert services.jobs_purge_expired() == 1
    assert keys(bucket) == []


def test_two_archive_callbacks_racing_keep_the_recorded_archive_that_both_wrote(
    owner_job, object_storage
):
    """Object storage overwrites a name where the disk picks another: the late callback's
    archive has the recorded one's name, and losing the race must not delete it."""
    _, bucket = object_storage
    services.image_thumbnails_make(image=owner_job.images.select_related("job").get())
    late = ThumbnailJob.objects.get(pk=owner_job.pk)  # loaded before the first callback ended
    services.job_archive_build(job=ThumbnailJob.objects.get(pk=owner_job.pk))

    services.job_archive_build(job=late)

    owner_job.refresh_from_db()
    assert owner_job.status == "done"
    assert [key for key in keys(bucket) if key.endswith(".zip")] == [owner_job.archive.name]


def test_two_copies_of_an_image_task_racing_leave_the_recorded_thumbnails(
    owner_job, object_storage
):
    _, bucket = object_storage
    late = owner_job.images.select_related("job").get()  # loaded while the job was queued
    services.image_thumbnails_make(image=owner_job.images.select_related("job").get())

    assert services.image_thumbnails_make(image=late) == {}  # it lost: nothing recorded

    recorded = owner_job.images.get().thumbnails
    assert sorted(recorded.values()) == job_keys(
        owner_job, "thumbnails/128/photo.jpg", "thumbnails/256/photo.jpg"
    )
    assert set(recorded.values()) < set(keys(bucket))


@pytest.mark.parametrize("storage", ["a closed port", "no such bucket"])
def test_object_storage_that_refuses_answers_the_upload_503_and_keeps_nothing(
    client, settings, moto_server, storage
):
    if storage == "a closed port":
        env = object_storage_env(f"http://127.0.0.1:{free_port()}", "any")
    else:
        env = object_storage_env(moto_server.url, "never-made")
    use_object_storage(settings, env)
    started = time.monotonic()

    response = post(client, upload("photo.jpg"))

    assert response.status_code == 503
    assert escape(str(STORAGE_UNAVAILABLE)) in response.content.decode()
    assert ThumbnailJob.objects.count() == 0
    assert time.monotonic() - started < budget(10)


@pytest.mark.django_db(transaction=True)
def test_chromium_shows_the_previews_and_downloads_the_zip_from_object_storage(
    page, object_storage, sent_tasks
):
    env, _ = object_storage
    from_storage = []  # what Chromium fetched from the storage itself
    page.on("response", lambda response: from_storage.append(response.url.split("?")[0]))
    page.goto("/")
    page.get_by_label("Images").set_input_files(
        [
            {
                "name": "holiday.jpg",
                "mimeType": "image/jpeg",
                "buffer": image_bytes("JPEG", (800, 600)),
            }
        ]
    )
    page.get_by_label("512 px").uncheck()
    page.get_by_role("button", name="Make thumbnails").click()
    page.wait_for_url("**/jobs/*/")
    job = run_job(ThumbnailJob.objects.get())  # what the worker would do, in this process

    expect(page.locator(".job-status")).to_have_text("Done", timeout=budget(20) * 1000)
    folder = f"{env['AWS_S3_ENDPOINT_URL']}/{env['AWS_STORAGE_BUCKET_NAME']}/thumbnailer/{job.pk}"
    # The preview (the size its square needs, from srcset) comes from the storage itself, and
    # so does each size its link opens.
    preview = page.locator("#job-state .preview-frame img")
    shown = int(preview.evaluate("img => img.decode().then(() => img.currentSrc)").split("/")[-1])
    assert shown in (128, 256) and f"{folder}/thumbnails/{shown}/holiday.jpg" in from_storage
    for size in (128, 256):
        link = page.get_by_role("link", name=f"holiday.jpg, {size} px thumbnail")
        opened = page.request.get(link.get_attribute("href"))
        assert opened.ok and opened.url.startswith(f"{folder}/thumbnails/{size}/holiday.jpg")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the zip").click()
    download = download_info.value
    assert download.suggested_filename == job.download_name
    with zipfile.ZipFile(download.path()) as archive:
        assert len(archive.namelist()) == 3


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_whole_flow_through_gunicorn_and_a_gevent_worker_in_object_storage(
    own_redis, stack_factory, object_storage, media_root
):
    env, bucket = object_storage
    with stack_factory(own_redis, **env) as (url, _):
        person = requests.Session()
        person.get(f"{url}/", timeout=budget(10))
        person.headers["X-CSRFToken"] = person.cookies["csrftoken"]
        files = [
            ("images", ("a.jpg", image_bytes("JPEG", (1200, 900)), "image/jpeg")),
            ("images", ("b.png", image_bytes("PNG", (300, 300)), "image/png")),
        ]
        posted = person.post(
            f"{url}/", files=files, data={"sizes": "128"}, allow_redirects=False, timeout=10
        )
        assert posted.status_code == 302, posted.text[-2000:]
        job = wait_until_final(ThumbnailJob.objects.get())
        assert (job.status, job.error) == ("done", "")
        assert keys(bucket) == job_keys(
            job,
            "originals/a.jpg",
            "originals/b.png",
            "thumbnails/128/a.jpg",
            "thumbnails/128/b.png",
            job.download_name,
        )

        state = person.get(f"{url}/jobs/{job.pk}/status.json", timeout=10).json()
        previews = [person.get(url + path, timeout=10) for path in state["thumbnails"]]
        assert [preview.url.split("?")[0].rsplit("/", 2)[-2:] for preview in previews] == [
            ["128", "a.jpg"],
            ["128", "b.png"],
        ]
        assert all(preview.ok and preview.history[0].status_code == 302 for preview in previews)
        download = person.get(url + state["download_url"], timeout=10)
        assert download.history[0].status_code == 302
        with zipfile.ZipFile(BytesIO(download.content)) as archive:
            assert len(archive.namelist()) == 4

        ThumbnailJob.objects.update(created_at=timezone.now() - timedelta(days=2))
        purge = own_redis.celery_app().send_task("thumbnailer.jobs_purge_expired")
        assert purge.get(timeout=budget(30)) == {"deleted": 1}
    assert keys(bucket) == []
    assert list(media_root.iterdir()) == []


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_that_cannot_reach_the_storage_fails_the_job_with_a_reason(
    own_redis, sent_tasks, object_storage, owner_job, media_root, tmp_path
):
    nowhere = object_storage_env(f"http://127.0.0.1:{free_port()}", "any")
    with running_worker_on(own_redis, "gevent", tmp_path, MEDIA_ROOT=str(media_root), **nowhere):
        send_job(own_redis.celery_app(), owner_job)
        # Five retries with exponential backoff (1, 2, 4, 8, 16 s at most, with jitter).
        job = wait_until_final(owner_job, timeout=90)
    assert (job.status, job.error) == ("failed", in_english(services.STORAGE_UNREACHABLE))
    assert job.attempts == 1

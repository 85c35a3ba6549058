import json
import re
import subprocess
import zipfile
from io import BytesIO

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from PIL import Image

from image_parroter.tests.factories import run_job, stored_files, upload
from ops import owners, reasons
from thumbnailer import services
from thumbnailer.models import ThumbnailJob
from thumbnailer.uploads import SizeLimitedUploadHandler
from thumbnailer.views import STORAGE_UNAVAILABLE

from .images import huge_png, image_bytes

pytestmark = pytest.mark.django_db


def post(client, files, sizes=("128", "256")):
    data = {"images": files}
    if sizes is not None:
        data["sizes"] = list(sizes)
    return client.post(reverse("thumbnailer:upload"), data)


@pytest.fixture
def owner_job(client):
    """A job made through the form by `client`'s session."""
    response = post(client, [upload("photo.jpg", image_bytes("JPEG", (600, 400)))])
    assert response.status_code == 302
    return ThumbnailJob.objects.get()


def test_the_form_offers_the_configured_sizes_all_checked(client, settings):
    settings.THUMBNAIL_SIZES = [64, 1024]
    html = client.get("/").content.decode()
    assert re.search(r'<input type="file" name="images"[^>]* multiple', html)
    assert re.findall(r'name="sizes" value="(\d+)"[^>]*checked', html) == ["64", "1024"]
    assert '<label for="id_images">Images</label>' in html
    assert "No jobs yet" in html


def test_a_valid_upload_creates_a_job_for_this_session_and_redirects(client, media_root):
    response = post(client, [upload("a.jpg"), upload("b.png", image_bytes("PNG"))])
    job = ThumbnailJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.owner == client.session[owners.SESSION_KEY]
    assert job.owner != client.session.session_key
    assert job.sizes == [128, 256]
    assert [image.name for image in job.images.all()] == ["a.jpg", "b.png"]
    assert len(stored_files(media_root)) == 2


def test_the_home_page_lists_only_this_sessions_jobs(client, owner_job):
    assert str(owner_job.pk) in client.get("/").content.decode()
    assert str(owner_job.pk) not in Client().get("/").content.decode()


def test_a_running_job_page_follows_its_state(client, owner_job):
    html = client.get(owner_job.get_absolute_url()).content.decode()
    assert f'data-follow="/jobs/{owner_job.pk}/progress" data-seen="queued-0"' in html
    assert '<progress value="0" max="100"' in html
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html


def test_the_live_part_answers_204_until_the_state_changes(client, owner_job):
    url = f"/jobs/{owner_job.pk}/progress"
    unchanged = client.get(url, {"seen": "queued-0"})
    assert (unchanged.status_code, unchanged.content) == (204, b"")
    assert Client().get(url, {"seen": "queued-0"}).status_code == 404  # not another session's
    ThumbnailJob.objects.filter(pk=owner_job.pk).update(status="running", progress=30)
    changed = client.get(url, {"seen": "queued-0"})
    assert changed.status_code == 200
    assert 'data-seen="running-30"' in changed.content.decode()


def test_a_done_job_shows_previews_and_the_download_and_stops_following(client, owner_job):
    run_job(owner_job)
    assert "noscript" not in client.get(owner_job.get_absolute_url()).content.decode()
    html = client.get(f"/jobs/{owner_job.pk}/progress").content.decode()
    assert "data-follow" not in html
    assert f'href="/jobs/{owner_job.pk}/download"' in html
    # One preview of the image, and a link to each of its two sizes.
    assert len(re.findall(r"<img ", html)) == 1
    images = re.findall(r'<a href="([^"]+)" aria-label="photo.jpg, \d+ px thumbnail"', html)
    assert len(images) == 2
    for url in images:
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_a_failed_job_says_why(client, owner_job):
    services.job_fail(
        job=owner_job, reason=[reasons.because("“photo.jpg” could not be read: it is damaged.")]
    )
    html = client.get(owner_job.get_absolute_url()).content.decode()
    assert "could not be read: it is damaged." in html
    assert re.search(r'role="status"[^>]*>\s*“photo.jpg” could not be read: it is damaged.', html)
    assert "download" not in html.lower().split("</nav>")[1]


def test_status_json_follows_the_contract(client, owner_job):
    url = f"/jobs/{owner_job.pk}/status.json"
    assert client.get(url).json() == {
        "id": str(owner_job.pk),
        "status": "queued",
        "progress": 0,
        "error": "",
        "download_url": None,
        "thumbnails": [],
        "created_at": owner_job.created_at.isoformat(),
        "finished_at": None,
    }
    run_job(owner_job)
    state = client.get(url).json()
    assert (state["status"], state["progress"]) == ("done", 100)
    assert state["finished_at"] == ThumbnailJob.objects.get().finished_at.isoformat()
    assert state["download_url"] == f"/jobs/{owner_job.pk}/download"
    image = owner_job.images.get()
    assert state["thumbnails"] == [
        f"/jobs/{owner_job.pk}/images/{image.pk}/128",
        f"/jobs/{owner_job.pk}/images/{image.pk}/256",
    ]


def test_the_download_is_an_attachment_with_the_whole_zip(client, owner_job):
    assert client.get(f"/jobs/{owner_job.pk}/download").status_code == 404  # not ready yet
    run_job(owner_job)
    response = client.get(f"/jobs/{owner_job.pk}/download")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        f'attachment; filename="thumbnails-{str(owner_job.pk)[:8]}.zip"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    with zipfile.ZipFile(BytesIO(b"".join(response.streaming_content))) as archive:
        assert sorted(archive.namelist()) == [
            "originals/photo.jpg",
            "thumbnails/128/photo.jpg",
            "thumbnails/256/photo.jpg",
        ]


@pytest.mark.parametrize("page", ["", "progress", "status.json", "download", "images/{image}/128"])
def test_another_session_gets_404_for_everything_of_a_job(client, owner_job, page):
    run_job(owner_job)
    url = f"/jobs/{owner_job.pk}/" + page.format(image=owner_job.images.get().pk)
    assert client.get(url).status_code == 200
    stranger = Client()
    stranger.get("/")  # has a session of its own
    assert stranger.get(url).status_code == 404
    assert Client().get(url).status_code == 404  # and one without any session


def test_a_thumbnail_of_another_job_is_not_served_through_this_one(client, owner_job):
    run_job(owner_job)
    post(client, [upload("second.jpg")])
    other = ThumbnailJob.objects.exclude(pk=owner_job.pk).get()
    run_job(other)
    image = other.images.get()
    assert client.get(f"/jobs/{owner_job.pk}/images/{image.pk}/128").status_code == 404
    assert (
        client.get(f"/jobs/{owner_job.pk}/images/{owner_job.images.get().pk}/999").status_code
        == 404
    )


# Bad input: the form again with a specific message, no job, no file left.


def truncated_jpeg() -> bytes:
    data = image_bytes("JPEG", (640, 480))
    return data[: len(data) // 2]


BAD_UPLOADS = {
    "text-named-jpg": (
        [("notes.jpg", b"Dear diary, this is not a picture.")],
        "“notes.jpg”: The file is not a JPEG, PNG, WebP, GIF, BMP, HEIC or AVIF image.",
    ),
    "empty-file": ([("empty.jpg", b"")], "“empty.jpg” is empty."),
    "truncated-jpeg": (
        [("cut.jpg", truncated_jpeg())],
        "“cut.jpg”: The image is damaged or incomplete.",
    ),
    "html-with-png-header": (
        [("page.png", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>")],
        "“page.png”: The file is not a JPEG, PNG, WebP, GIF, BMP, HEIC or AVIF image.",
    ),
    "over-the-pixel-limit": (
        [("bomb.png", huge_png())],
        "“bomb.png”: The image has too many pixels: at most 50,000,000 are accepted.",
    ),
    "one-bad-among-good": (
        [("good.jpg", image_bytes()), ("notes.jpg", b"plain text")],
        "“notes.jpg”: The file is not a JPEG, PNG, WebP, GIF, BMP, HEIC or AVIF image.",
    ),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_bad_files_get_a_specific_message_and_leave_nothing(client, media_root, settings, case):
    settings.MAX_IMAGE_PIXELS = 50_000_000
    files, message = BAD_UPLOADS[case]
    response = post(client, [upload(name, data) for name, data in files])
    assert_refused(response, message, media_root)


def assert_refused(response, message, media_root, field="images"):
    """The form came back with `message` among `field`'s errors, in the error summary and
    beside that field (which points to them, is marked invalid and has the focus), and nothing
    was kept."""
    assert response.status_code == 200
    assert message in response.context["form"].errors.get(field, [])
    html = response.content.decode()
    shown = re.search(rf'<ul id="{field}-errors" class="field-errors">(.*?)</ul>', html)
    assert shown and f"<li>{escape(message)}</li>" in shown[1], html
    described = re.search(rf'<[^>]* aria-describedby="[^"]*\b{field}-errors"[^>]*>', html)
    assert described and 'aria-invalid="true"' in described[0], html
    # As GOV.UK's forms: "Error:" first in the title, an alert around a plain list whose items
    # link to the fields, and the page opens on the first field in error.
    assert "<title>Error: Thumbnails · image_parroter</title>" in html
    summary = re.search(
        r'<div class="error-summary" role="alert" tabindex="-1">(.*?)</div>', html, re.S
    )
    first_input = "id_images" if field == "images" else "id_sizes_0"
    assert summary and f'<li><a href="#{first_input}">{escape(message)}</a></li>' in summary[1]
    assert re.search(rf'<input [^>]*\bautofocus\b[^>]* id="{first_input}"', html), html
    assert ThumbnailJob.objects.count() == 0
    assert stored_files(media_root) == []


def test_a_file_over_the_byte_limit_is_refused_by_its_size_before_it_is_read(
    client, media_root, settings
):
    settings.MAX_UPLOAD_BYTES = 1000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # through the temporary-file handler
    # Not even an image: the size alone decides, before anything opens the file.
    response = post(client, [upload("big.jpg", b"x" * 1001)])
    assert_refused(
        response, "“big.jpg” is 1001\xa0bytes; each file may be at most 1000\xa0bytes.", media_root
    )


def test_too_many_files_are_refused(client, media_root, settings):
    settings.MAX_FILES_PER_JOB = 2
    response = post(client, [upload(f"{n}.jpg") for n in range(3)])
    assert_refused(response, "Upload at most 2 files at once (you chose 3).", media_root)


def test_no_file_is_refused(client, media_root):
    assert_refused(post(client, []), "Choose at least one image.", media_root)


def test_no_size_ticked_in_the_form_is_refused(client, media_root):
    data = {"images": [upload()], "sizes_offered": "True"}  # the form, every box unticked
    response = client.post(reverse("thumbnailer:upload"), data)
    assert_refused(response, "Choose at least one size.", media_root, field="sizes")


def test_a_script_that_leaves_sizes_out_gets_every_size(client, settings):
    settings.THUMBNAIL_SIZES = [512, 128, 256]
    response = post(client, [upload()], sizes=None)
    assert response.status_code == 302
    assert ThumbnailJob.objects.get().sizes == [128, 256, 512]


def test_an_unknown_size_is_refused(client, media_root):
    response = post(client, [upload()], sizes=["128", "999"])
    assert_refused(response, "999 is not one of the sizes on offer.", media_root, field="sizes")


def test_the_upload_handler_stops_keeping_a_file_past_the_byte_limit(settings):
    settings.MAX_UPLOAD_BYTES = 1000
    handler = SizeLimitedUploadHandler()
    handler.new_file("images", "big.jpg", "image/jpeg", 5000)
    for start in range(0, 5000, 400):
        handler.receive_data_chunk(b"x" * 400, start)
    file = handler.file_complete(5000)
    assert file.size == 5000
    assert len(file.read()) == 800  # the whole chunks under the limit, nothing after


def test_storage_that_refuses_the_upload_answers_503_and_keeps_nothing(client, settings, tmp_path):
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("")
    settings.MEDIA_ROOT = str(not_a_folder / "media")

    response = post(client, [upload("photo.jpg")])

    assert response.status_code == 503
    assert escape(str(STORAGE_UNAVAILABLE)) in response.content.decode()
    assert ThumbnailJob.objects.count() == 0


def test_the_job_page_says_which_files_are_animations_shown_by_their_first_frame(client):
    frames = [Image.new("RGB", (120, 80), colour) for colour in ("red", "blue", "green")]
    buffer = BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    files = [upload("dance.gif", buffer.getvalue(), "image/gif"), upload("still.jpg")]
    response = post(client, files)
    assert response.status_code == 302

    page = client.get(response["Location"]).content.decode()

    assert "“dance.gif” is an animation (3 frames): its thumbnails show its first frame." in page
    assert "still.jpg” is an animation" not in page


def test_a_script_that_asks_for_json_gets_its_errors_as_json_with_400(client, media_root):
    data = {"images": [upload("notes.jpg", b"just text")]}

    response = client.post("/", data, headers={"Accept": "application/json"})

    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "images": [
                {
                    "message": "“notes.jpg”: The file is not a JPEG, PNG, WebP, GIF, BMP, HEIC "
                    "or AVIF image.",
                    "code": "invalid_image",
                }
            ]
        }
    }
    assert ThumbnailJob.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_documented_script_upload_works_word_for_word(live_server, tmp_path, settings):
    readme = (settings.BASE_DIR / "docs" / "FEATURES.md").read_text()
    script = re.search(r"```sh\n(curl -s -c jar -b jar -o /dev/null .+?)```", readme, re.S)[1]
    (tmp_path / "photo.jpg").write_bytes(image_bytes("JPEG", (300, 200)))

    run = subprocess.run(
        ["bash", "-ec", script.replace("http://127.0.0.1:8000", live_server.url)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    state = json.loads(run.stdout)
    assert state["status"] in ("queued", "running", "done")
    assert ThumbnailJob.objects.get(pk=state["id"]).sizes == [128]


def test_the_owner_cancels_a_queued_job_and_can_start_it_again(
    client, owner_job, django_capture_on_commit_callbacks
):
    page = client.get(owner_job.get_absolute_url()).content.decode()
    assert f'action="/jobs/{owner_job.pk}/cancel"' in page

    response = client.post(f"/jobs/{owner_job.pk}/cancel")

    assert response.status_code == 302
    owner_job.refresh_from_db()
    assert owner_job.status == "cancelled" and owner_job.finished_at
    assert client.get(f"/jobs/{owner_job.pk}/status.json").json()["status"] == "cancelled"
    page = client.get(owner_job.get_absolute_url()).content.decode()
    assert "Cancelled: nothing was kept." in page and "Try again" in page

    with django_capture_on_commit_callbacks() as callbacks:
        client.post(f"/jobs/{owner_job.pk}/retry")
    owner_job.refresh_from_db()
    assert owner_job.status == "queued" and len(callbacks) == 1


def test_only_the_owner_can_cancel_or_retry(owner_job):
    stranger = Client()
    for action in ("cancel", "retry"):
        assert stranger.post(f"/jobs/{owner_job.pk}/{action}").status_code == 404
    owner_job.refresh_from_db()
    assert owner_job.status == "queued"


def test_a_finished_job_is_not_cancelled(client, owner_job):
    owner_job = run_job(owner_job)
    client.post(f"/jobs/{owner_job.pk}/cancel")
    owner_job.refresh_from_db()
    assert owner_job.status == "done" and owner_job.archive


def test_the_job_page_shows_each_images_previews_as_soon_as_it_is_done(client):
    response = post(client, [upload("first.jpg"), upload("second.jpg")])
    job = ThumbnailJob.objects.get()
    services.image_thumbnails_make(image=job.images.select_related("job").get(name="first.jpg"))

    page = client.get(response["Location"]).content.decode()

    assert "1 of 2 images done." in page
    # Its preview with its real dimensions (a 64x48 photo, never enlarged), and its link.
    first = job.images.get(name="first.jpg")
    assert f'src="{first.thumbnail_url(128)}"' in page and 'width="64" height="48"' in page
    assert 'aria-label="first.jpg, 128 px thumbnail">128 px</a>' in page
    assert "second.jpg · <small>waiting</small>" in page
    assert 'aria-label="second.jpg' not in page


def test_a_share_link_opens_the_job_elsewhere_and_nothing_else_does(client, owner_job):
    page = client.post(f"/jobs/{owner_job.pk}/share").content.decode()
    link = re.search(r'value="(http://[^"]+\?key=[^"]+)"', page)[1]
    path = link.split("testserver", 1)[1]
    run_job(owner_job)

    elsewhere = Client()
    response = elsewhere.get(path)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{owner_job.pk}/"
    assert elsewhere.get(response["Location"]).status_code == 200
    assert elsewhere.get(f"/jobs/{owner_job.pk}/status.json").json()["status"] == "done"
    assert elsewhere.get(f"/jobs/{owner_job.pk}/download").status_code == 200

    stranger = Client()
    assert stranger.get(f"/jobs/{owner_job.pk}/?key=not-the-key").status_code == 404
    assert stranger.get(f"/jobs/{owner_job.pk}/").status_code == 404
    assert stranger.get(f"/jobs/{owner_job.pk}/status.json").status_code == 404
    # The same link keeps working: one key per job.
    assert client.post(f"/jobs/{owner_job.pk}/share").content.decode().count(link) == 1


def share_link_path(client, job) -> str:
    page = client.post(f"/jobs/{job.pk}/share").content.decode()
    return re.search(r'value="http://testserver([^"]+\?key=[^"]+)"', page)[1]


def test_a_share_link_lets_its_holder_view_and_download_and_nothing_more(client, owner_job):
    path = share_link_path(client, owner_job)
    viewer = Client()
    viewer.get(path)

    page = viewer.get(f"/jobs/{owner_job.pk}/").content.decode()
    assert "Cancel" not in page and "Share a link" not in page and "Stop sharing" not in page
    for action in ("cancel", "retry", "share", "share/revoke"):
        assert viewer.post(f"/jobs/{owner_job.pk}/{action}").status_code == 404
    owner_job.refresh_from_db()
    assert owner_job.status == "queued"

    services.job_fail(job=owner_job, reason=owner_job.lost_runs_reason(3))
    page = viewer.get(f"/jobs/{owner_job.pk}/").content.decode()
    assert "Nothing was made." in page and "Try again" not in page
    assert "Try again" in client.get(f"/jobs/{owner_job.pk}/").content.decode()


def test_a_revoked_share_link_is_a_404_at_once_even_where_it_was_opened(client, owner_job):
    run_job(owner_job)
    path = share_link_path(client, owner_job)
    viewer = Client()
    viewer.get(path)
    assert viewer.get(f"/jobs/{owner_job.pk}/download").status_code == 200

    response = client.post(f"/jobs/{owner_job.pk}/share/revoke")

    assert response.status_code == 302
    assert (
        "The share link no longer opens this job."
        in client.get(response["Location"]).content.decode()
    )
    for url in ("", "status.json", "progress", "download"):
        assert viewer.get(f"/jobs/{owner_job.pk}/{url}").status_code == 404
    assert Client().get(path).status_code == 404
    # The owner keeps the job, and a new link is a new key.
    assert client.get(f"/jobs/{owner_job.pk}/").status_code == 200
    assert share_link_path(client, owner_job) != path


def test_a_job_never_shared_opens_for_no_key(client, owner_job):
    assert Client().get(f"/jobs/{owner_job.pk}/?key=").status_code == 404


def test_through_the_front_a_download_is_an_x_accel_redirect_and_without_it_the_file(
    client, owner_job, settings
):
    """The front offers to send files (X-Sendfile-Type); only the front on gunicorn's socket
    (DJANGO_TRUSTED_PROXIES=unix: REMOTE_ADDR empty) is believed."""
    run_job(owner_job)
    settings.TRUSTED_PROXIES = ["unix"]
    url, offer = f"/jobs/{owner_job.pk}/download", {"HTTP_X_SENDFILE_TYPE": "X-Accel-Redirect"}
    through_front = client.get(url, REMOTE_ADDR="", **offer)
    assert through_front.status_code == 200 and through_front.content == b""
    assert through_front["X-Accel-Redirect"] == f"/_media/{owner_job.archive.name}"
    assert through_front["Content-Type"] == "application/zip"
    assert through_front["Content-Disposition"].startswith('attachment; filename="thumbnails-')
    image = owner_job.images.get()
    preview = client.get(f"/jobs/{owner_job.pk}/images/{image.pk}/128", REMOTE_ADDR="", **offer)
    assert preview["X-Accel-Redirect"] == f"/_media/{image.thumbnails['128']}"
    assert preview["Content-Type"] == "image/jpeg"
    # A client that makes the offer itself gets the file from Django, as does gunicorn alone.
    for direct in (client.get(url, **offer), client.get(url)):
        assert "X-Accel-Redirect" not in direct
        assert zipfile.is_zipfile(BytesIO(b"".join(direct.streaming_content)))

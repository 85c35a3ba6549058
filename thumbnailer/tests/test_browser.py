import zipfile

import pytest
from playwright.sync_api import expect

from .images import image_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


def test_upload_watch_the_bar_reach_100_see_previews_and_download_the_zip(page, celery_worker):
    page.goto("/")
    page.get_by_label("Images").set_input_files(
        [
            {
                "name": "holiday.jpg",
                "mimeType": "image/jpeg",
                "buffer": image_bytes("JPEG", (1600, 1200)),
            },
            {"name": "logo.png", "mimeType": "image/png", "buffer": image_bytes("PNG", (300, 300))},
        ]
    )
    page.get_by_label("512 px").uncheck()
    page.get_by_role("button", name="Make thumbnails").click()

    page.wait_for_url("**/jobs/*/")
    bar = page.get_by_role("progressbar", name="Progress")
    expect(bar).to_have_attribute("value", "100", timeout=60_000)
    expect(page.locator(".job-status")).to_have_text("Done")

    for name in ("holiday.jpg", "logo.png"):
        preview = page.locator(".previews li", has_text=name).locator("img")
        expect(preview).to_be_visible()
        assert preview.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
        for size in (128, 256):
            link = page.get_by_role("link", name=f"{name}, {size} px thumbnail")
            assert (
                page.request.get(link.get_attribute("href"))
                .headers["content-type"]
                .startswith("image/")
            )

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the zip").click()
    download = download_info.value
    assert download.suggested_filename.startswith("thumbnails-")
    with zipfile.ZipFile(download.path()) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == [
            "originals/holiday.jpg",
            "originals/logo.png",
            "thumbnails/128/holiday.jpg",
            "thumbnails/128/logo.png",
            "thumbnails/256/holiday.jpg",
            "thumbnails/256/logo.png",
        ]

    page.goto("/")  # the job is listed for this session
    expect(page.get_by_role("cell", name="Done")).to_be_visible()

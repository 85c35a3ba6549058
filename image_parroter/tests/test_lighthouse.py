"""Lighthouse 12 (package.json, run with Node) on the upload page and on a done job of 20
images, as a phone sees them (Lighthouse's default: a mid-range phone's screen): accessibility
100, best practices 100, and a layout that does not jump (cumulative layout shift under 0.05).
Slow: each audit loads the page in a Chromium of its own for about 15 s."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CHROMIUM, cannot_run
from scripts.devstack import free_port
from thumbnailer import services
from thumbnailer.models import ThumbnailJob
from thumbnailer.tests.images import image_bytes

from .waiting import budget

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LIGHTHOUSE = (
    Path(__file__).resolve().parents[2] / "node_modules" / "lighthouse" / "cli" / "index.js"
)
CATEGORIES = ("accessibility", "best-practices", "performance")


def audit(browser, url: str, cookies: list[dict], folder: Path) -> dict:
    """Lighthouse's scores (0-100) by category, the layout shift, and each failed audit of
    the accessibility and best-practices categories with what the console said, for `url`
    opened in a new Chromium holding `cookies` (Lighthouse's --extra-headers Cookie does not
    reach the page's images in this Chromium)."""
    node = shutil.which("node")
    if not (node and LIGHTHOUSE.exists()):
        cannot_run(f"needs node and {LIGHTHOUSE} (`make install` installs it with npm)")
    port = free_port()
    chromium = browser.browser_type.launch_persistent_context(
        folder / "profile",
        executable_path=str(CHROMIUM),
        args=["--no-sandbox", "--disable-gpu", f"--remote-debugging-port={port}"],
    )
    chromium.add_cookies(cookies)
    report = folder / "report.json"
    try:
        subprocess.run(
            [
                node,
                str(LIGHTHOUSE),
                url,
                "--quiet",
                f"--port={port}",
                "--disable-storage-reset",  # which would forget the cookies
                "--output=json",
                f"--output-path={report}",
                f"--only-categories={','.join(CATEGORIES)}",
            ],
            check=True,
            timeout=budget(120),
        )
    finally:
        chromium.close()
    result = json.loads(report.read_text())
    audits = result["audits"]
    failed = {
        ref["id"]: audits[ref["id"]]["title"]
        for name in ("accessibility", "best-practices")
        for ref in result["categories"][name]["auditRefs"]
        if ref["weight"] and audits[ref["id"]]["score"] not in (1, None)
    }
    return {
        **{name: round(result["categories"][name]["score"] * 100) for name in CATEGORIES},
        "layout_shift": round(audits["cumulative-layout-shift"]["numericValue"], 3),
        "failed": failed,
        "console": [
            item["description"] for item in audits["errors-in-console"]["details"]["items"]
        ],
    }


def test_the_upload_page_and_a_done_job_of_20_images(
    browser, page, live_server, sent_tasks, tmp_path
):
    page.goto("/")
    photos = [
        {
            "name": f"photo-{n:02}.jpg",
            "mimeType": "image/jpeg",
            "buffer": image_bytes("JPEG", (1200, 800 + n)),
        }
        for n in range(20)
    ]
    page.locator("input[type=file]").set_input_files(photos)
    page.locator("form[data-upload] button[type=submit]").click()
    page.wait_for_url("**/jobs/*/")
    job = ThumbnailJob.objects.get()
    services.job_run(job=job)
    job.refresh_from_db()
    assert job.status == "done"

    # On a phone, the 20 images are a compact grid, not a column of 60 thumbnails (13,000 px).
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(job.get_absolute_url())
    # Every image loaded (they are lazy), as they are once someone has scrolled through.
    page.evaluate(
        "Promise.all([...document.images].map(img => {"
        " img.loading = 'eager'; return img.decode().catch(() => null); }))"
    )
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"The done job at 390 px: {height} px high")
    assert height < 4000, height

    scores = {}
    for name, path in (("upload", "/"), ("done job", job.get_absolute_url())):
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        scores[name] = audit(browser, live_server.url + path, page.context.cookies(), folder)
    print("Lighthouse:", json.dumps(scores, indent=1))
    for name, found in scores.items():
        assert found["accessibility"] == 100, (name, found)
        assert found["best-practices"] == 100, (name, found)
        assert found["layout_shift"] < 0.05, (name, found)

"""The upload form in a real Chromium (static/upload.js): files listed with previews and
checked before they are sent, the bytes sent shown, the server's refusals shown per file with
the good files kept, drag and drop, and the plain form without JavaScript."""

import time

import pytest
from playwright.sync_api import expect

from thumbnailer.models import ThumbnailJob

from .images import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def jpeg(name: str, size=(400, 300)) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": image_bytes("JPEG", size)}


def test_files_are_listed_and_checked_before_anything_is_sent(page, settings):
    posts = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    page.goto("/")
    big = {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"\xff" * (38 * 2**20)}
    notes = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just text"}
    page.get_by_label("Images").set_input_files([jpeg("holiday.jpg"), big, notes])

    files = page.get_by_role("list", name="Chosen files").get_by_role("listitem")
    expect(files).to_have_count(3)
    expect(files.nth(0)).to_contain_text("holiday.jpg")
    assert files.nth(0).locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)")
    expect(files.nth(1)).to_contain_text("“big.jpg” is 38.0 MB; each file may be at most 25.0 MB.")
    expect(files.nth(2)).to_contain_text(
        "“notes.txt”: The file is not a JPEG, PNG, WebP, GIF, BMP, HEIC or AVIF image."
    )

    page.get_by_role("button", name="Make thumbnails").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Remove or replace these files first")
    assert posts == []  # nothing crossed the network

    page.get_by_role("button", name="Remove big.jpg").click()
    page.get_by_role("button", name="Remove notes.txt").click()
    expect(files).to_have_count(1)
    page.get_by_role("button", name="Make thumbnails").click()
    page.wait_for_url("**/jobs/*/")
    assert [image.name for image in ThumbnailJob.objects.get().images.all()] == ["holiday.jpg"]


def test_a_file_the_server_refuses_is_named_and_the_good_ones_stay_chosen(page):
    page.goto("/")
    fake = {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a picture at all"}
    page.get_by_label("Images").set_input_files([jpeg("holiday.jpg"), fake])

    page.get_by_role("button", name="Make thumbnails").click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("“notes.jpg”: The file is not a JPEG")
    files = page.get_by_role("list", name="Chosen files").get_by_role("listitem")
    expect(files.filter(has_text="notes.jpg")).to_contain_text("The file is not a JPEG")
    expect(files.filter(has_text="holiday.jpg")).to_be_visible()
    expect(page.get_by_role("button", name="Make thumbnails")).to_be_enabled()
    assert ThumbnailJob.objects.count() == 0

    page.get_by_role("button", name="Remove notes.jpg").click()
    page.get_by_role("button", name="Make thumbnails").click()
    page.wait_for_url("**/jobs/*/")
    assert ThumbnailJob.objects.get().images.get().name == "holiday.jpg"


def test_sending_shows_the_bytes_sent_and_the_button_is_busy(page):
    page.goto("/")
    page.get_by_label("Images").set_input_files([jpeg("large.jpg", (3000, 2000))])

    # Hold the upload a moment, so that the page can be seen while it sends.
    def held(route):
        if route.request.method == "POST":
            time.sleep(1)
        route.continue_()

    page.route("**/", held)
    page.get_by_role("button", name="Make thumbnails").click()

    expect(page.get_by_role("button", name="Make thumbnails")).to_be_disabled()
    expect(page.get_by_role("button", name="Make thumbnails")).to_have_attribute(
        "aria-busy", "true"
    )
    expect(page.locator(".upload-progress")).to_contain_text("Sending:")
    # Said once by the form's status line, not at every byte.
    expect(page.locator("form [role=status]")).to_contain_text("Sending:")
    page.wait_for_url("**/jobs/*/")


def test_files_dropped_on_the_zone_are_chosen(page):
    page.goto("/")
    zone = page.locator(".dropzone-area")
    transfer = page.evaluate_handle(
        """() => {
          const transfer = new DataTransfer();
          const pixel = Uint8Array.from(atob(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
          ), c => c.charCodeAt(0));
          transfer.items.add(new File([pixel], "dropped.png", { type: "image/png" }));
          return transfer;
        }"""
    )
    zone.dispatch_event("dragover", {"dataTransfer": transfer})
    expect(zone).to_have_class("dropzone-area drag-over")
    zone.dispatch_event("drop", {"dataTransfer": transfer})
    expect(zone).to_have_class("dropzone-area")

    files = page.get_by_role("list", name="Chosen files").get_by_role("listitem")
    expect(files).to_have_count(1)
    expect(files.first).to_contain_text("dropped.png")
    page.get_by_role("button", name="Make thumbnails").click()
    page.wait_for_url("**/jobs/*/")


def test_without_javascript_the_form_still_uploads(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    page.get_by_label("Images").set_input_files([jpeg("holiday.jpg")])
    page.get_by_role("button", name="Make thumbnails").click()
    page.wait_for_url("**/jobs/*/")
    assert ThumbnailJob.objects.get().images.get().name == "holiday.jpg"
    context.close()


def test_one_file_too_many_is_refused_and_the_list_works_from_the_keyboard(page, settings):
    settings.MAX_FILES_PER_JOB = 2  # the live server renders the limit into the form
    page.goto("/")
    page.get_by_label("Images").set_input_files([jpeg("a.jpg"), jpeg("b.jpg"), jpeg("c.jpg")])
    files = page.get_by_role("list", name="Chosen files").get_by_role("listitem")
    expect(files.nth(2)).to_contain_text("“c.jpg” is one too many: at most 2 files at once.")
    # The chooser counts what the list shows, the refused file too.
    assert page.get_by_label("Images").evaluate("input => input.files.length") == 3

    remove = page.get_by_role("button", name="Remove c.jpg")
    look = "b => { const s = getComputedStyle(b); return s.boxShadow + ' ' + s.outline; }"
    unfocused = remove.evaluate(look)
    page.get_by_role("button", name="Remove b.jpg").focus()
    page.keyboard.press("Tab")  # from the keyboard, so that :focus-visible applies
    expect(remove).to_be_focused()
    assert remove.evaluate(look) != unfocused, "a focused button shows a focus ring"
    page.keyboard.press("Enter")
    expect(files).to_have_count(2)
    # The focus goes to the Remove button now in its place (here the one before), not <body>.
    expect(page.get_by_role("button", name="Remove b.jpg")).to_be_focused()
    expect(page.locator(".chosen-files [aria-invalid]")).to_have_count(0)

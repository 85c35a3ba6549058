"""The site with the keyboard alone, in a real Chromium, while its live parts update: a whole
upload, cancel, try again and download; a batch's Cancel and the search box keep the focus
through every update (static/follow.js morphs them, it does not replace them), the search
text survives the batch's end, and each live part's status line speaks at its steps, not at
every tick. And every control shows a focus ring of 3:1 or more, in the light and the dark
theme."""

import zipfile

import pytest
from playwright.sync_api import expect

from thumbnailer import services
from thumbnailer.models import ThumbnailJob
from thumbnailer.tests.images import image_bytes
from users.models import User, UserBatch

from .test_small_screens import CONTRAST

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Counts, from the page itself, each change of the element matched by `selector` (a live
# part) after which the focus was on <body>; and how often its status line's words changed.
WATCH = """selector => {
  const part = document.querySelector(selector);
  window.watched = { updates: 0, focusLost: 0, said: [] };
  new MutationObserver(() => {
    window.watched.updates++;
    if (document.activeElement === document.body) window.watched.focusLost++;
  }).observe(part, { subtree: true, childList: true, attributes: true, characterData: true });
  const status = part.querySelector("[role=status]");
  new MutationObserver(() => window.watched.said.push(status.textContent.trim()))
    .observe(status, { subtree: true, childList: true, characterData: true });
}"""


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the focus is on `selector`; it never falls to <body> on the way."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement !== document.body"), "focus on <body>"
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} not reached in {limit} presses of Tab")


def mark_focused(page) -> None:
    page.evaluate("document.activeElement.wasFocused = true")  # a property: morphs keep it


def still_focused(page) -> bool:
    """The very element marked, not a new one put in its place."""
    return page.evaluate("document.activeElement.wasFocused === true")


def jpeg(name: str) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": image_bytes("JPEG", (640, 480))}


def test_upload_cancel_try_again_and_download_with_the_keyboard(page, sent_tasks):
    page.goto("/")
    tab_to(page, "input[type=file]")
    # Space would open the system's file dialog, which is no part of the page: the files are
    # given to the focused chooser as that dialog would.
    page.locator("input[type=file]:focus").set_input_files(
        [jpeg(f"{name}.jpg") for name in ("harbour", "market", "tower")]
    )
    expect(page.locator(".chosen-count")).to_have_text("3 files chosen.")
    tab_to(page, "form[data-upload] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/jobs/*/")

    job = ThumbnailJob.objects.get()
    images = list(job.images.select_related("job"))
    status = page.get_by_role("status")
    # The first image's task marks the job running before its thumbnails are made: a poll may
    # fall between the two. Marked here first, the watch below sees only the images' steps.
    assert job.mark_running()
    expect(status).to_have_text("Running")
    tab_to(page, "#job-state form[action$='/cancel'] button")
    mark_focused(page)
    page.evaluate(WATCH, "#job-state")
    for made, image in enumerate(images[:2], start=1):
        services.image_thumbnails_make(image=ThumbnailJob.objects.get().images.get(pk=image.pk))
        expect(status).to_have_text(f"{made} of 3 images done.")
        assert still_focused(page), f"Cancel lost the focus after image {made}"
    watched = page.evaluate("window.watched")
    assert watched["updates"] > 0 and watched["focusLost"] == 0, watched
    assert watched["said"] == ["1 of 3 images done.", "2 of 3 images done."], watched

    page.keyboard.press("Enter")  # Cancel
    expect(status).to_have_text("Cancelled: nothing was kept.")
    tab_to(page, "#job-state form[action$='/retry'] button")
    page.keyboard.press("Enter")  # Try again
    expect(status).to_have_text("Queued")
    tab_to(page, "#job-state form[action$='/cancel'] button")
    page.evaluate(WATCH, "#job-state")
    services.job_run(job=ThumbnailJob.objects.get())
    expect(status).to_have_text("Done: 3 images made; the zip is ready.")
    # Cancel went with the job's end: the focus moved on to the download, not to <body>.
    download = page.get_by_role("button", name="Download the zip")
    expect(download).to_be_focused()
    assert page.evaluate("window.watched.focusLost") == 0
    with page.expect_download() as downloaded:
        page.keyboard.press("Enter")
    with zipfile.ZipFile(downloaded.value.path()) as archive:
        assert len(archive.namelist()) == 3 * 4  # three originals, three sizes of each


def test_a_batch_keeps_the_focus_and_the_search_text_through_its_updates(page, sent_tasks):
    page.goto("/users/generate/")
    tab_to(page, "input[name=total]")
    page.keyboard.type("60")
    page.keyboard.press("Enter")
    page.wait_for_url("**/users/")
    batch = UserBatch.objects.get()
    part = page.locator(f"#batch-{batch.pk}")
    cancel = f"#batch-{batch.pk} form button"
    tab_to(page, cancel)
    mark_focused(page)
    page.evaluate(WATCH, f"#batch-{batch.pk}")
    for created in (10, 20, 30):
        UserBatch.objects.filter(pk=batch.pk).update(
            status="running", created=created, progress=created * 100 // 60
        )
        expect(part).to_contain_text(f"{created} of 60 users")
        assert still_focused(page), f"Cancel lost the focus at {created} users"
    watched = page.evaluate("window.watched")
    assert watched["updates"] >= 3 and watched["focusLost"] == 0, watched
    assert watched["said"] == ["Running"], watched  # once, not at every tick

    # Someone types a search while the batch ends, and the users table reloads below.
    tab_to(page, "input[type=search]")
    page.keyboard.type("user_00")
    User.objects.bulk_create(
        User(username=f"user_{n:03}", email=f"user{n}@example.com", batch=batch) for n in range(60)
    )
    UserBatch.objects.filter(pk=batch.pk).update(status="done", created=60, progress=100)
    expect(part.get_by_role("status")).to_have_text("Batch done: 60 users.")
    expect(page.locator("#user-rows").get_by_role("cell", name="user_059")).to_be_visible()
    search = page.get_by_role("searchbox")
    expect(search).to_be_focused()
    expect(search).to_have_value("user_00")
    page.keyboard.press("Enter")
    page.wait_for_url("**/users/?q=user_00")
    expect(page.locator("#user-rows tbody tr")).to_have_count(10)


# Each control reached by Tab: its outline's width and its contrast with what is behind it.
RING = (
    """element => {
  const contrast = """
    + CONTRAST
    + """;
  const style = getComputedStyle(element);
  const probe = document.createElement("span");
  probe.style.color = style.outlineColor;
  (element.parentElement || document.body).append(probe);
  const ratio = contrast(probe);
  probe.remove();
  const name = element.id || element.getAttribute("aria-label") || element.textContent.trim();
  return {
    name: `${element.tagName.toLowerCase()} ${name.slice(0, 40)}`,
    width: style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth),
    ratio,
  };
}"""
)


def rings(page, limit: int = 80) -> list[dict]:
    """Tab through the whole page: each control's ring, until the focus leaves the page."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate_handle("document.activeElement")
        if page.evaluate("document.activeElement === document.body"):
            return seen
        seen.append(focused.evaluate(RING))
    return seen


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_every_control_shows_a_focus_ring_of_3_to_1(browser, live_server, sent_tasks, color_scheme):
    context = browser.new_context(base_url=live_server.url, color_scheme=color_scheme)
    context.set_default_timeout(20_000)
    page = context.new_page()
    found = {}
    page.goto("/")
    not_an_image = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"a list"}
    page.locator("input[type=file]").set_input_files([jpeg("harbour.jpg"), not_an_image])
    page.locator(".chosen-files li").nth(1).wait_for()
    found["upload, a file refused"] = rings(page)
    page.locator(".chosen-files li").nth(1).get_by_role("button").click()
    page.get_by_role("button", name="Make thumbnails").click()
    page.wait_for_url("**/jobs/*/")
    found["job, running"] = rings(page)
    services.job_run(job=ThumbnailJob.objects.get())
    page.get_by_role("button", name="Download the zip").wait_for()
    found["job, done"] = rings(page)
    made = UserBatch.objects.create(total=120, created=120, status="done")
    User.objects.bulk_create(User(username=f"user_{n:03}", batch=made) for n in range(120))
    page.goto("/users/generate/")
    page.get_by_label("How many users").fill("60")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_url("**/users/")
    found["users, a batch running"] = rings(page)
    context.close()

    assert all(found.values()), found
    weak = {
        state: [ring for ring in seen if ring["width"] < 2 or ring["ratio"] < 3]
        for state, seen in found.items()
    }
    assert not any(weak.values()), weak
    assert "input id_images" in [ring["name"] for ring in found["upload, a file refused"]]

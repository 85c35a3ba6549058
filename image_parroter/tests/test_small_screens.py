"""Phones and small screens, in a real Chromium: no page scrolls sideways at 390 px, and error
text keeps a 4.5:1 contrast in the light and the dark theme."""

import pytest

from thumbnailer.models import ThumbnailJob
from thumbnailer.tests.images import image_bytes
from users.models import User, UserBatch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The WCAG contrast ratio of an element's text against the first opaque background behind it.
CONTRAST = """
element => {
  const channels = color => color.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const luminance = ([r, g, b]) => {
    const linear = c => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  let behind = element;
  let background = channels(getComputedStyle(behind).backgroundColor);
  while ((background[3] === 0) && behind.parentElement) {
    behind = behind.parentElement;
    background = channels(getComputedStyle(behind).backgroundColor);
  }
  if (background[3] === 0) background = [255, 255, 255];
  const [a, b] = [luminance(channels(getComputedStyle(element).color)), luminance(background)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}
"""


@pytest.fixture
def phone(browser, live_server):
    def open_page(color_scheme: str = "light"):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": 390, "height": 844},
            color_scheme=color_scheme,
        )
        context.set_default_timeout(20_000)
        return context.new_page()

    return open_page


def test_no_page_scrolls_sideways_at_390_px(phone):
    batch = UserBatch.objects.create(total=60, created=60, status="done")
    User.objects.bulk_create(
        User(
            username=f"user_{'x' * 40}{number}",
            email=f"someone.with.a.long.name{number}@example.com",
            batch=batch,
        )
        for number in range(60)
    )
    page = phone()
    # A job of this browser's own session, made through the page (another session's job
    # page is a 404).
    page.goto("/")
    name = f"a-photo-with-a-rather-long-name-{'x' * 40}.jpg"
    photo = {"name": name, "mimeType": "image/jpeg", "buffer": image_bytes("JPEG", (400, 300))}
    page.get_by_label("Images").set_input_files([photo])
    page.get_by_role("button", name="Make thumbnails").click()
    page.wait_for_url("**/jobs/*/")
    job = ThumbnailJob.objects.get()
    for path in ("/", "/users/", "/users/generate/", "/admin/login/", f"/jobs/{job.pk}/"):
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    # The last page measured is the job's own page, not the 404 page.
    assert page.title().startswith("Thumbnail job")
    assert page.get_by_role("button", name="Share a link to this job").is_visible()


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_error_text_keeps_a_4_5_to_1_contrast(phone, color_scheme):
    page = phone(color_scheme)
    page.goto("/users/generate/")
    page.get_by_label("How many users").fill("7")
    # Past the browser's own check (min 50), to the server's message.
    page.locator("main form").evaluate("form => { form.noValidate = true; }")
    page.locator("main form").get_by_role("button").click()
    error = page.locator(".field-errors li").first
    error.wait_for()  # the refused form, once it has come back
    assert error.evaluate(CONTRAST) >= 4.5

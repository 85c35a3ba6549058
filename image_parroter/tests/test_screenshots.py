"""The README's screenshots, taken in a real Chromium. Each run checks that they can be taken
and stay small; `UPDATE_SCREENSHOTS=1 make test ARGS="-k screenshots"` writes them to
docs/screenshots/ for the README."""

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from thumbnailer import services
from thumbnailer.models import JobImage, ThumbnailJob
from thumbnailer.tests.images import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOLDER = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SMALL = 120 * 1024


@pytest.fixture
def camera(browser, live_server, tmp_path):
    """`page, take = camera(locale=..., timezone_id=...)`: a page of a browser set so, and
    `take(name)`, which keeps a small screenshot of it."""
    folder = FOLDER if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    contexts = []

    def open_page(**options):
        options = {"viewport": {"width": 960, "height": 720}, **options}
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()

        def take(name: str) -> Path:
            path = folder / f"{name}.jpg"
            page.screenshot(path=path, type="jpeg", quality=70, full_page=False)
            assert path.stat().st_size < SMALL, (name, path.stat().st_size)
            return path

        return page, take

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def shot(camera):
    return camera()


def photo(name: str) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": image_bytes("JPEG", (900, 600))}


def one_of_three_made(page, *, button: str, made: str) -> None:
    """Send the chosen files without the 512 px size, and show the job with its first image
    made: no worker takes it (sent_tasks keeps it here), the test makes that image itself."""
    page.get_by_label("512 px").uncheck()
    page.get_by_role("button", name=button).click()
    page.wait_for_url("**/jobs/*/")
    job = ThumbnailJob.objects.get()
    services.image_thumbnails_make(image=job.images.select_related("job").first())
    page.get_by_text(made).wait_for()
    page.locator(".preview-frame img").first.evaluate("img => img.decode()")


def test_screenshots_for_the_readme(shot, sent_tasks, schedules):
    page, take = shot
    page.goto("/")
    files = [photo(f"{name}.jpg") for name in ("harbour", "market", "lighthouse")]
    page.get_by_label("Images").set_input_files(files)
    page.get_by_role("list", name="Chosen files").get_by_role("listitem").nth(2).wait_for()
    take("upload")

    one_of_three_made(page, button="Make thumbnails", made="1 of 3 images")
    take("running-job")

    get_user_model().objects.create_superuser("admin", "admin@example.com", "a long password")
    page.goto("/admin/login/?next=/admin/django_celery_beat/periodictask/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Next run").wait_for()
    page.set_viewport_size({"width": 1400, "height": 640})
    page.evaluate("document.querySelector('#toggle-nav-sidebar')?.click()")  # the table, wide
    take("admin-periodic-tasks")


def test_screenshots_in_two_other_languages(camera, sent_tasks):
    page, take = camera(locale="pt-BR", timezone_id="America/Sao_Paulo")
    page.goto("/")
    notes = {"name": "notas.txt", "mimeType": "text/plain", "buffer": b"lista de compras"}
    page.get_by_label("Imagens").set_input_files([photo("praia.jpg"), photo("feira.jpg"), notes])
    page.get_by_text("“notas.txt”: O arquivo não é uma imagem").wait_for()
    take("upload-pt-br")

    page, take = camera(locale="pl-PL", timezone_id="Europe/Warsaw")
    page.goto("/")
    files = [photo(f"{name}.jpg") for name in ("port", "rynek", "latarnia")]
    page.get_by_label("Obrazy").set_input_files(files)
    one_of_three_made(page, button="Utwórz miniatury", made="1 z 3 obrazów")
    take("running-job-pl")


def test_screenshots_of_a_phone_in_polish(camera, sent_tasks):
    """A phone's screen (390 x 844 CSS px) in Polish: the chosen files, one refused, and a job
    of six images, four of them made, in its compact grid."""
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    page, take = camera(locale="pl-PL", timezone_id="Europe/Warsaw", **phone)
    page.goto("/")
    notes = {"name": "lista.txt", "mimeType": "text/plain", "buffer": "lista zakupów".encode()}
    page.get_by_label("Obrazy").set_input_files([photo("port.jpg"), photo("rynek.jpg"), notes])
    page.get_by_text("1 pliku nie można przesłać").wait_for()
    page.get_by_role("list", name="Wybrane pliki").scroll_into_view_if_needed()
    take("phone-upload-pl")

    page.get_by_role("button", name="Usuń lista.txt").click()
    page.get_by_role("button", name="Usuń rynek.jpg").click()
    page.get_by_role("button", name="Usuń port.jpg").click()
    names = ("port", "rynek", "latarnia", "zamek", "most", "plaza")
    page.get_by_label("Obrazy").set_input_files([photo(f"{name}.jpg") for name in names])
    page.get_by_role("button", name="Utwórz miniatury").click()
    page.wait_for_url("**/jobs/*/")
    for image in ThumbnailJob.objects.get().images.all()[:4]:
        services.image_thumbnails_make(
            image=JobImage.objects.select_related("job").get(pk=image.pk)
        )
    page.get_by_text("Gotowe: 4 z 6 obrazów").wait_for()
    for preview in page.locator(".preview-frame img").all():
        preview.scroll_into_view_if_needed()
        preview.evaluate("img => img.decode()")
    page.locator("#job-state").evaluate("part => part.scrollIntoView()")
    take("phone-job-pl")

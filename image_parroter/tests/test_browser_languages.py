"""The main pages in a real Chromium in each language, as a browser set to it asks for them
(Accept-Language): the page's words, the upload form's own checks (static/upload.js, from the
JavaScript catalogue), a job's time in the browser's own zone (static/localtime.js), the 404
page, and the selector, which switches without JavaScript and keeps the page."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from thumbnailer.models import ThumbnailJob
from thumbnailer.tests.images import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STARTED = datetime(2026, 1, 15, 13, 5, tzinfo=UTC)
# language: the browser's locale and zone, then what the pages say; 13:05 UTC is local `hour`.
WALKS = {
    "en": (
        "en-US",
        "America/New_York",
        "8:05",
        {
            "upload": "Thumbnails",
            "empty": "“empty.jpg” is empty.",
            "button": "Make thumbnails",
            "job": "Thumbnail job",
            "queued": "Queued",
            "users": "Users",
            "missing": "Not found",
        },
    ),
    "pt-br": (
        "pt-BR",
        "America/Sao_Paulo",
        "10:05",
        {
            "upload": "Miniaturas",
            "empty": "“empty.jpg” está vazio.",
            "button": "Criar miniaturas",
            "job": "Trabalho de miniaturas",
            "queued": "Na fila",
            "users": "Usuários",
            "missing": "Não encontrado",
        },
    ),
    "es": (
        "es-ES",
        "Europe/Madrid",
        "14:05",
        {
            "upload": "Miniaturas",
            "empty": "«empty.jpg» está vacío.",
            "button": "Crear miniaturas",
            "job": "Trabajo de miniaturas",
            "queued": "En cola",
            "users": "Usuarios",
            "missing": "No encontrado",
        },
    ),
    "pl": (
        "pl-PL",
        "Europe/Warsaw",
        "14:05",
        {
            "upload": "Miniatury",
            "empty": "„empty.jpg” jest pusty.",
            "button": "Utwórz miniatury",
            "job": "Zlecenie miniatur",
            "queued": "W kolejce",
            "users": "Użytkownicy",
            "missing": "Nie znaleziono",
        },
    ),
}


@pytest.mark.parametrize("language", WALKS)
def test_the_main_pages_in_each_language(browser, live_server, sent_tasks, language):
    locale, zone, hour, words = WALKS[language]
    context = browser.new_context(base_url=live_server.url, locale=locale, timezone_id=zone)
    context.set_default_timeout(20_000)
    page = context.new_page()

    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_have_text(words["upload"])
    photo = {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": image_bytes("JPEG", (64, 48))}
    empty = {"name": "empty.jpg", "mimeType": "image/jpeg", "buffer": b""}
    page.locator("input[type=file]").set_input_files([photo, empty])
    chosen = page.locator(".chosen-files li")
    expect(chosen.nth(1)).to_contain_text(words["empty"])
    chosen.nth(1).get_by_role("button").click()
    page.get_by_role("button", name=words["button"]).click()
    page.wait_for_url("**/jobs/*/")

    expect(page.get_by_role("heading", level=1)).to_have_text(words["job"])
    expect(page.locator(".job-status")).to_have_text(words["queued"])
    ThumbnailJob.objects.update(created_at=STARTED)
    page.reload()
    started = page.locator("h1 + p time")
    expect(started).to_contain_text(hour)  # the browser's zone, named by Intl
    expect(started).not_to_contain_text("UTC")
    expect(started).to_have_attribute(
        "title", re.compile(r"(13:05|1:05 p\.m\.) UTC$")
    )  # the server's

    page.goto("/users/")
    expect(page.get_by_role("heading", level=1)).to_have_text(words["users"])
    page.goto("/no/such/page")
    expect(page.get_by_role("heading", level=1)).to_have_text(words["missing"])
    context.close()


def test_the_selector_switches_without_javascript_and_keeps_the_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", java_script_enabled=False
    )
    page = context.new_page()
    page.goto("/users/?q=nobody")
    page.get_by_label("Language").select_option("pl")
    page.get_by_role("button", name="Change language").click()

    page.wait_for_url("**/users/?q=nobody")
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    expect(page.get_by_text("Żaden użytkownik nie pasuje do „nobody”.")).to_be_visible()
    page.goto("/")  # remembered
    expect(page.get_by_role("heading", level=1)).to_have_text("Miniatury")
    context.close()

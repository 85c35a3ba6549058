"""The site in English, Brazilian Portuguese, Spanish and Polish: chosen by the browser's
Accept-Language or the selector on every page, named in <html lang>, with Polish plurals,
each language's numbers, failure reasons shown in the reader's language, and the admin naming
our models and their fields in it too."""

import re

import pytest
from django.urls import reverse

from image_parroter.tests.factories import owner_of, upload
from ops.models import DailySummary
from thumbnailer import services
from thumbnailer.models import ThumbnailJob
from users.models import UserBatch

pytestmark = pytest.mark.django_db

HOME = {
    "en": "Make thumbnails",
    "pt-br": "Criar miniaturas",
    "es": "Crear miniaturas",
    "pl": "Utwórz miniatury",
}


@pytest.mark.parametrize(("language", "button"), HOME.items())
def test_the_browsers_language_is_the_pages_language(client, language, button):
    page = client.get("/", headers={"Accept-Language": f"{language},en;q=0.5"}).content.decode()
    assert f'<html lang="{language}">' in page
    assert button in page


def test_english_without_accept_language_and_for_a_language_we_do_not_have(client):
    assert '<html lang="en">' in client.get("/").content.decode()
    page = client.get("/", headers={"Accept-Language": "ja"}).content.decode()
    assert '<html lang="en">' in page and "Make thumbnails" in page


def test_the_selector_remembers_the_choice_and_returns_to_the_page(client):
    page = client.get("/users/?q=ana").content.decode()
    assert 'action="/i18n/setlang/"' in page and 'value="/users/?q=ana"' in page

    response = client.post("/i18n/setlang/", {"language": "pl", "next": "/users/?q=ana"})

    assert response.status_code == 302 and response["Location"] == "/users/?q=ana"
    page = client.get("/users/?q=ana", headers={"Accept-Language": "es"}).content.decode()
    assert '<html lang="pl">' in page and "Żaden użytkownik nie pasuje do „ana”." in page


def test_the_share_page_sends_the_selector_back_to_the_job_it_answers_only_a_post(client):
    job = ThumbnailJob.objects.create(owner=owner_of(client), sizes=[128])
    page = client.post(reverse("thumbnailer:share", args=[job.pk])).content.decode()
    assert f'name="next" value="{job.get_absolute_url()}"' in page


@pytest.mark.parametrize(
    ("count", "words"), [(1, "1 nowy użytkownik,"), (3, "3 nowi użytkownicy,"), (5, "5 nowych")]
)
def test_polish_has_three_plural_forms(client, count, words):
    DailySummary.objects.create(day="2026-03-14", users=count, jobs=22, failures=112)
    page = client.get("/", headers={"Accept-Language": "pl"}).content.decode()
    assert words in page
    assert "22 zlecenia," in page and "112 niepowodzeń." in page
    assert "Dnia 14 marca 2026:" in page  # the month as a date says it


def test_numbers_are_grouped_as_the_language_does(client):
    response = client.post(
        reverse("users:generate"), {"total": 120}, headers={"Accept-Language": "pt-br"}
    )
    assert response.status_code == 302
    page = client.get("/users/", headers={"Accept-Language": "pt-br"}).content.decode()
    assert "120 usuários estão a caminho." in page
    UserBatch.objects.update(total=30_000, created=1_500)
    page = client.get("/users/", headers={"Accept-Language": "es"}).content.decode()
    assert "1\xa0500 de 30\xa0000 usuarios" in page  # Spanish groups with a no-break space


def test_the_json_errors_a_script_gets_are_in_its_language(client):
    response = client.post(
        "/",
        {"images": [upload("notes.jpg", b"Dear diary")]},
        headers={"Accept": "application/json", "Accept-Language": "es"},
    )
    assert response.status_code == 400
    message = response.json()["errors"]["images"][0]["message"]
    assert (
        message
        == "«notes.jpg»: El archivo no es una imagen JPEG, PNG, WebP, GIF, BMP, HEIC o AVIF."
    )


def test_a_failure_reason_is_stored_once_and_shown_in_each_readers_language(client):
    job = ThumbnailJob.objects.create(owner=owner_of(client), sizes=[128])
    services.job_fail(job=job, reason=job.lost_runs_reason(3))

    job.refresh_from_db()
    assert job.error.startswith("Gave up after 3 attempts")  # English, for the admin and logs
    page = client.get(job.get_absolute_url(), headers={"Accept-Language": "pl"}).content.decode()
    assert "Zrezygnowano po 3 próbach" in page and "więcej pamięci" in page
    status = client.get(
        reverse("thumbnailer:status", args=[job.pk]), headers={"Accept-Language": "pt-br"}
    )
    assert status.json()["error"].startswith("Desistimos após 3 tentativas")


@pytest.mark.parametrize("debug", [True, False])
def test_the_sites_404_page_is_in_the_readers_language(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/no/such/page", headers={"Accept-Language": "pt-br"})
    assert response.status_code == 404
    page = response.content.decode()
    assert '<html lang="pt-br">' in page and "<h1>Não encontrado</h1>" in page


# What the admin's list of each of our models shows: the model's name (singular in the title,
# plural in the sidebar) and each column's title.
ADMIN_LISTS = {
    "en": {
        ThumbnailJob: (
            "thumbnail job",
            "Thumbnail jobs",
            "Id, Status, Progress (%), Images, Sizes (px), Attempts, Created at, Finished at",
        ),
        UserBatch: (
            "user batch",
            "User batches",
            "Id, Status, Progress (%), Users created, Users requested, Attempts, Created at",
        ),
    },
    "pl": {
        ThumbnailJob: (
            "zlecenie miniatur",
            "Zlecenia miniatur",
            "Id, Stan, Postęp (%), Obrazy, Rozmiary (px), Próby, Utworzono, Zakończono",
        ),
        UserBatch: (
            "partia użytkowników",
            "Partie użytkowników",
            "Id, Stan, Postęp (%), Utworzeni użytkownicy, Zamówieni użytkownicy, Próby, Utworzono",
        ),
    },
}
QUEUED = {"en": "Queued", "pl": "W kolejce"}
# A column's title, after its sorting links if it has any.
COLUMN_TITLE = re.compile(
    r'<th scope="col" class="[^"]*column-.*?<div class="text">(?:<a [^>]*>|<span>)([^<]*)', re.S
)


@pytest.mark.parametrize("language", ADMIN_LISTS)
@pytest.mark.parametrize("model", [ThumbnailJob, UserBatch], ids=lambda model: model.__name__)
def test_the_admin_names_our_models_and_their_fields_in_the_readers_language(
    admin_client, language, model
):
    ThumbnailJob.objects.create(owner="someone", sizes=[128])
    UserBatch.objects.create(total=5)
    name, plural, columns = ADMIN_LISTS[language][model]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    page = admin_client.get(url, headers={"Accept-Language": language}).content.decode()

    assert f'<html lang="{language}"' in page
    assert f" {name} " in page.split("<h1>")[1].split("</h1>")[0]
    assert f'aria-current="page">{plural}</a>' in page  # the sidebar
    assert ", ".join(COLUMN_TITLE.findall(page)) == columns
    assert f'<a href="?status__exact=queued">{QUEUED[language]}</a>' in page  # the status filter

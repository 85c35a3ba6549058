"""What every page of the site shares."""

import sqlite3
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from django.contrib.staticfiles import finders
from django.db import IntegrityError, InterfaceError, OperationalError, connection

from image_parroter.tests.factories import owner_of
from thumbnailer.models import ThumbnailJob

pytestmark = pytest.mark.django_db


def test_every_page_has_a_favicon_and_favicon_ico_finds_it(client):
    page = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg"' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"
    assert finders.find("favicon.svg")


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_urls_and_other_sessions_jobs_get_the_sites_plain_404_page(client, settings, debug):
    settings.DEBUG = debug
    for path in ("/no/such/page", "/jobs/00000000-0000-0000-0000-000000000000/"):
        response = client.get(path)
        assert response.status_code == 404
        page = response.content.decode()
        assert "<h1>Not found</h1>" in page and "URLconf" not in page and "urlpatterns" not in page


def test_times_are_shown_in_the_servers_zone_named_with_the_moment_for_the_readers_zone(
    client, settings
):
    settings.TIME_ZONE = "Europe/Warsaw"
    job = ThumbnailJob.objects.create(
        owner=owner_of(client),
        sizes=[128],
        created_at=datetime(2026, 1, 15, 13, 5, tzinfo=UTC),
    )
    ThumbnailJob.objects.filter(pk=job.pk).update(
        created_at=datetime(2026, 1, 15, 13, 5, tzinfo=UTC)
    )

    page = client.get(f"/jobs/{job.pk}/").content.decode()

    # static/localtime.js rewrites the text in the reader's zone from `datetime`.
    assert (
        'Started <time datetime="2026-01-15T14:05:00+01:00">Jan. 15, 2026, 2:05 p.m. CET</time>'
        in page
    )


def queries_fail_with(error: type[Exception]):
    """Every query of this thread's connection raises `error`, as they do while the database
    is away (fault injection through Django's own execute_wrapper hook)."""

    def execute(*_):
        raise error("a fault the test injected")

    return connection.execute_wrapper(execute)


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_with_the_database_away_pages_answer_503_with_retry_after(client, settings, debug, error):
    settings.DEBUG = debug
    session = client.session
    session.save()  # so the job's status.json reads the session, which needs the database
    status_json = f"/jobs/{uuid.uuid4()}/status.json"
    with queries_fail_with(error):
        page = client.get("/users/")
        for_a_script = client.get("/users/", headers={"Accept": "application/json"})
        status = client.get(status_json)

    assert page.status_code == for_a_script.status_code == status.status_code == 503
    assert page["Retry-After"] == for_a_script["Retry-After"] == status["Retry-After"] == "5"
    assert "<h1>Back in a moment</h1>" in page.content.decode()
    assert page["Content-Type"].startswith("text/html")
    assert for_a_script.json()["failed"] == status.json()["failed"] == ["database"]


def test_other_database_errors_are_bugs_and_stay_500(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    with queries_fail_with(IntegrityError):
        assert client.get("/users/").status_code == 500


def database_goes_away() -> None:
    """For real: on PostgreSQL the server ends this connection (as a restart or a failover
    does); SQLite is a file in this process, so another connection takes its write lock and
    this one waits 50 ms for it (the settings' busy timeout is 20 s)."""
    if connection.vendor == "postgresql":
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute(
                "SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid]
            )
    else:
        DatabaseGoesAwayAfterTheView.lock = sqlite3.connect(connection.settings_dict["NAME"])
        DatabaseGoesAwayAfterTheView.lock.execute("BEGIN IMMEDIATE")
        connection.cursor().execute("PRAGMA busy_timeout = 50")


class DatabaseGoesAwayAfterTheView:
    """Just inside SessionMiddleware: once the view has answered, the session has changed
    and the database goes away, before SessionMiddleware saves the session."""

    lock = None

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        request.session["seen"] = True
        database_goes_away()
        return response


@pytest.fixture
def away_after_the_view(settings, transactional_db):
    session = settings.MIDDLEWARE.index("image_parroter.middleware.SessionMiddleware")
    fault = f"{__name__}.DatabaseGoesAwayAfterTheView"
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[: session + 1],
        fault,
        *settings.MIDDLEWARE[session + 1 :],
    ]
    yield
    if DatabaseGoesAwayAfterTheView.lock is not None:
        DatabaseGoesAwayAfterTheView.lock.close()
        DatabaseGoesAwayAfterTheView.lock = None
    connection.close()  # the next query connects afresh, with the settings' options


@pytest.mark.parametrize("session", ["existing", "new"])
def test_a_session_save_that_meets_the_database_away_answers_503(
    client, away_after_the_view, session
):
    """Django would answer 400 (SessionInterrupted) for a session it could not update, 500
    for a new one."""
    if session == "existing":
        client.session.save()
    client.raise_request_exception = False

    response = client.get("/users/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "<h1>Back in a moment</h1>" in response.content.decode()

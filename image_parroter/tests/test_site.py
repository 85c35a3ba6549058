"""What every page of the site shares."""

from datetime import UTC, datetime

import pytest
from django.contrib.staticfiles import finders

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
    session = client.session
    session.save()
    job = ThumbnailJob.objects.create(
        session_key=session.session_key,
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

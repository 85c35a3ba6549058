"""What every page of the site shares."""

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


def test_times_are_shown_with_their_zone(client):
    session = client.session
    session.save()
    job = ThumbnailJob.objects.create(session_key=session.session_key, sizes=[128])

    page = client.get(f"/jobs/{job.pk}/").content.decode()

    assert f"Started {job.created_at:%Y-%m-%d %H:%M:%S} UTC" in page

"""What a stranger can and cannot do: post without a CSRF token, reach the admin, read
production cookies from scripts. (Ownership of jobs: thumbnailer/tests/test_views.py; upload
rate limits: the same; `check --deploy`: test_settings.py.)"""

import secrets

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from image_parroter.tests.processes import manage

pytestmark = pytest.mark.django_db

POSTS = ["/", "/users/generate/", "/admin/login/"]


@pytest.mark.parametrize("path", POSTS)
def test_every_post_needs_the_csrf_token(path):
    assert Client(enforce_csrf_checks=True).post(path, {}).status_code == 403


def test_the_admin_refuses_a_signed_in_user_who_is_not_staff(client):
    # Signed in without a password: django-axes' backend wants the request, which login() lacks.
    client.force_login(get_user_model().objects.create_user("visitor", password="a long password"))

    response = client.get("/admin/")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.get("/admin/ops/dailysummary/").status_code == 302


def test_production_cookies_are_secure_and_the_session_cookie_is_http_only():
    script = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_CONTENT_TYPE_NOSNIFF, s.DEBUG)"
    )
    result = manage(
        "shell",
        "-c",
        script,
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="parroter.example.com",
    )
    assert result.stdout.splitlines()[-1].split() == ["True", "True", "True", "True", "False"]

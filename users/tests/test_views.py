"""The generate form, the users list and a batch's status, through Django's test client."""

import pytest
from django.test import Client
from django.urls import reverse

from ops.models import JobStatus
from users.models import User, UserBatch

pytestmark = pytest.mark.django_db

BOUNDS = "Enter a whole number from 50 to 500."


@pytest.fixture(autouse=True)
def bounds(settings):
    settings.USERS_GENERATE_MIN = 50
    settings.USERS_GENERATE_MAX = 500


def test_generate_form_renders_with_bounds(client):
    response = client.get("/users/generate/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="total"' in html
    assert 'min="50"' in html
    assert 'max="500"' in html
    assert "From 50 to 500." in html


def test_valid_post_creates_a_batch_sends_it_and_redirects(
    client, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/users/generate/", {"total": "120"}, follow=True)
    batch = UserBatch.objects.get()
    assert batch.total == 120
    assert [(name, args) for name, args, _ in sent_tasks] == [
        ("users.user_batch_fill", [str(batch.pk)])
    ]
    assert response.redirect_chain == [("/users/", 302)]
    assert "120 users are on their way." in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"total": "0"},
        {"total": "49"},
        {"total": "501"},
        {"total": "-1"},
        {"total": "abc"},
        {"total": ""},
        {"total": str(10**30)},
        {},
    ],
    ids=["zero", "49", "501", "minus-one", "abc", "empty", "10**30", "missing"],
)
def test_bad_total_shows_the_form_again_without_a_batch(
    client, data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/users/generate/", data)
    assert response.status_code == 200
    assert BOUNDS in response.content.decode()
    assert response.context["form"].errors["total"] == [BOUNDS]
    assert not UserBatch.objects.exists()
    assert callbacks == []


def test_bounds_come_from_settings(client, settings):
    settings.USERS_GENERATE_MIN, settings.USERS_GENERATE_MAX = 10, 20
    response = client.post("/users/generate/", {"total": "21"})
    assert "Enter a whole number from 10 to 20." in response.content.decode()
    assert client.post("/users/generate/", {"total": "10"}).status_code == 302


def test_post_without_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/users/generate/", {"total": "100"})
    assert response.status_code == 403
    assert not UserBatch.objects.exists()


def test_post_with_the_csrf_token_is_accepted():
    client = Client(enforce_csrf_checks=True)
    client.get("/users/generate/")
    token = client.cookies["csrftoken"].value
    response = client.post("/users/generate/", {"total": "100", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert UserBatch.objects.count() == 1


def make_users(count: int, batch=None) -> list[User]:
    return User.objects.bulk_create(
        User(username=f"user_{n:05d}", email=f"user_{n:05d}@example.com", batch=batch)
        for n in range(count)
    )


def test_list_shows_newest_first_fifty_a_page_with_page_links(client):
    make_users(120)  # same date_joined: the id breaks the tie, newest (highest) first
    response = client.get("/users/")
    users = response.context["users"]
    assert [user.username for user in users] == [f"user_{n:05d}" for n in range(119, 69, -1)]
    html = response.content.decode()
    assert 'href="?page=2"' in html
    assert 'href="?page=3"' in html
    last = client.get("/users/?page=3").context["users"]
    assert [user.username for user in last][-1] == "user_00000"
    assert len(last) == 20
    # A page past the end or not a number shows a real page rather than an error.
    assert client.get("/users/?page=99").context["page"].number == 3
    assert client.get("/users/?page=abc").context["page"].number == 1


def test_search_matches_username_and_email_and_keeps_the_query_in_page_links(client):
    make_users(120)
    User.objects.create(username="alice", email="wonderland@example.org")
    by_name = client.get("/users/", {"q": "ALIC"}).context["users"]
    by_email = client.get("/users/", {"q": "wonderland"}).context["users"]
    assert [user.username for user in by_name] == ["alice"]
    assert [user.username for user in by_email] == ["alice"]
    response = client.get("/users/", {"q": "user_000"})
    assert response.context["page"].paginator.count == 100
    assert 'href="?q=user_000&amp;page=2"' in response.content.decode()
    assert "No user matches" in client.get("/users/", {"q": "nobody"}).content.decode()


def test_list_shows_running_batches_polling_and_finished_ones_still(client):
    running = UserBatch.objects.create(total=300, created=150, progress=50, status="running")
    done = UserBatch.objects.create(total=60, created=60, progress=100, status="done")
    html = client.get("/users/").content.decode()
    assert f'data-follow="/users/batches/{running.pk}/" data-seen="running-50"' in html
    assert "150 of 300 users" in html
    assert f'id="batch-{done.pk}"' in html
    assert f'data-follow="/users/batches/{done.pk}/"' not in html
    assert '<noscript><meta http-equiv="refresh"' in html  # without JavaScript too


def test_a_list_whose_batches_are_all_final_does_not_refresh_itself(client):
    UserBatch.objects.create(total=60, created=60, progress=100, status="done")
    assert "noscript" not in client.get("/users/").content.decode()


def test_batch_progress_partial_is_followed_until_final_then_asks_for_a_refresh(client):
    batch = UserBatch.objects.create(total=300, created=30, progress=10, status="running")
    response = client.get(f"/users/batches/{batch.pk}/")
    assert 'data-seen="running-10"' in response.content.decode()
    assert "X-Refresh" not in response
    # Nothing new since the page's last look: an empty answer.
    unchanged = client.get(f"/users/batches/{batch.pk}/?seen=running-10")
    assert (unchanged.status_code, unchanged.content) == (204, b"")
    UserBatch.objects.filter(pk=batch.pk).update(status=JobStatus.DONE, created=300, progress=100)
    response = client.get(f"/users/batches/{batch.pk}/?seen=running-10")
    assert response.status_code == 200
    assert "data-follow" not in response.content.decode()
    assert response["X-Refresh"] == "user-rows"


def test_batch_status_json_follows_the_contract(client):
    batch = UserBatch.objects.create(total=300, created=120, progress=40, status="running")
    response = client.get(f"/users/batches/{batch.pk}/status.json")
    assert response.json() == {
        "id": str(batch.pk),
        "status": "running",
        "progress": 40,
        "created": 120,
        "total": 300,
    }
    assert reverse("users:batch_status", args=[batch.pk]) == batch.get_absolute_url()


def test_unknown_batch_is_404(client):
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(f"/users/batches/{missing}/status.json").status_code == 404
    assert client.get(f"/users/batches/{missing}/").status_code == 404


def test_admin_lists_users_with_their_batch_and_batches(admin_client):
    batch = UserBatch.objects.create(total=50, created=50, status="done")
    make_users(3, batch=batch)
    users_page = admin_client.get("/admin/users/user/")
    assert users_page.status_code == 200
    assert str(batch) in users_page.content.decode()
    batches_page = admin_client.get("/admin/users/userbatch/")
    assert batches_page.status_code == 200
    assert str(batch.pk) in batches_page.content.decode()
    assert admin_client.get(f"/admin/users/userbatch/{batch.pk}/change/").status_code == 200


def test_a_script_that_asks_for_json_gets_its_errors_as_json_with_400(client):
    response = client.post(
        "/users/generate/", {"total": "7"}, headers={"Accept": "application/json"}
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["total"]


def test_numbers_are_shown_with_separators(client):
    UserBatch.objects.create(total=12_000, created=1_500)

    assert "1,500 of 12,000 users" in client.get("/users/").content.decode()


def test_the_session_that_asked_cancels_its_batch_and_keeps_the_users_made(client):
    client.post("/users/generate/", {"total": "120"})
    batch = UserBatch.objects.get()
    UserBatch.objects.filter(pk=batch.pk).update(created=40)  # as if 40 were made
    assert f'action="/users/batches/{batch.pk}/cancel"' in client.get("/users/").content.decode()

    assert Client().post(f"/users/batches/{batch.pk}/cancel").status_code == 404  # not theirs
    response = client.post(f"/users/batches/{batch.pk}/cancel", follow=True)

    batch.refresh_from_db()
    assert batch.status == "cancelled"
    assert "Cancelled: 40 of 120 users were made and are kept." in response.content.decode()

"""The limits on anonymous writes (ops/limits.py) through Django's test client, counted in the
tests' real Redis. Each test asks from addresses of its own, so no count is shared. Rates are
per hour here, so that no counting window ends in the middle of a test. Floods against a real
gunicorn: image_parroter/tests/test_abuse.py."""

import random
import re
import time
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.test.client import FakePayload
from django.urls import reverse

from image_parroter.tests.factories import owner_of, upload
from ops import limits
from thumbnailer import imaging
from thumbnailer.models import ThumbnailJob
from thumbnailer.tests.images import huge_png, image_bytes
from users.models import UserBatch

pytestmark = pytest.mark.django_db


def new_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def visitor(address: str | None = None, **headers) -> Client:
    """A browser of its own (its own session, once it has written) at `address`."""
    return Client(REMOTE_ADDR=address or new_address(), **headers)


def post_images(client, *files, **headers):
    return client.post("/", {"images": list(files), "sizes": ["128"]}, **headers)


def png(width: int, height: int) -> bytes:
    return image_bytes("PNG", (width, height))


def test_uploads_over_the_address_rate_are_refused_with_retry_after(settings):
    settings.UPLOAD_RATE = "3/h"
    address = new_address()
    # Three browsers at one address: only the address's count is reached.
    statuses = [post_images(visitor(address), upload()).status_code for _ in range(4)]

    assert statuses == [302, 302, 302, 429]
    assert ThumbnailJob.objects.count() == 3
    assert post_images(visitor(), upload()).status_code == 302  # another address


def test_a_session_is_counted_apart_from_its_address(settings):
    settings.UPLOAD_RATE, settings.UPLOAD_SESSION_RATE = "4/h", "2/h"
    address = new_address()
    first, second = visitor(address), visitor(address)

    # The first upload made the session; from then on it is counted too.
    assert [post_images(first, upload()).status_code for _ in range(4)] == [302, 302, 302, 429]
    # The address has had 4: the other session there is refused too.
    assert post_images(second, upload()).status_code == 429


def write_path(name: str) -> str:
    """The path of a write (limits.WRITES), for a job or batch that need not exist."""
    if name in ("thumbnailer:upload", "users:generate"):
        return reverse(name)
    return reverse(name, kwargs={"pk": uuid.uuid4()})


@pytest.mark.parametrize("path", [write_path(name) for name in limits.WRITES])
def test_every_anonymous_write_is_counted_whatever_its_outcome(path, settings, sent_tasks):
    for write in set(limits.WRITES.values()):
        setattr(settings, write.rate, "100/h")
        setattr(settings, write.session_rate, "1/h")
    client = visitor()
    owner_of(client)  # a session

    first, second = client.post(path), client.post(path)

    assert first.status_code != 429
    assert second.status_code == 429 and int(second["Retry-After"]) >= 1


def test_a_refusal_is_a_page_in_the_readers_language_or_json_for_scripts(settings):
    settings.JOB_ACTION_RATE = "1/h"
    address = new_address()
    path = f"/jobs/{uuid.uuid4()}/cancel"
    visitor(address).post(path)

    page = visitor(address, HTTP_ACCEPT_LANGUAGE="pl").post(path)
    script = visitor(address, HTTP_ACCEPT="application/json").post(path)

    assert page.status_code == script.status_code == 429
    html = page.content.decode()
    assert '<html lang="pl">' in html and "<h1>Zbyt wiele żądań</h1>" in html
    wait = int(page["Retry-After"])
    assert 1 <= wait <= 3600
    # The site's headers, as on any page.
    assert page["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in page
    body = script.json()
    assert 1 <= body["retry_after"] == int(script["Retry-After"]) <= 3600
    [error] = body["errors"]["__all__"]
    assert error["code"] == "too_many_requests"
    assert error["message"].startswith("You have sent a lot of requests in a short time.")


def test_the_refusal_pages_language_selector_works(settings):
    """Its form carries a CSRF token, whose cookie the refusal sets as any page does."""
    settings.JOB_ACTION_RATE = "1/h"
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=new_address())
    client.get("/")
    token = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    path = f"/jobs/{uuid.uuid4()}/cancel"
    client.post(path, **token)
    page = client.post(path, **token)
    form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())

    chosen = {"language": "pl", "next": "/", "csrfmiddlewaretoken": form_token[1]}
    assert page.status_code == 429
    assert client.post("/i18n/setlang/", chosen).status_code == 302


@pytest.mark.parametrize(
    ("path", "cap"),
    [("/", "UPLOAD_BODY_MAX_BYTES"), ("/users/generate/", "BODY_MAX_BYTES")],
)
def test_a_body_over_its_cap_is_refused_by_its_length_before_it_is_read(path, cap, settings):
    length = getattr(settings, cap) + 1
    # An empty body announced as `length` bytes: reading any of it would fail the test.
    request = {"CONTENT_LENGTH": str(length), "wsgi.input": FakePayload(b"")}
    multipart = "multipart/form-data; boundary=x"

    refused = visitor().generic("POST", path, content_type=multipart, **request)
    as_json = visitor().generic(
        "POST", path, content_type=multipart, HTTP_ACCEPT="application/json", **request
    )

    assert refused.status_code == as_json.status_code == 413
    assert "too large" in refused.content.decode()
    assert as_json.json()["errors"]["__all__"][0]["code"] == "too_large"


def test_the_pixel_count_comes_from_the_header_alone():
    # 7071 x 7071 in a few KB (a 1-bit PNG): 50 million pixels, at once.
    started = time.process_time()
    assert imaging.pixels(_file(huge_png(7071, 7071))) == 7071 * 7071
    assert time.process_time() - started < 0.1
    assert imaging.pixels(_file(png(300, 200))) == 60_000
    # Not an image, or far past the pixel limit: the form refuses it without decoding it.
    assert imaging.pixels(_file(b"not an image")) == 0
    assert imaging.pixels(_file(huge_png(30000, 30000))) == 0


def _file(data: bytes):
    return upload("x.png", data, "image/png")


def fresh_minute(seconds_needed: float = 10) -> None:
    """Wait, if need be, for a minute with `seconds_needed` left (the budget's window)."""
    left = 60 - time.time() % 60
    if left < seconds_needed:
        time.sleep(left + 0.1)


def test_the_megapixel_budget_refuses_uploads_past_it_before_decoding(settings):
    settings.UPLOAD_MEGAPIXELS_PER_MINUTE = 4
    client = visitor()
    one_megapixel = png(1000, 1000)
    fresh_minute()

    assert post_images(client, upload("a.png", one_megapixel, "image/png")).status_code == 302
    assert (
        post_images(client, *[upload(f"{n}.png", one_megapixel) for n in "bc"]).status_code == 302
    )
    refused = post_images(client, upload("d.png", png(1500, 1000), "image/png"))
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "The images you sent in the last minute were very large." in refused.content.decode()
    # What was refused is not charged: this address has spent 3 of its 4 megapixels.
    assert post_images(client, upload("e.png", png(10, 10), "image/png")).status_code == 302
    assert post_images(client, upload("f.png", png(10, 10), "image/png")).status_code == 429
    assert ThumbnailJob.objects.count() == 3


def test_the_first_upload_of_a_minute_passes_whatever_its_size(settings):
    settings.UPLOAD_MEGAPIXELS_PER_MINUTE = 1
    fresh_minute()
    client = visitor()
    assert post_images(client, upload("big.png", png(2000, 1500), "image/png")).status_code == 302
    assert post_images(client, upload("small.png", png(100, 100), "image/png")).status_code == 429


def test_with_redis_away_nothing_is_counted_and_nobody_refused(settings):
    for write in limits.WRITES.values():
        setattr(settings, write.rate, "1/h")
    settings.UPLOAD_MEGAPIXELS_PER_MINUTE = 1
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": ["redis://127.0.0.1:1/0"]}
    }
    client, big = visitor(), png(1500, 1000)
    statuses = [post_images(client, upload("big.png", big, "image/png")) for _ in range(2)]
    assert [response.status_code for response in statuses] == [302, 302]


def test_a_batch_is_refused_while_its_address_or_session_has_unfinished_ones(settings, sent_tasks):
    settings.USER_BATCHES_UNFINISHED = 2
    address = new_address()
    first = visitor(address)
    generate = {"path": "/users/generate/", "data": {"total": "50"}}

    assert [first.post(**generate).status_code for _ in range(3)] == [302, 302, 429]
    refused = visitor(address).post(**generate)  # another session, the same address
    moved = first.post(**generate, REMOTE_ADDR=new_address())  # the session, elsewhere
    assert refused.status_code == moved.status_code == 429
    assert "still being made" in refused.content.decode()
    assert visitor().post(**generate).status_code == 302

    UserBatch.objects.filter(owner=owner_of(first)).first().mark_done()
    assert first.post(**generate).status_code == 302


def test_a_batch_keeps_a_keyed_hash_of_its_address_not_the_address(settings, sent_tasks):
    """(That the admin never shows it: ops/tests/test_owners.py walks every admin page.)"""
    address = new_address()
    client = visitor(address)
    client.post("/users/generate/", {"total": "50"})
    batch = UserBatch.objects.get()
    request = client.get("/").wsgi_request

    assert batch.client == limits.client_tag(request)
    assert address not in batch.client and len(batch.client) == 64


def test_an_ipv6_client_is_counted_by_its_slash_64(settings):
    settings.USER_BATCH_RATE = "1/h"
    prefix = f"2001:db8:{random.randrange(65536):x}:{random.randrange(65536):x}"
    assert visitor(f"{prefix}::1").post("/users/generate/").status_code == 200
    assert visitor(f"{prefix}:ffff::2").post("/users/generate/").status_code == 429


def test_wrong_passwords_for_one_username_from_many_addresses_never_lock_it_out():
    admin = get_user_model().objects.create_superuser("admin", "a@example.com", "right password")
    for _ in range(15):
        wrong = {"username": admin.username, "password": "guess"}
        assert visitor().post("/admin/login/", wrong).status_code == 200

    right = {"username": admin.username, "password": "right password"}
    assert visitor().post("/admin/login/", right).status_code == 302

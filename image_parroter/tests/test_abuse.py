"""What one client can make the site do, against a real gunicorn (and a real worker for the
ceiling): floods of user batches, of cancel/retry/share, giant PNGs, a body announced as
2 GB, admin password guessing. The limits are ops/limits.py's and django-axes'.

Each test is another client address: any of 127.0.0.0/8 reaches a server on 127.0.0.1, so a
connection from 127.0.0.12 is another client for real. The printed figures (`-rP`) are in
docs/RELIABILITY.md."""

import socket
import time
from io import BytesIO
from urllib.parse import urlsplit

import psutil
import pytest
import requests
from django.contrib.auth import get_user_model
from PIL import Image
from requests.adapters import HTTPAdapter

from image_parroter.tests.processes import (
    RAISED_LIMITS,
    manage,
    running_web,
    running_worker_on,
    send_job,
    worker_database_url,
)
from image_parroter.tests.waiting import budget, wait_for, wait_until_final
from thumbnailer.tests.images import image_bytes
from users import services
from users.models import User, UserBatch

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The default limits, but for the rates django-ratelimit counts: the defaults' counts per hour
# instead of per minute, so that none of its windows (each ends at a second of its own) ends
# in the middle of a test.
LIMITS = {
    **dict.fromkeys(RAISED_LIMITS),
    "UPLOAD_RATE": "60/h",
    "UPLOAD_SESSION_RATE": "20/h",
    "USER_BATCH_RATE": "10/h",
    "USER_BATCH_SESSION_RATE": "3/h",
    "JOB_ACTION_RATE": "30/h",
    "JOB_ACTION_SESSION_RATE": "10/h",
}


@pytest.fixture(scope="module")
def web(django_db_setup, media_dir, tmp_path_factory):
    """One gunicorn for the module, as `make run` starts it but with one worker."""
    with running_web(tmp_path_factory.mktemp("web"), MEDIA_ROOT=str(media_dir), **LIMITS) as url:
        yield url


class FromAddress(HTTPAdapter):
    """Connections from `address`, a client address of the test's own."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


class Browser:
    """A browser at `address`: its cookies (the CSRF token, the session once it has written),
    and no redirect followed."""

    def __init__(self, url: str, address: str):
        self.url, self.session = url, requests.Session()
        self.session.mount("http://", FromAddress(address))
        self.session.get(f"{url}/admin/login/", timeout=10)
        self.session.headers["X-CSRFToken"] = self.session.cookies["csrftoken"]

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(self.url + path, allow_redirects=False, timeout=60, **kwargs)

    def forget_session(self) -> None:
        self.session.cookies.pop("sessionid", None)


def refused(response: requests.Response, reason: str) -> bool:
    """A 429 with Retry-After (these tests' rates count per hour), saying `reason`."""
    wait = int(response.headers.get("Retry-After", 0))
    return response.status_code == 429 and 1 <= wait <= 3600 and reason in response.text


BATCH_RATE = "You have asked for a lot of users in a short time."
UNFINISHED = "The users you asked for a moment ago are still being made."


def test_a_user_generation_flood_from_one_client_is_refused_after_the_limit(web):
    """The issue's 30 POSTs of 500 users from one session: 3 are made (USER_BATCH_SESSION_RATE
    and USER_BATCHES_UNFINISHED), the others refused, in English, Polish, or JSON."""
    person = Browser(web, "127.0.0.11")
    flood = [person.post("/users/generate/", data={"total": "500"}) for _ in range(27)]
    polish = person.post(
        "/users/generate/", data={"total": "500"}, headers={"Accept-Language": "pl"}
    )
    script = person.post(
        "/users/generate/", data={"total": "500"}, headers={"Accept": "application/json"}
    )
    flood.append(person.post("/users/generate/", data={"total": "500"}))

    assert [answer.status_code for answer in flood[:3]] == [302, 302, 302]
    # The first had no session yet (it made it): the session has had 3 at the fourth, which
    # the unfinished batches refuse; from the fifth on, the session's rate.
    assert refused(flood[3], UNFINISHED)
    assert all(refused(answer, BATCH_RATE) for answer in flood[4:])
    assert "<h1>Too many requests</h1>" in flood[3].text
    assert polish.status_code == 429 and '<html lang="pl">' in polish.text
    assert "<h1>Zbyt wiele żądań</h1>" in polish.text
    assert script.status_code == 429 and 1 <= script.json()["retry_after"] <= 3600
    [error] = script.json()["errors"]["__all__"]
    assert error["message"].startswith(BATCH_RATE)
    assert UserBatch.objects.count() == 3

    # A client that drops its session cookie is counted by its address alone: 3 unfinished
    # batches there, then USER_BATCH_RATE (10 an hour here).
    stranger = Browser(web, "127.0.0.12")
    answers = []
    for _ in range(12):
        answers.append(stranger.post("/users/generate/", data={"total": "500"}))
        stranger.forget_session()
    assert [answer.status_code for answer in answers[:3]] == [302, 302, 302]
    assert all(refused(answer, UNFINISHED) for answer in answers[3:10])
    assert all(refused(answer, BATCH_RATE) for answer in answers[10:])
    assert UserBatch.objects.count() == 6


def test_a_batch_is_refused_while_its_address_has_three_being_made(web):
    """Three browsers at one address each ask for a batch (no worker runs: they stay queued);
    a fourth is refused until one of them ends. Another address is not."""
    address = "127.0.0.13"
    answers = [
        Browser(web, address).post("/users/generate/", data={"total": "50"}) for _ in range(4)
    ]
    elsewhere = Browser(web, "127.0.0.14").post("/users/generate/", data={"total": "50"})

    assert [answer.status_code for answer in answers[:3]] == [302, 302, 302]
    assert refused(answers[3], UNFINISHED) and answers[3].headers["Retry-After"] == "10"
    assert elsewhere.status_code == 302
    UserBatch.objects.order_by("created_at").first().mark_done()
    assert Browser(web, address).post("/users/generate/", data={"total": "50"}).status_code == 302


def test_a_flood_of_cancel_retry_and_share_is_refused_after_the_limit(web):
    """JOB_ACTION_SESSION_RATE (10 here) for cancel, retry, share and revoke of a job and the
    cancel of a batch, together."""
    person = Browser(web, "127.0.0.15")
    photo = ("photo.jpg", image_bytes("JPEG", (600, 400)), "image/jpeg")
    job = person.post("/", files={"images": photo}).headers["Location"].rstrip("/")
    person.post("/users/generate/", data={"total": "50"})
    batch = UserBatch.objects.get()
    actions = ["cancel", "retry", "share", "share/revoke"]
    paths = [f"{job}/{action}" for action in actions] + [f"/users/batches/{batch.pk}/cancel"]

    answers = [person.post(paths[number % len(paths)]) for number in range(14)]

    assert all(answer.status_code in (200, 302) for answer in answers[:10])
    reason = "You have sent a lot of requests in a short time."
    assert all(refused(answer, reason) for answer in answers[10:])


@pytest.mark.parametrize(("path", "length"), [("/", 2**31), ("/users/generate/", 10 * 2**20)])
def test_a_body_announced_over_its_cap_gets_413_at_once_having_sent_nothing_of_it(
    web, path, length
):
    """Sent as a browser sends a form, with the CSRF cookie and token: those pass CSRF's check
    without the body, so without the limits the view would start reading it."""
    host, port = urlsplit(web).hostname, urlsplit(web).port
    token = Browser(web, "127.0.0.20").session.cookies["csrftoken"]
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Cookie: csrftoken={token}\r\nX-CSRFToken: {token}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )
    with socket.create_connection(
        (host, port), timeout=budget(10), source_address=("127.0.0.20", 0)
    ) as sock:
        started = time.monotonic()
        sock.sendall(head.encode())
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
            answer += chunk
        took = time.monotonic() - started
        # Nor does it wait for the body: it closes the connection (gunicorn reads at most
        # 64 KB of what was left unread, for up to 5 s, before it gives up on a connection).
        while sock.recv(65536):
            pass
        closed_after = time.monotonic() - started
    status = answer.split(b"\r\n", 1)[0].decode()
    print(f"figure: {length:,} bytes announced to {path}: {status} in {took * 1000:.1f} ms")
    assert status.startswith("HTTP/1.1 413 "), answer[:200]
    assert took < budget(1)
    assert closed_after < budget(8)


def giant_png() -> bytes:
    """The issue's PNG: 7071 x 7071, one colour, about 160 KB, 50 million pixels to decode."""
    buffer = BytesIO()
    Image.new("RGB", (7071, 7071), (40, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def cpu_seconds(url: str) -> float:
    """The CPU time of gunicorn at `url` so far: its master and its worker (the same command)."""
    bind = f"{urlsplit(url).hostname}:{urlsplit(url).port}"
    processes = [
        process
        for process in psutil.process_iter(["cmdline"])
        if "gunicorn" in " ".join(process.info["cmdline"] or ()) and bind in process.info["cmdline"]
    ]
    assert len(processes) == 2, processes
    return sum(sum(process.cpu_times()[:2]) for process in processes)


def test_the_megapixel_budget_lets_a_persons_photos_through_and_refuses_giant_pngs(web):
    """UPLOAD_MEGAPIXELS_PER_MINUTE at its default (1200): a person sends 20 phone photos of
    12 MP three times; a client sends 20 of the issue's giant PNGs (1000 megapixels) five
    times in a row, and only the first of each minute is decoded."""
    photo = image_bytes("JPEG", (4000, 3000), quality=85)
    person = Browser(web, "127.0.0.16")
    for _ in range(3):
        photos = [("images", (f"{n}.jpg", photo, "image/jpeg")) for n in range(20)]
        assert person.post("/", files=photos).status_code == 302

    giants = [("images", (f"{n}.png", giant_png(), "image/png")) for n in range(20)]
    flooder = Browser(web, "127.0.0.17")
    started = time.time()
    answers, costs = [], []
    for _ in range(5):
        before = cpu_seconds(web)
        answers.append(flooder.post("/", files=giants))
        costs.append(cpu_seconds(web) - before)
    minutes = int(time.time() // 60) - int(started // 60) + 1

    accepted = [
        cost for answer, cost in zip(answers, costs, strict=True) if answer.status_code == 302
    ]
    refusals = [answer for answer in answers if answer.status_code != 302]
    print(f"figure: web CPU per upload of 20 giant PNGs: {[round(c, 2) for c in costs]} s")
    assert 1 <= len(accepted) <= minutes
    reason = "The images you sent in the last minute were very large."
    assert all(refused(answer, reason) for answer in refusals)
    assert all(int(answer.headers["Retry-After"]) <= 60 for answer in refusals)
    # A refused upload costs its parsing, not its decoding.
    refused_costs = [
        cost for answer, cost in zip(answers, costs, strict=True) if answer in refusals
    ]
    assert max(refused_costs) < min(accepted) / 20


def log_in(browser: Browser, password: str, **headers) -> requests.Response:
    credentials = {"username": "admin", "password": password, "next": "/admin/"}
    return browser.post("/admin/login/", data=credentials, headers=headers)


def test_twenty_wrong_passwords_lock_that_address_out_of_the_admin_and_no_other(web):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "the right one")
    guesser = Browser(web, "127.0.0.18")

    wrong = [log_in(guesser, f"guess {number}").status_code for number in range(20)]
    right = log_in(guesser, "the right one", **{"Accept-Language": "pt-br"})
    elsewhere = log_in(Browser(web, "127.0.0.19"), "the right one")

    # LOGIN_FAILURE_LIMIT (10): the tenth wrong password locks the address out.
    assert wrong == [200] * 9 + [429] * 11
    assert right.status_code == 429 and right.headers["Retry-After"] == "900"
    assert '<html lang="pt-br">' in right.text and "<h1>Muitas solicitações</h1>" in right.text
    assert elsewhere.status_code == 302 and elsewhere.headers["Location"] == "/admin/"
    # The documented way to lift the lockouts.
    reset = manage("axes_reset", DATABASE_URL=worker_database_url())
    assert reset.returncode == 0, reset.stderr
    assert log_in(guesser, "the right one").status_code == 302


def test_after_a_batch_the_worker_purges_the_oldest_generated_accounts_never_staff(
    own_redis, tmp_path
):
    """GENERATED_USERS_MAX of 100: 80 old accounts (2 of them made staff), then a batch of 50
    made by a real worker: the 28 oldest generated accounts go, the staff stay."""
    old = UserBatch.objects.create(total=80)
    services.user_batch_fill(batch=old)
    oldest = list(old.users.order_by("id").values_list("pk", flat=True))
    User.objects.filter(pk__in=oldest).update(date_joined=old.created_at.replace(year=2020))
    User.objects.filter(pk__in=oldest[:2]).update(is_staff=True)
    new = UserBatch.objects.create(total=50)

    with running_worker_on(own_redis, "gevent", tmp_path, GENERATED_USERS_MAX="100"):
        send_job(own_redis.celery_app(), new)
        wait_until_final(new)
        assert wait_for(lambda: User.objects.generated().count() == 100, timeout=30)

    kept = set(User.objects.values_list("pk", flat=True))
    assert set(oldest[:2]) <= kept
    assert not set(oldest[2:30]) & kept
    assert set(oldest[30:]) <= kept and new.users.count() == 50

"""The front (nginx, ops/nginx.conf) before gunicorn, as `make run` starts them: slow clients
do not close the site (scripts/slow_clients.py), the limits hold, files go out through it.

The stack brings its own SQLite database and Redis (bench/stack.py: scripts/devstack.py run
on free ports), so the database under test changes nothing here: it runs on CI's SQLite leg
only. Short header timeout (2 s), so that the cuts show within the test."""

import socket
import sys
import zipfile
from collections import Counter
from io import BytesIO
from pathlib import Path

import pytest
import requests

from bench.stack import make_run_stack
from image_parroter.tests.waiting import budget

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import slow_clients

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.own_servers]

HEADER_TIMEOUT = 2
PER_ADDRESS = 64


@pytest.fixture(scope="module")
def site():
    env = {
        "DJANGO_SETTINGS_MODULE": "image_parroter.settings",
        "FRONT_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "FRONT_CONNECTIONS_PER_ADDRESS": str(PER_ADDRESS),
    }
    with make_run_stack(env) as stack:
        yield slow_clients.open_site(stack.url), stack


def test_a_visitor_gets_pages_while_slow_clients_hold_connections(site):
    site, _ = site
    result = slow_clients.probe(
        site, uploads=32, slowloris=8, readers=4, before=4, during=15, after=3
    )
    slow_clients.print_report(result)
    before, during = result["visitor"]["before"], result["visitor"]["during"]
    assert during["refused"] == 0 and during["answers"] > 20
    assert during["max"] < budget(1)
    assert during["median"] <= 3 * before["median"]
    crowd = result["crowd_saw"]
    # Every slow client got through to the front, which held the uploads and the readers,
    # and cut the header tricklers at the header timeout (then they came back).
    assert crowd["refused"] == {}
    assert crowd["connections"]["upload"] == 32 and "upload" not in crowd["cut"]
    assert crowd["cut"]["slowloris"] >= 8
    assert crowd["cut_after_median_s"]["slowloris"] <= HEADER_TIMEOUT + budget(1)
    assert crowd["bytes_read"] > 4 * 100_000


def test_a_2_gb_upload_is_refused_before_its_body_is_read(site):
    site, _ = site
    refused = slow_clients.oversized_upload(site, length=2_147_483_648)
    assert refused["status"] == 413
    assert refused["seconds"] < budget(1)
    assert refused["body_bytes_sent"] < 1024 * 1024


def test_idle_and_header_trickling_connections_are_cut(site):
    site, _ = site
    idle = slow_clients.cut_after(site, header_lines_every=None, limit=budget(10))
    trickling = slow_clients.cut_after(site, header_lines_every=0.5, limit=budget(10))
    assert idle is not None and HEADER_TIMEOUT - 0.5 <= idle <= HEADER_TIMEOUT + budget(1)
    assert trickling is not None and trickling <= HEADER_TIMEOUT + budget(1)


def test_connections_from_one_address_are_capped(site):
    site, _ = site
    statuses = slow_clients.one_address_capped(site, PER_ADDRESS + 8, address="127.0.0.2")
    assert statuses == {"held": PER_ADDRESS, "429": 8}
    # Another address is not counted with it.
    assert slow_clients.one_address_capped(site, 4, address="127.0.0.3") == {"held": 4}


def test_downloads_and_previews_are_sent_by_the_front(site):
    site, stack = site
    zip_path = next(Path(stack.env["MEDIA_ROOT"]).rglob("*.zip"))
    answer = site.session.get(site.url + site.download_path, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/zip"
    assert answer.headers["Content-Disposition"].startswith("attachment; filename=")
    assert answer.content == zip_path.read_bytes()
    assert "originals/noise.png" in zipfile.ZipFile(BytesIO(answer.content)).namelist()
    # nginx sends the file itself: it answers a range, which Django's FileResponse does not.
    part = site.session.get(
        site.url + site.download_path, headers={"Range": "bytes=0-99"}, timeout=10
    )
    assert part.status_code == 206 and part.content == zip_path.read_bytes()[:100]
    status = site.session.get(f"{site.url}{site.job_path}status.json", timeout=10).json()
    preview = site.session.get(site.url + status["thumbnails"][0], timeout=10)
    assert preview.status_code == 200 and preview.headers["Content-Type"] == "image/png"
    assert preview.headers["Accept-Ranges"] == "bytes"
    # Another session gets nothing, as without the front.
    assert requests.get(site.url + site.download_path, timeout=10).status_code == 404


def test_a_request_through_the_front_is_not_a_loopback_one(site):
    """/metrics answers a direct loopback connection only: through the front it does not,
    whatever the client claims, and straight to gunicorn's socket it does."""
    site, stack = site
    for claim in ({}, {"X-Forwarded-For": "127.0.0.1"}, {"X-Real-IP": "127.0.0.1"}):
        assert requests.get(f"{site.url}/metrics", headers=claim, timeout=10).status_code == 403
    gunicorn = socket.socket(socket.AF_UNIX)
    gunicorn.connect(stack.env["WEB_SOCKET"])
    gunicorn.sendall(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
    assert gunicorn.makefile("rb").readline().split()[1] == b"200"
    gunicorn.close()


def test_an_answer_given_before_its_body_is_read_breaks_no_later_request(site):
    """gunicorn closes a connection once it has answered without reading a body of over
    64 KB (a refused upload, a GET with a body). The front gives a request with a body a
    connection to gunicorn of its own, so no later request is sent on one gunicorn closed:
    nginx would log it, send a GET again, and answer a POST 502."""
    site, stack = site
    session = requests.Session()
    session.get(f"{site.url}/", timeout=10)
    setlang = {"csrfmiddlewaretoken": session.cookies["csrftoken"], "language": "en"}
    statuses = Counter()
    for _ in range(200):
        unread = session.request("GET", f"{site.url}/", data=b"x" * 120_000, timeout=10)
        statuses[f"GET with a body {unread.status_code}"] += 1
        post = session.post(
            f"{site.url}/i18n/setlang/",
            data=setlang,
            headers={"Referer": f"{site.url}/"},
            allow_redirects=False,
            timeout=10,
        )
        statuses[f"POST {post.status_code}"] += 1
    assert statuses == {"GET with a body 200": 200, "POST 302": 200}
    assert "upstream prematurely closed" not in stack.log.read_text(errors="replace")

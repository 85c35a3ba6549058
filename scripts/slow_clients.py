"""The slow-client probe: what a steady visitor waits while a crowd of slow clients is open.

    .venv/bin/python scripts/slow_clients.py http://127.0.0.1:8000 [--during 30] [--json FILE]

Against a running site on this machine (`make run`, compose; only loopback addresses): a
visitor on 127.0.0.1 uploads an image of noise (a zip of about 17 MB), then asks for `/` and its
job's page in turn, before, during and after a crowd of
- slow uploads: POST / announcing a 4 MB body, sent at 8 KB/s;
- slowloris: a request header sent a line every 5 s, never finished;
- slow readers: the visitor's zip, read at 16 KB/s;
each crowd client from an address of its own (127.0.0.2, 127.0.0.3, ..., bound before it
connects), as a crowd of phones would be: the front caps connections per address. A client
that the site cuts or refuses connects again (at most twice a second) until the crowd's time
is up; then every one closes. For each phase: the visitor's answers, refusals (no answer
within 10 s, a 429 or a 5xx) and median, p95 and max seconds. image_parroter/tests/
test_front.py uses these functions with the checks below (oversized_upload, cut_after,
one_address_capped).
"""

import argparse
import contextlib
import io
import ipaddress
import itertools
import json
import os
import re
import select
import socket
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from PIL import Image

VISITOR_TIMEOUT = 10
BOUNDARY = "----slow-clients-probe"


@dataclass
class Site:
    """The site, and the visitor's session with a finished job of its own."""

    url: str
    session: requests.Session
    job_path: str = ""
    download_path: str = ""

    @property
    def host(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname, parts.port or 80

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.session.cookies.items())


def open_site(url: str, *, image_side: int = 2400, timeout: float = 120) -> Site:
    """The visitor's session, with a finished job of an image of noise (its zip is about as
    large as the image: noise does not compress)."""
    url = url.rstrip("/")
    host = urlsplit(url).hostname
    if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        sys.exit(f"{url}: the probe only talks to loopback addresses")
    site = Site(url, requests.Session())
    site.session.get(f"{url}/", timeout=VISITOR_TIMEOUT).raise_for_status()
    noise = Image.frombytes("RGB", (image_side, image_side), os.urandom(image_side**2 * 3))
    png = io.BytesIO()
    noise.save(png, "PNG", compress_level=1)
    answer = site.session.post(
        f"{url}/",
        data={"csrfmiddlewaretoken": site.session.cookies["csrftoken"], "sizes": ["128"]},
        files={"images": ("noise.png", png.getvalue(), "image/png")},
        headers={"Referer": f"{url}/"},
        allow_redirects=False,
        timeout=60,
    )
    if answer.status_code != 302:
        sys.exit(f"the upload got {answer.status_code}: {answer.text[:500]}")
    site.job_path = answer.headers["Location"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = site.session.get(f"{url}{site.job_path}status.json", timeout=10).json()
        if status["status"] == "done":
            site.download_path = status["download_url"]
            return site
        if status["status"] in ("failed", "cancelled"):
            sys.exit(f"the probe's job ended {status['status']}: {status['error']}")
        time.sleep(0.3)
    sys.exit(f"the probe's job was not done within {timeout} s")


@dataclass
class Sample:
    started: float  # time.monotonic()
    seconds: float
    refused: bool
    what: str


def visit(site: Site, until: float, pause: float = 0.2) -> list[Sample]:
    """The visitor: `/` and the job's page in turn, `pause` seconds apart, until `until`."""
    samples, paths = [], ["/", site.job_path]
    while (started := time.monotonic()) < until:
        path = paths[len(samples) % 2]
        try:
            status = site.session.get(site.url + path, timeout=VISITOR_TIMEOUT).status_code
            refused, what = status == 429 or status >= 500, str(status)
        except requests.RequestException as error:
            refused, what = True, type(error).__name__
        samples.append(Sample(started, time.monotonic() - started, refused, what))
        time.sleep(pause)
    return samples


def summary(samples: list[Sample]) -> dict:
    """Answers, refusals and the answers' median, p95 and max seconds."""
    times = sorted(sample.seconds for sample in samples if not sample.refused)
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else None
    return {
        "answers": len(times),
        "refused": sum(sample.refused for sample in samples),
        "refusals": sorted({sample.what for sample in samples if sample.refused}),
        "median": round(statistics.median(times), 4) if times else None,
        "p95": round(p95, 4) if times else None,
        "max": round(times[-1], 4) if times else None,
    }


def connect(site: Site, address: str, receive_buffer: int | None = None) -> socket.socket:
    """A TCP connection to the site from `address` (a loopback address of this machine)."""
    if not ipaddress.ip_address(address).is_loopback:
        raise ValueError(f"{address} is not a loopback address")
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.bind((address, 0))
    sock.settimeout(5)
    sock.connect(site.host)
    return sock


def closed_or_answered(sock: socket.socket) -> bytes | None:
    """What the site sent (b"" once it closed), or None while it is silent."""
    if not select.select([sock], [], [], 0)[0]:
        return None
    try:
        return sock.recv(4096) or b""
    except OSError:
        return b""


def status_of(answer: bytes | None) -> str | None:
    """The status code that an answer's first bytes carry ("429"), None without one."""
    status = re.match(rb"HTTP/1\.[01] (\d{3})", answer or b"")
    return status[1].decode() if status else None


def header_lines():
    """A maker of request header lines, each one new: what a slowloris client trickles."""
    count = itertools.count()
    return lambda: f"X-Slow-{next(count)}: 1\r\n".encode()


def upload_head(site: Site, length: int) -> bytes:
    """A POST / that announces a multipart body of `length` bytes, with the form's start."""
    token = site.session.cookies["csrftoken"]
    head = (
        f"POST / HTTP/1.1\r\nHost: {site.host[0]}:{site.host[1]}\r\n"
        f"Cookie: {site.cookie_header()}\r\nReferer: {site.url}/\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )
    form = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f'{token}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="images"; '
        f'filename="slow.png"\r\nContent-Type: image/png\r\n\r\n'
    )
    return (head + form).encode()


class Crowd:
    """What the crowd's clients saw: connections made, cut by the site (with the seconds each
    had lasted), refused (a status such as 429 or 413, or no connection), bytes sent and read."""

    def __init__(self):
        self.lock = threading.Lock()
        self.connections, self.refusals = Counter(), Counter()
        self.cuts = defaultdict(list)
        self.sent = self.read = 0

    def connected(self, kind: str) -> None:
        with self.lock:
            self.connections[kind] += 1

    def refused(self, kind: str) -> None:
        with self.lock:
            self.refusals[kind] += 1

    def cut(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.cuts[kind].append(seconds)

    def moved(self, *, sent: int = 0, read: int = 0) -> None:
        with self.lock:
            self.sent += sent
            self.read += read

    def report(self) -> dict:
        return {
            "connections": dict(self.connections),
            "cut": {kind: len(seconds) for kind, seconds in self.cuts.items()},
            "cut_after_median_s": {
                kind: round(statistics.median(seconds), 1) for kind, seconds in self.cuts.items()
            },
            "refused": dict(self.refusals),
            "bytes_sent": self.sent,
            "bytes_read": self.read,
        }


def slow_client(kind: str, site: Site, address: str, until: float, crowd: Crowd) -> None:
    """One crowd client of `kind` (upload, slowloris, reader) from `address` until `until`,
    connecting again (at most twice a second) whenever the site cuts or refuses it."""
    while time.monotonic() < until:
        began = time.monotonic()
        try:
            sock = connect(site, address, receive_buffer=4096 if kind == "reader" else None)
        except OSError:
            crowd.refused(kind)
            time.sleep(0.5)
            continue
        crowd.connected(kind)
        try:
            outcome = SLOW[kind](sock, site, until, crowd)
        finally:
            sock.close()
        if outcome is not None:
            status = status_of(outcome)
            if status and status not in ("200", "302"):
                crowd.refused(kind)
            elif time.monotonic() < until:
                crowd.cut(kind, time.monotonic() - began)
        time.sleep(max(0.0, 0.5 - (time.monotonic() - began)))


def _trickle(sock: socket.socket, crowd: Crowd, until: float, every: float, piece) -> bytes | None:
    """Send piece() every `every` seconds until `until`, watching the socket meanwhile; what
    the site answered (b"" for a close), or None if it never did."""
    due = time.monotonic()
    while (now := time.monotonic()) < until:
        if (answer := closed_or_answered(sock)) is not None:
            return answer
        if now >= due:
            try:
                data = piece()
                sock.sendall(data)
            except OSError:
                return b""
            crowd.moved(sent=len(data))
            due += every
        time.sleep(0.05)
    return None


def slow_upload(sock, site: Site, until: float, crowd: Crowd) -> bytes | None:
    sock.sendall(upload_head(site, 4 * 1024 * 1024))
    return _trickle(sock, crowd, until, 1.0, lambda: os.urandom(8192))


def slowloris(sock, site: Site, until: float, crowd: Crowd) -> bytes | None:
    sock.sendall(f"GET / HTTP/1.1\r\nHost: {site.host[0]}\r\n".encode())
    return _trickle(sock, crowd, until, 5.0, header_lines())


def slow_reader(sock, site: Site, until: float, crowd: Crowd) -> bytes | None:
    request = (
        f"GET {site.download_path} HTTP/1.1\r\nHost: {site.host[0]}:{site.host[1]}\r\n"
        f"Cookie: {site.cookie_header()}\r\n\r\n"
    )
    sock.sendall(request.encode())
    first = True
    while time.monotonic() < until:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            return b""
        if first and data:
            first = False
            if not data.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
                return data
        if not data:
            return b""
        crowd.moved(read=len(data))
        time.sleep(0.25)
    return None


SLOW = {"upload": slow_upload, "slowloris": slowloris, "reader": slow_reader}


def crowd_addresses(count: int, first: int = 2) -> list[str]:
    """127.0.0.<first>, ... : `count` loopback addresses other than the visitor's."""
    return [str(ipaddress.ip_address("127.0.0.0") + first + index) for index in range(count)]


def probe(
    site: Site,
    *,
    uploads: int = 24,
    slowloris: int = 8,
    readers: int = 4,
    before: float = 5,
    during: float = 30,
    after: float = 5,
    one_address: bool = False,
) -> dict:
    """The visitor's times before, during and after the crowd, and what the crowd saw."""
    kinds = ["upload"] * uploads + ["slowloris"] * slowloris + ["reader"] * readers
    if len(kinds) > 250:
        raise ValueError("at most 250 crowd clients")
    addresses = crowd_addresses(1 if one_address else len(kinds))
    start = time.monotonic()
    crowd_start, crowd_end = start + before, start + before + during
    crowd, threads = Crowd(), []
    for index, kind in enumerate(kinds):
        address = addresses[index % len(addresses)]

        def run(kind=kind, address=address):
            time.sleep(max(0.0, crowd_start - time.monotonic()))
            slow_client(kind, site, address, crowd_end, crowd)

        threads.append(threading.Thread(target=run, daemon=True))
    for thread in threads:
        thread.start()
    samples = visit(site, crowd_end + after)
    for thread in threads:
        thread.join(timeout=15)
    phases = {
        "before": [s for s in samples if s.started < crowd_start],
        "during": [s for s in samples if crowd_start <= s.started < crowd_end],
        "after": [s for s in samples if s.started >= crowd_end],
    }
    return {
        "crowd": {"uploads": uploads, "slowloris": slowloris, "readers": readers},
        "seconds": {"before": before, "during": during, "after": after},
        "visitor": {phase: summary(part) for phase, part in phases.items()},
        "crowd_saw": crowd.report(),
    }


def oversized_upload(site: Site, length: int = 2 * 1024**3, address: str = "127.0.0.1") -> dict:
    """POST / announcing `length` bytes; its body, at full speed, only if the site has not
    answered within a second (as curl waits for `100 Continue`), until it answers: the status,
    the seconds to it and the bytes of body sent by then."""
    sock = connect(site, address)
    started, sent, answer = time.monotonic(), 0, None
    sock.sendall(upload_head(site, length))
    select.select([sock], [], [], 1)
    chunk = bytes(64 * 1024)
    sock.settimeout(0.05)
    try:
        while time.monotonic() - started < 60 and sent < length:
            if (answer := closed_or_answered(sock)) is not None:
                break
            with contextlib.suppress(TimeoutError):
                sent += sock.send(chunk)
        if answer is None:
            sock.settimeout(10)
            answer = sock.recv(4096)
    except OSError:
        pass
    finally:
        sock.close()
    status = status_of(answer)
    return {
        "status": int(status) if status else None,
        "seconds": round(time.monotonic() - started, 3),
        "body_bytes_sent": sent,
    }


def cut_after(site: Site, *, header_lines_every: float | None, limit: float) -> float | None:
    """Seconds until the site closes a connection that sends nothing (None) or a request header
    a line every `header_lines_every` seconds; None if it is still open after `limit`."""
    sock = connect(site, "127.0.0.1")
    started = time.monotonic()
    try:
        if header_lines_every is None:  # one empty "line" at once, then nothing until the end
            every, piece = limit, lambda: b""
        else:
            sock.sendall(b"GET / HTTP/1.1\r\n")
            every, piece = header_lines_every, header_lines()
        if _trickle(sock, Crowd(), started + limit, every, piece) is None:
            return None
        return round(time.monotonic() - started, 2)
    finally:
        sock.close()


def one_address_capped(site: Site, connections: int, address: str = "127.0.0.2") -> dict:
    """`connections` slow uploads at once from one address: how many the site took and how
    many it refused at once (and with which status)."""
    socks, statuses = [], {}
    try:
        for _ in range(connections):
            sock = connect(site, address)
            sock.sendall(upload_head(site, 1024 * 1024) + b"x" * 1024)
            socks.append(sock)
        time.sleep(0.5)
        for sock in socks:
            answer = closed_or_answered(sock)
            key = status_of(answer) or ("closed" if answer == b"" else "held")
            statuses[key] = statuses.get(key, 0) + 1
    finally:
        for sock in socks:
            sock.close()
    return statuses


def print_report(result: dict) -> None:
    print(f"crowd: {result['crowd']}, seconds: {result['seconds']}")
    print(f"{'phase':8} {'answers':>8} {'refused':>8} {'median':>8} {'p95':>8} {'max':>8}")
    for phase, row in result["visitor"].items():
        cells = [row[name] if row[name] is not None else "-" for name in ("median", "p95", "max")]
        print(
            f"{phase:8} {row['answers']:>8} {row['refused']:>8} "
            + " ".join(f"{cell:>8}" for cell in cells)
            + (f"  {row['refusals']}" if row["refusals"] else "")
        )
    print(f"the crowd saw: {result['crowd_saw']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the site, e.g. http://127.0.0.1:8000 (loopback only)")
    parser.add_argument("--uploads", type=int, default=24)
    parser.add_argument("--slowloris", type=int, default=8)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--before", type=float, default=5)
    parser.add_argument("--during", type=float, default=30)
    parser.add_argument("--after", type=float, default=5)
    parser.add_argument("--one-address", action="store_true", help="the whole crowd from 127.0.0.2")
    parser.add_argument("--checks", action="store_true", help="also the separate checks")
    parser.add_argument("--json", help="write the figures to this file too")
    args = parser.parse_args()
    site = open_site(args.url)
    result = probe(
        site,
        uploads=args.uploads,
        slowloris=args.slowloris,
        readers=args.readers,
        before=args.before,
        during=args.during,
        after=args.after,
        one_address=args.one_address,
    )
    print_report(result)
    if args.checks:
        result["checks"] = {
            "oversized_upload": oversized_upload(site),
            "idle_cut_after": cut_after(site, header_lines_every=None, limit=70),
            "header_trickle_cut_after": cut_after(site, header_lines_every=2, limit=70),
            "one_address_80_uploads": one_address_capped(site, 80),
        }
        print(f"checks: {result['checks']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()

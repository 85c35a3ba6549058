"""What a person waits on: POST an upload, the queue, the worker, the archive, the page noticing.

    .venv/bin/python bench/wholepath.py [--quick] [--json FILE]

Runs `make run`'s own processes (bench/stack.py) and, in the same run, the tutorial baseline
(bench/tutorial.py) on the same web and worker. Floor: the same thumbnails made by
`imaging.make_thumbnails` in this process, one image after another.
"""

import argparse
import asyncio
import random
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime
from io import BytesIO
from pathlib import Path

import aiohttp
import redis
import yarl
from celery import Celery

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.records import append
from bench.records import line as record
from bench.stack import BASE_DIR, Stack, make_run_stack
from bench.thumbnails import photo_like
from thumbnailer import imaging

SIZES = (128, 256, 512)
FINAL = {"done", "failed", "cancelled", "SUCCESS", "FAILURE"}
CHROMIUM = Path("/usr/bin/chromium")


class Client:
    """A person's browser, as light as possible on the CPU that the stack shares with it
    (aiohttp: a tenth of httpx's CPU time a request)."""

    def __init__(self, url: str):
        # unsafe: keep the cookies of a site on a bare IP address (127.0.0.1).
        jar = aiohttp.CookieJar(unsafe=True)
        self.session = aiohttp.ClientSession(url, cookie_jar=jar)

    async def get(self, url: str, headers: dict | None = None, **params) -> tuple[int, str]:
        async with self.session.get(url, params=params, headers=headers) as response:
            return response.status, await response.text()

    async def json(self, url: str) -> dict:
        async with self.session.get(url) as response:
            return await response.json()

    async def post_file(self, url: str, field: str, data: bytes) -> aiohttp.ClientResponse:
        form = aiohttp.FormData()
        form.add_field(field, data, filename="photo.jpg", content_type="image/jpeg")
        async with self.session.post(url, data=form, allow_redirects=False) as response:
            await response.read()
            return response

    async def close(self) -> None:
        await self.session.close()


async def project_client(url: str) -> Client:
    """A browser that has loaded the upload page, so it has a session and a CSRF token."""
    client = Client(url)
    await client.get("/")
    token = client.session.cookie_jar.filter_cookies(yarl.URL(url))["csrftoken"].value
    client.session.headers["X-CSRFToken"] = token
    return client


def page_delays(interval: float | None):
    """The waits between a client's questions: every `interval` seconds, or as the job page
    does (static/follow.js): 100 ms, then 1.2x longer after each unchanged answer, up to 1 s."""
    delay = interval or 0.1
    while True:
        yield delay
        if interval is None:
            delay = min(delay * 1.2, 1.0)


async def project_job(client: Client, data: bytes, interval: float | None) -> tuple:
    """Upload, then follow the job: status.json every `interval`, or (None) the page's own
    live part. Returns (seconds until this client saw it finished, server's finished_at)."""
    started = time.perf_counter()
    response = await client.post_file("/", "images", data)
    assert response.status == 302, response.status
    job_url = response.headers["location"]
    seen, delays = "queued-0", page_delays(interval)
    while True:
        if interval is None:
            status, part = await client.get(f"{job_url}progress", seen=seen)
            if status == 200 and "data-follow" not in part:
                break
            if status == 200:
                seen = re.search(r'data-seen="([^"]+)"', part)[1]
        elif (await client.json(f"{job_url}status.json"))["status"] in FINAL:
            break
        await asyncio.sleep(next(delays))
    seen_after = time.perf_counter() - started
    state = await client.json(f"{job_url}status.json")
    assert state["status"] == "done", state
    return seen_after, datetime.fromisoformat(state["finished_at"]).timestamp()


async def tutorial_job(client: Client, data: bytes, interval: float | None) -> tuple:
    """The same with the tutorial's view and task, asked at the same pace."""
    started = time.perf_counter()
    response = await client.post_file("/tutorial/", "image_file", data)
    status_url = f"/tutorial/tasks/{(await response.json())['task_id']}/"
    delays = page_delays(interval)
    while (state := await client.json(status_url))["task_status"] not in FINAL:
        await asyncio.sleep(next(delays))
    assert state["task_status"] == "SUCCESS", state
    return time.perf_counter() - started, datetime.fromisoformat(state["date_done"]).timestamp()


async def together(stack: Stack, job, data: bytes, clients: int) -> tuple[float, float]:
    """`clients` people upload at once and watch their pages. Returns the seconds from the
    first upload until the last job was finished (by the worker's clock) and until the last
    person's page showed it."""
    sessions = [await project_client(stack.url) for _ in range(clients)]
    started, wall = time.perf_counter(), time.time()
    outcomes = await asyncio.gather(*(job(session, data, None) for session in sessions))
    seen = time.perf_counter() - started
    for session in sessions:
        await session.close()
    return max(finished for _, finished in outcomes) - wall, seen


def floor(data: bytes, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        imaging.make_thumbnails(BytesIO(data), sizes=SIZES, max_pixels=50_000_000)
    return time.perf_counter() - started


def concurrent_case(stack, name, data, clients, repeat, floor_target, ratio_target) -> dict:
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(asyncio.run(together(stack, project_job, data, clients)))
        theirs.append(asyncio.run(together(stack, tutorial_job, data, clients)))
    floors = [floor(data, clients) for _ in range(repeat)]
    floor_median = statistics.median(floors)
    project = statistics.median(done for done, _ in ours)
    return record(
        name,
        [done for done, _ in ours],
        [done for done, _ in theirs],
        seen_by_pages_median=round(statistics.median(seen for _, seen in ours), 4),
        baseline_seen_median=round(statistics.median(seen for _, seen in theirs), 4),
        floor_median=round(floor_median, 4),
        times_floor=round(project / floor_median, 2),
        target_times_floor=floor_target,
        target_ratio=ratio_target,
    )


def single_case(stack, data, repeat) -> dict:
    async def one(job) -> list[float]:
        client = await project_client(stack.url)
        times = [(await job(client, data, 0.02))[0] for _ in range(repeat)]
        await client.close()
        return times

    return record(
        "one 1920x1080 upload, POST -> done (polled every 20 ms)",
        asyncio.run(one(project_job)),
        asyncio.run(one(tutorial_job)),
        target_seconds=0.25,
    )


def object_storage_case(disk: Stack, data: bytes, repeat: int) -> dict:
    """The single upload with the media in S3 (moto_server on loopback), taking turns with the
    same upload on `disk`, the stack with media on disk, while both run."""

    async def turns() -> tuple[list[float], list[float]]:
        on_disk, in_s3 = await project_client(disk.url), await project_client(s3.url)
        for _ in range(3):  # warm: imports, and a storage connection per thread of the web
            await project_job(in_s3, data, 0.02)
        disk_times, s3_times = [], []
        for _ in range(repeat):
            disk_times.append((await project_job(on_disk, data, 0.02))[0])
            s3_times.append((await project_job(in_s3, data, 0.02))[0])
        await on_disk.close()
        await in_s3.close()
        return disk_times, s3_times

    with make_run_stack(object_storage=True) as s3:
        disk_times, s3_times = asyncio.run(turns())
    disk_median = statistics.median(disk_times)
    return record(
        "one 1920x1080 upload, POST -> done, media in S3 (moto on loopback) against on disk",
        s3_times,
        None,
        disk_median=round(disk_median, 4),
        disk_runs=[round(t, 4) for t in disk_times],
        times_disk=round(statistics.median(s3_times) / disk_median, 2),
        target_times_disk=2.0,
    )


# Notes, in the page, when the job's state first shows "done" (epoch milliseconds).
DONE_WATCH = """
new MutationObserver(() => {
  if (!window.doneAt && document.querySelector(".job-progress[data-status=done]")) {
    window.doneAt = performance.timeOrigin + performance.now();
  }
}).observe(document, { subtree: true, childList: true, attributes: true });
"""


def browser_case(stack, data, repeat) -> dict | None:
    """A real Chromium on the upload page and then the job page: from the moment the browser
    sends the upload to the moment the page shows the job done (both by Chromium's clock)."""
    if not CHROMIUM.exists():
        print("no Chromium: browser case skipped", flush=True)
        return None
    from playwright.sync_api import sync_playwright

    image = Path(stack.env["MEDIA_ROOT"]).parent / "photo.jpg"
    image.write_bytes(data)
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.add_init_script(DONE_WATCH)
        for _ in range(repeat):
            page.goto(f"{stack.url}/")
            page.set_input_files("input[name=images]", str(image))
            with page.expect_request(lambda request: request.method == "POST") as upload:
                page.click("button[type=submit]")
            # A selector, not wait_for_function: that evaluates its string with eval, which
            # the site's Content-Security-Policy refuses.
            page.wait_for_selector(".job-progress[data-status=done]", timeout=60_000)
            sent_at = upload.value.timing["startTime"]
            times.append((page.evaluate("window.doneAt") - sent_at) / 1000)
        browser.close()
    return record(
        "one 1920x1080 upload in Chromium, POST -> the job page shows done",
        times,
        None,
        target_seconds=0.4,
    )


def status_case(stack, pollers: int, interval: float, seconds: float, target=None) -> dict:
    """`pollers` clients each asking for a job's status.json every `interval` s, starting at
    random moments, for `seconds`: the latency of each answer."""

    async def run() -> list[float]:
        owner = await project_client(stack.url)
        response = await owner.post_file("/", "images", photo_like((64, 48), "JPEG"))
        status_url = response.headers["location"] + "status.json"
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def poll():
            await asyncio.sleep(random.uniform(0, interval))
            while (started := time.perf_counter()) < deadline:
                await owner.json(status_url)
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(max(0.0, interval - latencies[-1]))

        await asyncio.gather(*(poll() for _ in range(pollers)))
        await owner.close()
        return latencies

    latencies = sorted(asyncio.run(run()))
    return record(
        f"status.json, {pollers} pollers every {interval * 1000:.0f} ms: p99",
        [latencies[int(len(latencies) * 0.99)]],
        None,
        p50=round(statistics.median(latencies), 4),
        requests=len(latencies),
        **({"target_seconds": target} if target else {}),
    )


def celery_client(stack: Stack) -> Celery:
    app = Celery(broker=stack.redis_url, backend=stack.redis_url, set_as_current=False)
    app.conf.task_default_queue = "default"
    app.conf.broker_transport_options = {"global_keyprefix": stack.redis_prefix}
    app.conf.result_backend_transport_options = {"global_keyprefix": stack.redis_prefix}
    return app


def beside_the_jobs(stack: Stack, data: bytes, clients: int, users: int = 0) -> dict:
    """`clients` big jobs at once while heartbeat tasks and control pings go back and forth
    (one at a time), and with `users`, while `generate_users <users> --wait` runs too."""
    app = celery_client(stack)
    worker = [name for reply in app.control.ping(timeout=1) for name in reply]
    if users:
        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        command = [*manage, "generate_users", str(users), "--wait"]
        maker = subprocess.Popen(command, env=stack.env, stdout=subprocess.DEVNULL)
        users_started = time.perf_counter()
        while "Task users.user_batch_fill" not in stack.worker_log():  # the batch is under way
            time.sleep(0.05)

    def ping() -> None:
        # With its destination named, a ping returns on the reply instead of waiting it out.
        assert app.control.ping(destination=worker, timeout=5), "no answer within 5 s"

    async def probe(done: asyncio.Event, task_times: list, ping_times: list):
        while not done.is_set():
            started, sent_at = time.perf_counter(), time.time()
            ran_at = await asyncio.to_thread(
                lambda: app.send_task("ops.heartbeat_record").get(timeout=30)
            )
            task_times.append(time.perf_counter() - started)
            run_after.append(ran_at - sent_at)  # the task returns the time it ran
            started = time.perf_counter()
            await asyncio.to_thread(ping)
            ping_times.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    run_after: list[float] = []

    async def run():
        done, task_times, ping_times = asyncio.Event(), [], []
        prober = asyncio.create_task(probe(done, task_times, ping_times))
        elapsed, _ = await together(stack, project_job, data, clients)
        done.set()
        await prober
        return elapsed, task_times, ping_times

    jobs_time, task_times, ping_times = asyncio.run(run())
    beats = {
        "heartbeats": len(task_times),
        "heartbeat_median": round(statistics.median(task_times), 4),
        "heartbeat_max": round(max(task_times), 4),
        "heartbeat_ran_after_max": round(max(run_after), 4),
        "ping_median": round(statistics.median(ping_times), 4),
        "ping_max": round(max(ping_times), 4),
    }
    if not users:
        name = f"heartbeat task round trip during {clients} x 6000x4000: max"
        return record(name, [max(task_times)], None, **beats, target_seconds=0.2)
    maker.wait()
    return record(
        f"{clients} x 6000x4000 while {users:,} users are made",
        [jobs_time],
        None,
        users_seconds=round(time.perf_counter() - users_started, 2),
        users_exit_code=maker.returncode,
        **beats,
    )


def scrape_case(stack: Stack, scrapes: int) -> dict:
    """GET /metrics (through the front, with the token) while 1,000 messages wait, 500 in each
    queue: the worker stops taking from both meanwhile (Celery's cancel_consumer), and the
    messages are dropped after. ops/tests/test_metrics.py checks that a scrape asks Redis the same
    whatever the backlog; this is what it takes."""
    app = celery_client(stack)
    queues = ("thumbnails", "default")
    for queue in queues:
        assert app.control.cancel_consumer(queue, reply=True), "no worker answered"
    for queue in queues:
        for _ in range(500):
            app.send_task("ops.heartbeat_record", queue=queue)

    async def scrape_all() -> list[float]:
        client, took = Client(stack.url), []
        token = {"Authorization": f"Bearer {stack.env['METRICS_TOKEN']}"}
        async with client.session:
            for _ in range(scrapes + 1):  # the first one connects
                started = time.perf_counter()
                status, text = await client.get("/metrics", headers=token)
                took.append(time.perf_counter() - started)
                assert status == 200 and 'queue="thumbnails"} 500.0' in text, text
        return took[1:]

    took = asyncio.run(scrape_all())
    redis.Redis.from_url(stack.redis_url).delete(*(stack.redis_prefix + q for q in queues))
    for queue in queues:
        app.control.add_consumer(queue, reply=True)
    return record(
        "GET /metrics with 1,000 messages waiting: median",
        took,
        None,
        max=round(max(took), 4),
        target_seconds=0.05,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, smaller runs (<60 s)")
    parser.add_argument("--json", type=Path, help="append the records to this JSON list")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    hd = photo_like((1920, 1080), "JPEG")
    big = photo_like((6000, 4000), "JPEG")
    records = []
    with make_run_stack() as stack:
        records.append(single_case(stack, hd, 3 if args.quick else 5))
        records.append(object_storage_case(stack, hd, 3 if args.quick else 5))
        records.append(concurrent_case(stack, "20 x 1920x1080 at once", hd, 20, repeat, 3.0, 2.0))
        records.append(concurrent_case(stack, "10 x 6000x4000 at once", big, 10, repeat, 1.5, 4.0))
        # Scripts, and job pages after their first seconds, ask once a second; the second
        # case is five times that, faster than any page asks after its first second.
        records.append(status_case(stack, 50, 1.0, 2 if args.quick else 10, target=0.02))
        if not args.quick:
            records.append(status_case(stack, 50, 0.2, 5))
        if browser := browser_case(stack, hd, 2 if args.quick else 5):
            records.append(browser)
        records.append(beside_the_jobs(stack, big, 10))
        records.append(scrape_case(stack, 5 if args.quick else 20))
        if not args.quick:
            records.append(beside_the_jobs(stack, big, 10, users=100_000))
    if args.json:
        append(args.json, records)


if __name__ == "__main__":
    main()

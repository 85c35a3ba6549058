"""A bounded load test on loopback, against `make run`'s processes (bench/stack.py).

    .venv/bin/python bench/load.py [--seconds 60] [--people 20]

For `--seconds`, `--people` people each upload a 1920x1080 JPEG, follow their job page as
static/follow.js does until it is done, and start again; one more asks for 50 users at a
time and follows the batch. Then one job of 10 images at the pixel limit (MAX_IMAGE_PIXELS,
JPEG and PNG). Reports every answer that was not the expected one, the jobs done, and the peak
memory (RSS) of the web (every gunicorn process) and of the worker, sampled every 0.2 s.
"""

import argparse
import asyncio
import re
import sys
import threading
import time
from io import BytesIO
from pathlib import Path

import aiohttp
import psutil
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.stack import make_run_stack
from bench.thumbnails import photo_like
from bench.wholepath import page_delays, project_client

LIMIT_PIXELS = 50_000_000


class PeakMemory:
    """The largest RSS seen, per role, over the stack's process tree."""

    def __init__(self, pid: int):
        self.root, self.peaks, self.done = psutil.Process(pid), {"web": 0, "worker": 0}, False
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while not self.done:
            totals = {"web": 0, "worker": 0}
            for proc in self.root.children(recursive=True):
                try:
                    command = " ".join(proc.cmdline())
                    role = (
                        "web" if "gunicorn" in command else "worker" if " worker" in command else ""
                    )
                    if role:
                        totals[role] += proc.memory_info().rss
                except psutil.Error:
                    continue
            for role, total in totals.items():
                self.peaks[role] = max(self.peaks[role], total)
            time.sleep(0.2)

    def reset(self) -> dict:
        peaks, self.peaks = self.peaks, {"web": 0, "worker": 0}
        return {role: f"{peak / 2**20:.0f} MiB" for role, peak in peaks.items()}


async def follow(client, url: str, errors: list) -> bool:
    """Follow a job's or a batch's live part until it is final; True if it ended done."""
    seen, delays = "queued-0", page_delays(None)
    while True:
        status, part = await client.get(f"{url}progress" if "/jobs/" in url else url, seen=seen)
        if status == 200 and "data-follow" not in part:
            return "failed" not in part.lower()
        if status == 200:
            seen = re.search(r'data-seen="([^"]+)"', part)[1]
        elif status != 204:
            errors.append(f"GET {url}: {status}")
            return False
        await asyncio.sleep(next(delays))


async def person(stack, data: bytes, until: float, errors: list, done: list) -> None:
    client = await project_client(stack.url)
    try:
        while time.monotonic() < until:
            response = await client.post_file("/", "images", data)
            if response.status != 302:
                errors.append(f"POST /: {response.status}")
                continue
            if await follow(client, response.headers["location"], errors):
                done.append(1)
            else:
                errors.append(f"job {response.headers['location']} did not end done")
    finally:
        await client.close()


async def user_maker(stack, until: float, errors: list, done: list) -> None:
    client = await project_client(stack.url)
    try:
        while time.monotonic() < until:
            async with client.session.post(
                "/users/generate/", data={"total": "50"}, allow_redirects=False
            ) as response:
                if response.status != 302:
                    errors.append(f"POST /users/generate/: {response.status}")
                    continue
            batch_url = await latest_batch_url(client)
            status = (await client.json(batch_url))["status"]
            while status not in ("done", "failed"):
                await asyncio.sleep(0.2)
                status = (await client.json(batch_url))["status"]
            (done if status == "done" else errors).append(f"batch {status}")
    finally:
        await client.close()


async def latest_batch_url(client) -> str:
    _, page = await client.get("/users/")
    return re.search(r"(/users/batches/[0-9a-f-]+/)", page)[1] + "status.json"


async def load(stack, seconds: float, people: int) -> dict:
    data = photo_like((1920, 1080), "JPEG")
    errors, jobs, batches = [], [], []
    until = time.monotonic() + seconds
    await asyncio.gather(
        *(person(stack, data, until, errors, jobs) for _ in range(people)),
        user_maker(stack, until, errors, batches),
    )
    return {"errors": errors, "jobs_done": len(jobs), "batches_done": len(batches)}


def at_the_pixel_limit(image_format: str) -> tuple[bytes, tuple[int, int]]:
    """A 3:2 image of MAX_IMAGE_PIXELS: a photo for JPEG, a smooth one for PNG (a photo's
    noise would make the PNG larger than the upload limit)."""
    width = int((LIMIT_PIXELS * 3 / 2) ** 0.5)
    size = (width, LIMIT_PIXELS // width)
    if image_format == "JPEG":
        return photo_like(size, "JPEG"), size
    buffer = BytesIO()
    Image.radial_gradient("L").resize(size).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue(), size


async def one_big_job(stack, image_format: str) -> dict:
    data, (width, height) = at_the_pixel_limit(image_format)
    client = await project_client(stack.url)
    extension = image_format.lower()
    form = aiohttp.FormData()
    for number in range(10):
        form.add_field("images", data, filename=f"big-{number}.{extension}")
    started, errors = time.monotonic(), []
    async with client.session.post("/", data=form, allow_redirects=False) as response:
        location = response.headers.get("location")
        if response.status != 302:
            errors.append(f"POST /: {response.status} {await response.text()}")
    ok = bool(location) and await follow(client, location, errors)
    await client.close()
    return {
        "image": f"{width}x{height} {image_format}, {len(data) / 2**20:.1f} MiB",
        "done": ok,
        "seconds": round(time.monotonic() - started, 1),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--people", type=int, default=20)
    args = parser.parse_args()
    with make_run_stack() as stack:
        memory = PeakMemory(stack.pid)
        memory.reset()
        outcome = asyncio.run(load(stack, args.seconds, args.people))
        print(f"{args.people} people for {args.seconds:.0f} s: {outcome}, peak {memory.reset()}")
        for image_format in ("JPEG", "PNG"):
            big = asyncio.run(one_big_job(stack, image_format))
            print(f"one job of 10 images at the pixel limit: {big}, peak {memory.reset()}")
        memory.done = True


if __name__ == "__main__":
    main()

"""Tasks that only the tests' workers load (`--include image_parroter.tests.tasks`)."""

import time

from celery import shared_task
from PIL import Image

from image_parroter.pools import run_off_loop


@shared_task(name="tests.nap")
def nap(seconds: float) -> None:
    """Hold a pool slot without using the CPU (under gevent, the loop runs meanwhile)."""
    time.sleep(seconds)


def _resize_until(deadline: float) -> int:
    image, rounds = Image.new("RGB", (1500, 1500), "orange"), 0
    while time.monotonic() < deadline:
        image.resize((1499, 1499), Image.Resampling.LANCZOS)
        rounds += 1
    return rounds


@shared_task(name="tests.grind")
def grind(seconds: float) -> int:
    """Keep a core busy with Pillow for `seconds`, the way thumbnails do."""
    return run_off_loop(_resize_until, time.monotonic() + seconds)

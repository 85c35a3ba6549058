"""Tasks that only the tests' workers load (`--include image_parroter.tests.tasks`)."""

import logging
import os
import signal
import time

from celery import shared_task
from PIL import Image

from image_parroter.pools import run_off_loop
from thumbnailer import imaging


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


def _log_lines(count: int) -> int:
    logger = logging.getLogger("tests.chatter")
    for n in range(count):
        logger.warning("line %s from a CPU thread", n)
    return count


@shared_task(name="tests.chatter")
def chatter(lines: int) -> int:
    """Log `lines` lines from a CPU thread (run_off_loop) while the loop logs too."""
    return run_off_loop(_log_lines, lines)


def _handler_locks() -> list[str]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {handler for logger in loggers for handler in getattr(logger, "handlers", ())}
    locks = [handler.lock for handler in handlers if handler.lock is not None]  # NullHandler
    return sorted(f"{type(lock).__module__}.{type(lock).__name__}" for lock in locks)


@shared_task(name="tests.handler_locks")
def handler_locks() -> list[str]:
    """The kind of lock of every log handler in the worker."""
    return _handler_locks()


# A stand-in for an image whose decoding kills the process (the kernel's OOM killer, a crash
# in a decoder): a worker that loads this module dies, SIGKILLed, on any image named poison.
_make_thumbnails = imaging.make_thumbnails


def _make_thumbnails_or_die(source, **kwargs):
    if "poison" in getattr(source, "name", ""):
        os.kill(os.getpid(), signal.SIGKILL)
    return _make_thumbnails(source, **kwargs)


imaging.make_thumbnails = _make_thumbnails_or_die

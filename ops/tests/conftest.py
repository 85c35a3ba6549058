"""A real `celery beat` on the test database, started and stopped by each test that uses it."""

import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import running_process


@contextmanager
def running_beat(log_dir: Path):
    """Run `celery -A image_parroter beat` (DatabaseScheduler from settings); yield its log."""
    log_path = log_dir / f"beat-{uuid.uuid4().hex[:8]}.log"

    def started() -> bool:
        return "beat: Starting..." in log_path.read_text()

    with running_process("beat", ["beat", "--loglevel", "INFO"], log_path, started):
        yield log_path


@pytest.fixture
def beat_factory(celery_worker, tmp_path):
    """`with beat_factory():` runs beat meanwhile, sending to the session's real worker."""
    return lambda: running_beat(tmp_path)


def wait_for(condition, timeout: float, interval: float = 0.25):
    """Poll `condition` until it returns something truthy; that value, or None at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    return None

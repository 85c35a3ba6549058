"""A real `celery beat` on the test database, started and stopped by each test that uses it."""

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import BASE_DIR, test_database_url


@contextmanager
def running_beat(log_dir: Path):
    """Run `celery -A image_parroter beat` (DatabaseScheduler from settings); yield its log."""
    log_path = log_dir / f"beat-{uuid.uuid4().hex[:8]}.log"
    env = {**os.environ, "DATABASE_URL": test_database_url()}
    command = [sys.executable, "-m", "celery", "-A", "image_parroter", "beat", "--loglevel", "INFO"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, env=env, cwd=BASE_DIR, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while "beat: Starting..." not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"beat did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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

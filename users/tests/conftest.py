import time

import pytest

from users.models import UserBatch


def wait_for_batch(batch: UserBatch, timeout: float = 60) -> UserBatch:
    """Poll the row until the batch is done or failed."""
    deadline = time.monotonic() + timeout
    while True:
        batch.refresh_from_db()
        if batch.is_final:
            return batch
        if time.monotonic() > deadline:
            pytest.fail(
                f"batch still {batch.status} after {timeout} s: {batch.created}/{batch.total}"
            )
        time.sleep(0.1)

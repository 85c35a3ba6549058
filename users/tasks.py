from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from ops.liveness import redelivered

from . import services
from .models import UserBatch


# OperationalError is transient (a locked SQLite database, a dropped PostgreSQL connection):
# committed chunks stay and the retry makes only what is missing. If the retries run out the
# batch stays unfinished, and ops' sweep dispatches it again later.
# The batch's row says how it went: no result is stored (and the web that sends it never
# subscribes to one in Redis).
@shared_task(
    bind=True,
    name="users.generate_batch",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def generate_batch(self, batch_id: str) -> int:
    """Make the users a batch still lacks; returns how many it has."""
    batch = UserBatch.objects.get(pk=batch_id)
    try:
        # Half the soft time limit each: a batch of any size goes on in a fresh task instead
        # of being cut off by the worker's time limit.
        done = services.user_batch_fill(
            batch=batch,
            seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2,
            redelivered=redelivered(self),
        )
    except OperationalError:
        raise
    except Exception as exc:
        batch.mark_failed(f"Could not make the users: {exc}")
        raise
    if not done:
        batch.dispatch()
    batch.refresh_from_db()
    return batch.created

from celery import shared_task
from django.db import OperationalError

from . import services
from .models import UserBatch


# OperationalError is transient (a locked SQLite database, a dropped PostgreSQL connection):
# committed chunks stay and the retry makes only what is missing. If the retries run out the
# batch stays unfinished, and ops' sweep dispatches it again later.
@shared_task(
    name="users.generate_batch",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def generate_batch(batch_id: str) -> int:
    """Make the users a batch still lacks; returns how many it has."""
    batch = UserBatch.objects.get(pk=batch_id)
    try:
        services.user_batch_fill(batch=batch)
    except OperationalError:
        raise
    except Exception as exc:
        batch.mark_failed(f"Could not make the users: {exc}")
        raise
    batch.refresh_from_db()
    return batch.created

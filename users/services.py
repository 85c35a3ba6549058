"""Use cases of the users app: ask for a batch of random accounts, and make them."""

import string
import time

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from .models import User, UserBatch


def user_batch_create(*, total: int) -> UserBatch:
    """Record a batch of `total` random users and hand it to the workers after commit."""
    with transaction.atomic():
        batch = UserBatch.objects.create(total=total)
        batch.enqueue()
    return batch


def random_username() -> str:
    return "user_" + get_random_string(10, string.ascii_letters)


def user_batch_fill(*, batch: UserBatch, chunk_size: int | None = None) -> UserBatch:
    """Make the users `batch` still lacks, chunk by chunk, until it has exactly `total`.

    Safe to run again or concurrently for the same batch: each chunk runs in one transaction
    that first locks the batch row (SQLite's IMMEDIATE transactions do the same), so the
    count it reads is exact and the users it adds commit together with the new count.
    """
    chunk_size = chunk_size or settings.USERS_GENERATE_CHUNK_SIZE
    if batch.is_final:
        return batch
    batch.mark_running()
    with transaction.atomic():
        # Recount once, under the lock: users made by an earlier attempt, less any deleted since.
        locked = UserBatch.objects.select_for_update().get(pk=batch.pk)
        created = locked.users.count()
        UserBatch.objects.filter(pk=locked.pk).update(
            created=created, progress=created * 100 // locked.total
        )
    while _add_chunk(batch_pk=batch.pk, chunk_size=chunk_size):
        # Under gevent a short sleep lets the event loop poll its sockets, so the worker's other
        # tasks and its broker connection move between chunks (sleep(0) does not poll).
        time.sleep(0.001)
    batch.mark_done()
    return batch


def _add_chunk(*, batch_pk, chunk_size: int) -> bool:
    """Add up to `chunk_size` of the missing users; False when none were missing."""
    with transaction.atomic():
        batch = UserBatch.objects.select_for_update().get(pk=batch_pk)
        missing = batch.total - batch.created
        if missing <= 0:
            return False
        names = {random_username() for _ in range(min(chunk_size, missing))}
        names -= set(User.objects.filter(username__in=names).values_list("username", flat=True))
        now = timezone.now()
        User.objects.bulk_create(
            [
                User(
                    username=name,
                    email=f"{name}@example.com",
                    password=make_password(None),
                    date_joined=now,
                    batch=batch,
                )
                for name in names
            ],
            # Another batch may take a name meanwhile: skip it here, the next chunk tops up.
            ignore_conflicts=True,
        )
        made = User.objects.filter(batch=batch, username__in=names).count()
        created = batch.created + made
        UserBatch.objects.filter(pk=batch_pk).update(
            created=created,
            progress=created * 100 // batch.total,
            updated_at=now,
        )
    return True

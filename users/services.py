"""Use cases of the users app: ask for a batch of random accounts, and make them."""

import os
import string
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ops import dispatch, redis_client

from .models import User, UserBatch

LETTERS = string.ascii_letters.encode()
# A translation table for random bytes: 0..207 map evenly onto the 52 letters (4 bytes each),
# 208..255 are dropped, so no letter is likelier than another.
EVEN_BYTES = 4 * len(LETTERS)
BYTE_TO_LETTER = bytes(LETTERS[byte % len(LETTERS)] for byte in range(EVEN_BYTES)).ljust(256)
UNEVEN_BYTES = bytes(range(EVEN_BYTES, 256))
CHUNK_PAUSE_SECONDS = 0.01
# The ceiling's purge (users_over_ceiling_purge) reads every generated account (0.4 to 0.7 s
# at a million, bench/README.md): it runs after a batch at most once this often, whichever
# worker makes it; meanwhile the accounts may pass the ceiling by what is made in that time.
PURGE_INTERVAL_SECONDS = 60
PURGE_MARK = "users:ceiling_purge"
# Generated accounts deleted per statement by the purge.
PURGE_CHUNK_SIZE = 1000


def user_batch_create(*, total: int, owner: str = "", client: str = "") -> UserBatch:
    """Record a batch of `total` random users for `owner` (a session's owner token) asked for
    by `client` (its address's keyed hash), both empty from the shell, and send it to the
    workers after commit."""
    with transaction.atomic():
        batch = UserBatch.objects.create(total=total, owner=owner, client=client)
        dispatch.send(batch)
    return batch


def user_batch_cancel(*, batch: UserBatch) -> bool:
    """Stop a queued or running batch; the users made so far are kept. False if it had
    ended. The worker stops after the chunk it is making (each chunk checks the batch)."""
    return batch.cancel()


def random_strings(*, count: int, length: int) -> list[str]:
    """`count` strings of `length` random ASCII letters from the OS's CSPRNG.

    One urandom call for all of them: get_random_string() costs a system call per character,
    which was half the time of making a user.
    """
    needed = count * length
    letters = b""
    while len(letters) < needed:
        letters += os.urandom(needed - len(letters) + 64).translate(BYTE_TO_LETTER, UNEVEN_BYTES)
    text = letters[:needed].decode()
    return [text[start : start + length] for start in range(0, needed, length)]


def random_usernames(count: int) -> list[str]:
    """Names as the tutorial made them: `user_` and 10 random letters."""
    return ["user_" + letters for letters in random_strings(count=count, length=10)]


def unusable_passwords(count: int) -> list[str]:
    """What set_unusable_password() stores: the `!` prefix and 40 random characters."""
    return [UNUSABLE_PASSWORD_PREFIX + rest for rest in random_strings(count=count, length=40)]


def _call(function: Callable, /, *args, **kwargs):
    return function(*args, **kwargs)


def user_batch_fill(
    *,
    batch: UserBatch,
    chunk_size: int | None = None,
    seconds: float | None = None,
    redelivered: bool = False,
    run_chunk: Callable = _call,
) -> bool:
    """Make the users `batch` still lacks, chunk by chunk, until it has exactly `total`.

    Safe to run again or concurrently for the same batch: each chunk runs in one transaction
    that first locks the batch row (SQLite's IMMEDIATE transactions do the same), so the
    count it reads is exact and the users it adds commit together with the new count.
    With `seconds`, stops after the chunk that passes that time and returns False (the batch
    stays running); returns True once the batch is done, or failed (see mark_running for
    `redelivered`). Each chunk is `run_chunk(make_chunk, **arguments)`: the task runs them off
    a gevent worker's loop one at a time, so its other tasks run between chunks.
    """
    chunk_size = chunk_size or settings.USERS_GENERATE_CHUNK_SIZE
    deadline = None if seconds is None else time.monotonic() + seconds
    if batch.is_final or not batch.mark_running(redelivered=redelivered):
        return True
    with transaction.atomic():
        # Recount once, under the lock: users made by an earlier attempt, less any deleted since.
        locked = UserBatch.objects.select_for_update().get(pk=batch.pk)
        created = locked.users.count()
        UserBatch.objects.filter(pk=locked.pk).update(
            created=created, progress=created * 100 // locked.total
        )
    while run_chunk(_add_chunk, batch_pk=batch.pk, chunk_size=chunk_size):
        if deadline is not None and time.monotonic() > deadline:
            return False
        # SQLite has one writer at a time and does not queue the others: they retry after
        # sleeps of up to 100 ms. A pause between chunks lets them in.
        time.sleep(CHUNK_PAUSE_SECONDS)
    batch.mark_done()
    return True


def _add_chunk(*, batch_pk, chunk_size: int) -> bool:
    """Add up to `chunk_size` of the missing users; True while some are still missing."""
    with transaction.atomic():
        batch = UserBatch.objects.select_for_update().get(pk=batch_pk)
        missing = batch.total - batch.created
        if missing <= 0 or batch.is_final:  # done, or cancelled meanwhile
            return False
        names = set(random_usernames(min(chunk_size, missing)))
        names -= set(User.objects.filter(username__in=names).values_list("username", flat=True))
        now = timezone.now()
        User.objects.bulk_create(
            [
                User(
                    username=name,
                    email=f"{name}@example.com",
                    password=password,
                    date_joined=now,
                    batch=batch,
                )
                for name, password in zip(names, unusable_passwords(len(names)), strict=True)
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
    return created < batch.total


def users_purge_due() -> bool:
    """Whether the ceiling's purge is due (none ran in the last PURGE_INTERVAL_SECONDS); the
    mark in Redis that says so is set meanwhile. Not with Redis away: the next batch sees."""
    try:
        return cache.add(PURGE_MARK, 1, PURGE_INTERVAL_SECONDS)
    except redis_client.ERRORS:
        return False


def users_over_ceiling_purge(*, ceiling: int | None = None) -> int:
    """Delete the oldest generated accounts past `ceiling` (GENERATED_USERS_MAX): the newest
    that many stay. Never staff (User.objects.generated()), nor users of a batch still being
    made, which counts them. Returns how many went.

    The cut is the ceiling-th newest account, so two purges at once delete the same ones."""
    ceiling = settings.GENERATED_USERS_MAX if ceiling is None else ceiling
    older = User.objects.generated().exclude(batch__in=UserBatch.objects.unfinished())
    if ceiling > 0:
        newest = older.order_by("-date_joined", "-id").values_list("date_joined", "id")
        cut = next(iter(newest[ceiling - 1 : ceiling]), None)
        if cut is None:
            return 0
        joined, pk = cut
        older = older.filter(Q(date_joined__lt=joined) | Q(date_joined=joined, id__lt=pk))
    oldest_first = older.order_by("date_joined", "id").values_list("pk", flat=True)
    deleted = 0
    while chunk := list(oldest_first[:PURGE_CHUNK_SIZE]):
        deleted += User.objects.filter(pk__in=chunk).delete()[1].get(User._meta.label, 0)
    return deleted

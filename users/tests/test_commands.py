from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ops import reasons
from users.management.commands.generate_users import Command
from users.models import UserBatch


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_generate_users_wait_follows_the_batch_to_the_end(celery_worker):
    out = StringIO()
    call_command("generate_users", "3000", "--wait", "--interval", "0.05", stdout=out)
    batch = UserBatch.objects.get()
    assert (batch.status, batch.total, batch.created) == ("done", 3000, 3000)
    assert batch.users.count() == 3000
    lines = out.getvalue().splitlines()
    assert lines[0] == f"Batch {batch.pk}: 3000 users queued."
    assert lines[-2].startswith("Done: 3000/3000 (100%) after ")
    assert lines[-1] == "Done: 3000 users."


@pytest.mark.django_db
def test_generate_users_has_no_form_bounds_but_needs_at_least_one(
    settings, django_capture_on_commit_callbacks
):
    settings.USERS_GENERATE_MAX = 500
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("generate_users", "100000", stdout=StringIO())
    assert UserBatch.objects.get().total == 100_000
    assert len(callbacks) == 1
    with pytest.raises(CommandError, match="at least 1"):
        call_command("generate_users", "0")


@pytest.mark.django_db
def test_generate_users_wait_fails_the_command_when_the_batch_fails():
    """What --wait does once the batch it follows has failed: a non-zero exit with the reason."""
    batch = UserBatch.objects.create(total=10)
    batch.mark_failed([reasons.because("Could not make the users: disk full")])
    out = StringIO()
    with pytest.raises(CommandError, match="failed: Could not make the users: disk full"):
        Command(stdout=out).follow(batch, interval=0.01)
    assert out.getvalue().startswith("Failed: 0/10 (0%)")

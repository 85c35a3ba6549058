import time

from django.core.management.base import BaseCommand, CommandError

from ops.models import JobStatus
from users.models import UserBatch
from users.services import user_batch_create


class Command(BaseCommand):
    help = "Ask the workers for N random users (any number); --wait follows the batch."

    def add_arguments(self, parser):
        parser.add_argument("total", type=int, help="how many users to make")
        parser.add_argument(
            "--wait", action="store_true", help="show progress until the batch is done"
        )
        parser.add_argument(
            "--interval", type=float, default=0.5, help="seconds between progress checks"
        )

    def handle(self, *args, total: int, wait: bool, interval: float, **options):
        if total < 1:
            raise CommandError("N must be at least 1.")
        batch = user_batch_create(total=total)
        self.stdout.write(f"Batch {batch.pk}: {total} users queued.")
        if wait:
            self.follow(batch, interval)

    def follow(self, batch: UserBatch, interval: float) -> None:
        """Print progress whenever it moves; fail if the batch fails."""
        started = time.monotonic()
        shown = None
        while True:
            batch.refresh_from_db()
            line = (
                f"{batch.get_status_display()}: {batch.created}/{batch.total} ({batch.progress}%)"
            )
            if line != shown:
                self.stdout.write(f"{line} after {time.monotonic() - started:.1f} s")
                shown = line
            if batch.is_final:
                break
            time.sleep(interval)
        if batch.status == JobStatus.FAILED:
            raise CommandError(f"Batch {batch.pk} failed: {batch.error}")
        self.stdout.write(self.style.SUCCESS(f"Done: {batch.created} users."))

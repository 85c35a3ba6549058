"""Random users: the tutorial's create_user loop against this project's generation service,
and how long a page of the users list takes with many users in the table.

    .venv/bin/python bench/users.py                        # SQLite (a throwaway file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ip_users .venv/bin/python bench/users.py
    .venv/bin/python bench/users.py --list-rows 1000000    # also time the list at 1,000,000 users,
                                                           # and the ceiling's purge there

Runs on a throwaway test database (test_<name>), created and dropped here. The tutorial's
loop hashes a random 50-character password per user (PBKDF2, 1,000,000 rounds in Django 5.2),
so its time for --users is estimated from --baseline-users measured users.
"""

import argparse
import os
import statistics
import string
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "image_parroter.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

from bench.records import append  # noqa: E402
from bench.records import line as record  # noqa: E402
from users.models import User, UserBatch  # noqa: E402
from users.services import user_batch_fill, users_over_ceiling_purge  # noqa: E402


def tutorial_create_users(total: int) -> None:
    """The tutorial's task body: one create_user per user, each with a random password."""
    for _ in range(total):
        username = "user_" + get_random_string(10, string.ascii_letters)
        User.objects.create_user(username, f"{username}@example.com", get_random_string(50))


def service_create_users(total: int) -> None:
    """What this project's worker does for a batch of `total`."""
    user_batch_fill(batch=UserBatch.objects.create(total=total))


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def compare(users: int, baseline_users: int, repeat: int) -> dict:
    per_user = [
        timed(tutorial_create_users, baseline_users) / baseline_users for _ in range(repeat)
    ]
    baseline = statistics.median(per_user) * users
    services = [timed(service_create_users, users) for _ in range(repeat)]
    service = statistics.median(services)
    print(
        f"tutorial loop: {statistics.median(per_user) * 1000:.1f} ms a user (median of {repeat}"
        f" runs of {baseline_users} users), so {users} users ~ {baseline:.2f} s"
    )
    print(f"service:       {users} users in {service * 1000:.1f} ms (median of {repeat} runs)")
    print(f"ratio:         {baseline / service:.0f}x")
    return record(
        f"users: {users} users ({connection.vendor})",
        services,
        [seconds * users for seconds in per_user],
        baseline_estimated_from=baseline_users,
    )


def fill_table(rows: int) -> None:
    missing = rows - User.objects.count()
    if missing > 0:
        started = time.perf_counter()
        user_batch_fill(batch=UserBatch.objects.create(total=missing), chunk_size=5000)
        print(f"filled the table with {missing} users in {time.perf_counter() - started:.0f} s")
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a million inserts: statistics and the visibility map.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE users_user")


def time_list_pages(repeat: int) -> None:
    client = Client()
    last = (User.objects.count() + 49) // 50
    probe = User.objects.order_by("id").values_list("username", flat=True)[last * 25]
    urls = [
        "/users/",
        "/users/?page=2",
        f"/users/?page={last // 2}",
        f"/users/?page={last}",
        f"/users/?q={probe}",  # one match
        f"/users/?q={probe[5:9]}",  # a few letters: a handful of matches
        "/users/?q=example",  # every user matches
    ]
    print(f"users list, {User.objects.count()} users, median of {repeat} requests:")
    for url in urls:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        print(f"  {url:<32} {statistics.median(times) * 1000:7.1f} ms")


def time_ceiling_purge(repeat: int, past: int = 500) -> None:
    """What the ceiling on generated accounts costs the worker after each batch, with the table
    at the ceiling: nothing past it, then one batch (`past` users) past it."""
    ceiling = User.objects.generated().count()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        assert users_over_ceiling_purge(ceiling=ceiling) == 0
        times.append(time.perf_counter() - started)
    print(f"ceiling purge at {ceiling} generated users, nothing past it, median of {repeat}:")
    print(f"  {statistics.median(times) * 1000:7.1f} ms")
    times = []
    for _ in range(repeat):
        user_batch_fill(batch=UserBatch.objects.create(total=past))
        started = time.perf_counter()
        assert users_over_ceiling_purge(ceiling=ceiling) == past
        times.append(time.perf_counter() - started)
    print(f"  {statistics.median(times) * 1000:7.1f} ms to delete the {past} oldest past it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--baseline-users", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--list-rows", type=int, default=0, help="also time the list at N users")
    parser.add_argument("--json", type=Path, help="append the records to this JSON list")
    args = parser.parse_args()

    warnings.filterwarnings("ignore", message="No directory at")  # static files unused here
    settings.DEBUG = False  # no query log growing with every statement
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    with tempfile.TemporaryDirectory() as tmp:
        if connection.vendor == "sqlite":
            connection.settings_dict["TEST"]["NAME"] = str(Path(tmp) / "bench.sqlite3")
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0)
        try:
            print(f"{connection.vendor}, {connection.settings_dict['NAME']}")
            records = [compare(args.users, args.baseline_users, args.repeat)]
            if args.list_rows:
                fill_table(args.list_rows)
                time_list_pages(args.repeat)
                time_ceiling_purge(args.repeat)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    if args.json:
        append(args.json, records)


if __name__ == "__main__":
    main()

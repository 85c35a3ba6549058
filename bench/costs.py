"""What one job costs, counted, not timed: Redis commands, SQL statements, bytes stored, and the
CPU time of the web and the worker, through the processes `make run` starts. The cases: jobs of
one 1920x1080, one 6000x4000 and three 1920x1080 images, and a batch of 500 users (the most the
form allows, and one chunk of the worker's).

    .venv/bin/python bench/costs.py [--quick] [--object-storage] [--events] [--json FILE]
        [--database-url URL] [--sql-log FILE]

Counts do not wander with the machine's load as times do. Redis: `INFO commandstats` of the
stack's private Redis around each job, less what the idle stack sends in as long (the worker
asking for messages, beat's heartbeat; measured first). SQL: every statement the web and the
worker log (`django.db.backends` at DEBUG, `BENCH_LOG_SQL=1` in bench/settings.py), between
the upload and the job's end. Bytes: what the job left in the storage (the media folder, or
with --object-storage the bucket). A batch's web side is the form's POST and the list it
redirects to. --sql-log writes the statements of each case's cheapest run (bench/capacity.py
replays them with pgbench).
"""

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.records import append
from bench.stack import Stack, make_run_stack
from bench.thumbnails import photo_like

# honcho prefixes each line with the process's name; the query logger's lines start with the
# time the statement took, in parentheses (after Django's format, or after Celery's).
SQL_LINE = re.compile(
    r"^\S+ (web|worker|beat)\.\d+\s+\| .*(?:django\.db\.backends: |DEBUG/\w+\] )\(\d.*$", re.M
)
NEWEST_BATCH = re.compile(r'data-batch="([0-9a-f-]{36})"')
IDLE_SECONDS = 10
JOB_SECONDS = 60  # a job that takes longer is stuck: fail the run, do not wait on
BATCH_USERS = 500  # USERS_GENERATE_MAX, and one chunk (USERS_GENERATE_CHUNK_SIZE)


def command_counts(client: redis.Redis) -> dict[str, int]:
    counts = {
        name.removeprefix("cmdstat_"): stats["calls"]
        for name, stats in client.info("commandstats").items()
    }
    # The benchmark's own questions (the project sends no INFO); whether this very one is
    # counted yet depends on the redis-server's version.
    counts.pop("info", None)
    return counts


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    changed = {name: after[name] - before.get(name, 0) for name in after}
    return {name: calls for name, calls in sorted(changed.items()) if calls}


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time so far of the web (every gunicorn process) and of the worker."""
    totals = {"web": 0.0, "worker": 0.0}
    for process in psutil.Process(stack.pid).children(recursive=True):
        try:
            command, times = " ".join(process.cmdline()), process.cpu_times()
        except psutil.Error:
            continue
        kind = "web" if "gunicorn" in command else "worker" if " worker" in command else None
        if kind:
            totals[kind] += times.user + times.system
    return totals


def sql_counts(log: str) -> dict[str, int]:
    counts = {"web": 0, "worker": 0, "beat": 0}
    for match in SQL_LINE.finditer(log):
        counts[match[1]] += 1
    return counts


def upload(images: list[bytes]) -> Callable[[Stack, requests.Session], str]:
    """A job of `images`: start it as the upload form does; its status.json."""

    def start(stack: Stack, browser: requests.Session) -> str:
        files = [
            ("images", (f"photo-{n}.jpg", data, "image/jpeg")) for n, data in enumerate(images)
        ]
        response = browser.post(f"{stack.url}/", files=files, allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text[:500]
        return f"{stack.url}{response.headers['location']}status.json"

    return start


def user_batch(total: int) -> Callable[[Stack, requests.Session], str]:
    """A batch of `total` users: ask for it as the form does, land on the list as a browser
    does (the newest batch comes first there); its status.json."""

    def start(stack: Stack, browser: requests.Session) -> str:
        response = browser.post(f"{stack.url}/users/generate/", data={"total": total}, timeout=30)
        assert response.status_code == 200 and response.url.endswith("/users/"), response.text[:500]
        return f"{stack.url}/users/batches/{NEWEST_BATCH.search(response.text)[1]}/status.json"

    return start


def one_job(stack: Stack, start: Callable[[Stack, requests.Session], str]) -> dict:
    """Start a job (or a batch) with `start`, wait until it is done; what it cost."""
    client = redis.Redis.from_url(stack.redis_url)
    browser = requests.Session()
    browser.get(f"{stack.url}/", timeout=10)
    browser.headers["X-CSRFToken"] = browser.cookies["csrftoken"]
    log_before, bytes_before = len(stack.worker_log()), stack.stored_bytes()
    redis_before, cpu_before = command_counts(client), cpu_seconds(stack)
    started = time.monotonic()
    status_url = start(stack, browser)
    # The status is read from the database alone (no Redis), as seldom as will do.
    while (state := browser.get(status_url, timeout=10).json())["status"] not in ("done", "failed"):
        assert time.monotonic() - started < JOB_SECONDS, f"not done in {JOB_SECONDS} s: {state}"
        time.sleep(0.05)
    assert state["status"] == "done", state
    time.sleep(0.3)  # the worker's last acknowledgements
    seconds = time.monotonic() - started
    redis_calls = difference(command_counts(client), redis_before)
    cpu_after = cpu_seconds(stack)
    log = stack.worker_log()[log_before:]
    return {
        "seconds": seconds,
        "redis": redis_calls,
        "sql": sql_counts(log),
        "sql_lines": [match[0] for match in SQL_LINE.finditer(log)],
        "bytes_stored": stack.stored_bytes() - bytes_before,
        "cpu_ms": {kind: round(1000 * (cpu_after[kind] - cpu_before[kind])) for kind in cpu_after},
    }


def idle_rate(stack: Stack) -> dict[str, float]:
    """Redis commands a second that the stack sends with nothing to do."""
    client = redis.Redis.from_url(stack.redis_url)
    before = command_counts(client)
    time.sleep(IDLE_SECONDS)
    return {
        name: calls / IDLE_SECONDS
        for name, calls in difference(command_counts(client), before).items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--object-storage", action="store_true", help="media in S3 (moto_server on loopback)"
    )
    parser.add_argument(
        "--database-url", help="instead of a throwaway SQLite file, e.g. an empty PostgreSQL"
    )
    parser.add_argument("--sql-log", type=Path, help="write each case's statements there")
    parser.add_argument(
        "--events", action="store_true", help="with task events on, as Flower needs them"
    )
    args = parser.parse_args()
    repeat = 2 if args.quick else 3
    photo = photo_like((1920, 1080), "JPEG")
    cases = {
        "a job of one 1920x1080 image": upload([photo]),
        "a job of one 6000x4000 image": upload([photo_like((6000, 4000), "JPEG")]),
        "a job of three 1920x1080 images": upload([photo] * 3),
        f"a batch of {BATCH_USERS} users (one chunk)": user_batch(BATCH_USERS),
    }
    records, statements = [], []
    where = " (media in S3)" if args.object_storage else ""
    extra_env = {"BENCH_LOG_SQL": "1"}
    if args.events:
        where += " (task events on)"
        extra_env["CELERY_TASK_EVENTS"] = "true"
    if args.database_url:
        extra_env["DATABASE_URL"] = args.database_url
    with make_run_stack(extra_env, object_storage=args.object_storage) as stack:
        one_job(stack, upload([photo]))  # warm: connections, imports
        one_job(stack, user_batch(BATCH_USERS))
        idle = idle_rate(stack)
        print(f"idle Redis commands a second: {idle}", flush=True)
        for name, start in cases.items():
            runs = [one_job(stack, start) for _ in range(repeat)]
            best = min(runs, key=lambda run: sum(run["redis"].values()))
            noise = {name: round(rate * best["seconds"]) for name, rate in idle.items()}
            per_command = {
                command: calls - noise.get(command, 0)
                for command, calls in best["redis"].items()
                if calls - noise.get(command, 0) > 0
            }
            record = {
                "name": f"cost of {name}{where}",
                "redis_commands": sum(per_command.values()),
                "redis_commands_by_name": per_command,
                "redis_commands_runs": [sum(run["redis"].values()) for run in runs],
                "idle_commands_subtracted": sum(noise.values()),
                "sql_statements_web": best["sql"]["web"],
                "sql_statements_worker": best["sql"]["worker"],
                "bytes_stored": best["bytes_stored"],
                "cpu_ms_web": sorted(run["cpu_ms"]["web"] for run in runs)[len(runs) // 2],
                "cpu_ms_worker": sorted(run["cpu_ms"]["worker"] for run in runs)[len(runs) // 2],
            }
            print(record, flush=True)
            records.append(record)
            statements += [f"-- {name}", *best["sql_lines"]]
    if args.json:
        append(args.json, records)
    if args.sql_log:
        args.sql_log.write_text("\n".join(statements) + "\n")


if __name__ == "__main__":
    main()

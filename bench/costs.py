"""What one job costs, counted, not timed: Redis commands, SQL statements, bytes stored, and the
CPU time of the web and the worker, through the processes `make run` starts.

    .venv/bin/python bench/costs.py [--quick] [--object-storage] [--json FILE]

Counts do not wander with the machine's load as times do. Redis: `INFO commandstats` of the
stack's private Redis around each job, less what the idle stack sends in as long (the worker
asking for messages, beat's heartbeat; measured first). SQL: every statement the web and the
worker log (`django.db.backends` at DEBUG, `BENCH_LOG_SQL=1` in bench/settings.py), between
the upload and the job's end. Bytes: what the job left in the storage (the media folder, or
with --object-storage the bucket).
"""

import argparse
import re
import sys
import time
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
    r"^\S+ (web|worker|beat)\.\d+\s+\| .*(?:django\.db\.backends: |DEBUG/\w+\] )\(\d", re.M
)
IDLE_SECONDS = 10


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


def one_job(stack: Stack, images: list[bytes]) -> dict:
    """Upload `images` as one job, wait until it is done; what it cost."""
    client = redis.Redis.from_url(stack.redis_url)
    browser = requests.Session()
    browser.get(f"{stack.url}/", timeout=10)
    browser.headers["X-CSRFToken"] = browser.cookies["csrftoken"]
    files = [("images", (f"photo-{n}.jpg", data, "image/jpeg")) for n, data in enumerate(images)]
    log_before, bytes_before = len(stack.worker_log()), stack.stored_bytes()
    redis_before, cpu_before = command_counts(client), cpu_seconds(stack)
    started = time.monotonic()
    response = browser.post(f"{stack.url}/", files=files, allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text[:500]
    status_url = f"{stack.url}{response.headers['location']}status.json"
    # The status is read from the database alone (no Redis), as seldom as will do.
    while (state := browser.get(status_url, timeout=10).json())["status"] not in ("done", "failed"):
        time.sleep(0.05)
    assert state["status"] == "done", state
    time.sleep(0.3)  # the worker's last acknowledgements
    seconds = time.monotonic() - started
    redis_calls = difference(command_counts(client), redis_before)
    cpu_after = cpu_seconds(stack)
    sql = sql_counts(stack.worker_log()[log_before:])
    return {
        "seconds": seconds,
        "redis": redis_calls,
        "sql": sql,
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
    args = parser.parse_args()
    repeat = 2 if args.quick else 3
    photo = photo_like((1920, 1080), "JPEG")
    cases = {
        "one 1920x1080 image": [photo],
        "one 6000x4000 image": [photo_like((6000, 4000), "JPEG")],
        "three 1920x1080 images": [photo] * 3,
    }
    records = []
    where = " (media in S3)" if args.object_storage else ""
    with make_run_stack({"BENCH_LOG_SQL": "1"}, object_storage=args.object_storage) as stack:
        one_job(stack, cases["one 1920x1080 image"])  # warm: connections, imports
        idle = idle_rate(stack)
        print(f"idle Redis commands a second: {idle}", flush=True)
        for name, images in cases.items():
            runs = [one_job(stack, images) for _ in range(repeat)]
            best = min(runs, key=lambda run: sum(run["redis"].values()))
            noise = {name: round(rate * best["seconds"]) for name, rate in idle.items()}
            per_command = {
                command: calls - noise.get(command, 0)
                for command, calls in best["redis"].items()
                if calls - noise.get(command, 0) > 0
            }
            record = {
                "name": f"cost of a job of {name}{where}",
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
    if args.json:
        append(args.json, records)


if __name__ == "__main__":
    main()

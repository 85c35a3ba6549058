"""How many jobs a second one Redis and one PostgreSQL primary sustain with the commands and
statements a job really sends, and so how many worker cores each can feed (docs/SCALING.md).

    .venv/bin/python bench/capacity.py [--quick] [--json FILE] [--keep DIR]

1. Starts a private PostgreSQL 15 (initdb and pg_ctl from /usr/lib/postgresql/15/bin, as the
   postgres user when run as root, on a free loopback port) and migrates a database in it.
2. Runs bench/costs.py against it (`--database-url`, `--sql-log`): what each case costs in CPU,
   Redis commands by name and SQL statements, through `make run`'s processes.
3. Redis: a private redis-server (the one `make run` starts) and `redis-benchmark` once per
   command name that the cases send (50 clients, no pipelining), three times each, with the
   server's CPU around each run (`INFO cpu`); a case's Redis CPU is the sum over its commands
   of count x CPU a call, its measured rate 1 / (sum of count / calls a second). Commands that carry
   no data (MULTI, EXEC, SUBSCRIBE, CLIENT...) are priced as PING; EVALSHA as a script that
   does nothing, since the commands a script calls are counted by their own names too.
4. PostgreSQL: each case's statements, from the log, as a pgbench script (`-f`): the web's and
   then the worker's, with every job id, session key and username made unique for each run of
   the script; `pgbench -c 4 -j 2` for 10 s, three times; a run of the script is one job, and
   the cluster's CPU around each run (psutil: the postmaster, its reaped backends, the rest),
   over the jobs it ran, is PostgreSQL's CPU a job.

Every command is printed as it runs. Both servers share the machine's cores with the
benchmark's own clients, so the ceilings are lower bounds.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
import redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts"))
import devstack  # noqa: E402

sys.path.insert(0, str(HERE.parent))
from bench.records import append  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RUNS = 3
BACKENDS_GONE = 0.5  # seconds for the postmaster to reap a run's backends
REDIS_CLIENTS = 50
PG_CLIENTS, PG_THREADS = 4, 2
MESSAGE = "m" * 1500  # a little more than a job's task message (1,058 bytes for job_run)
# redis-benchmark's arguments for each command a job sends; __rand_int__ spreads the keys.
REDIS_COMMANDS = {
    "lpush": ["LPUSH", "cap:queue", MESSAGE],
    "brpop": ["BRPOP", "cap:queue", "1"],
    "llen": ["LLEN", "cap:queue"],
    "set": ["SET", "cap:key:__rand_int__", "worker-1", "EX", "60"],
    "setex": ["SETEX", "cap:key:__rand_int__", "60", "worker-1"],
    "get": ["GET", "cap:key:__rand_int__"],
    "exists": ["EXISTS", "cap:key:__rand_int__"],
    "expire": ["EXPIRE", "cap:key:__rand_int__", "60"],
    "pexpire": ["PEXPIRE", "cap:key:__rand_int__", "60000"],
    "del": ["DEL", "cap:key:__rand_int__"],
    "incrby": ["INCRBY", "cap:counter", "1"],
    "hset": ["HSET", "cap:unacked", "__rand_int__", MESSAGE],
    "hdel": ["HDEL", "cap:unacked", "__rand_int__"],
    "zadd": ["ZADD", "cap:unacked_index", "__rand_int__", "__rand_int__"],
    "zrem": ["ZREM", "cap:unacked_index", "__rand_int__"],
    "zcount": ["ZCOUNT", "cap:chord", "-inf", "+inf"],
    "zrange": ["ZRANGE", "cap:chord", "0", "-1"],
    "sadd": ["SADD", "cap:set", "__rand_int__"],
    "sismember": ["SISMEMBER", "cap:set", "__rand_int__"],
    "publish": ["PUBLISH", "cap:channel", "m" * 200],
    "ping": ["PING"],
}
# The statements' literals that must differ in every run of a script (unique keys).
UUID = re.compile(r"\b[0-9a-f]{32}\b")
SESSION_KEY = re.compile(r'"django_session"\."session_key" = \'([a-z0-9]{32})\'')
USERNAME = re.compile(r"\buser_([A-Za-z]{10})\b")
IMAGE_ID = re.compile(r'(U0\.|"thumbnailer_jobimage"\.)"id" = (\d+)')
STATEMENT = re.compile(r"^\S+ (web|worker)\.\d+\s+\| .*?\(\d+\.\d+\) (.*?); args=", re.M)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("$", " ".join(str(part)[:80] for part in command), flush=True)
    return subprocess.run(command, check=True, text=True, **kwargs)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def median_and_range(values: list[float], digits: int = 1) -> dict:
    return {
        "median": round(statistics.median(values), digits),
        "runs": [round(value, digits) for value in values],
    }


@contextmanager
def private_postgres(tmp: Path):
    """A PostgreSQL cluster of its own on a free port; its URL (database `parroter`)."""
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data, port = tmp / "pgdata", devstack.free_port()
    tmp.chmod(0o755)
    data.mkdir()
    if as_postgres:
        shutil.chown(data, "postgres", "postgres")
    run(
        [
            *as_postgres,
            PG_BIN / "initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    run(
        [
            *as_postgres,
            PG_BIN / "pg_ctl",
            "-D",
            data,
            "-o",
            options,
            "-l",
            data / "log",
            "-w",
            "start",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        run([PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "parroter"])
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
        yield port, psutil.Process(postmaster)
    finally:
        run(
            [*as_postgres, PG_BIN / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"],
            stdout=subprocess.DEVNULL,
        )


def costs(database_url: str, tmp: Path, quick: bool) -> tuple[list[dict], dict[str, list]]:
    """bench/costs.py's records for each case, and each case's (process, statement) pairs."""
    records, log = tmp / "costs.json", tmp / "statements.log"
    command = [sys.executable, str(HERE / "costs.py"), "--database-url", database_url]
    with open(tmp / "costs.out", "w") as out:
        try:
            run(
                [*command, "--sql-log", str(log), "--json", str(records), *(["--quick"] * quick)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        except subprocess.CalledProcessError:
            sys.exit((tmp / "costs.out").read_text()[-3000:])
    statements, case = {}, None
    for line in log.read_text().splitlines():
        if line.startswith("-- "):
            case = statements.setdefault(line[3:], [])
        elif match := STATEMENT.match(line):
            case.append((match[1], match[2]))
    return json.loads(records.read_text()), statements


def unique_each_run(sql: str, uuids: list[str], sessions: list[str]) -> str:
    """The statement with its keys made of the pgbench variable :key (13 digits, random in each
    run of the script): the case's n-th job or batch id, session keys, usernames."""
    for n, uuid in enumerate(uuids):
        sql = sql.replace(uuid, f"{n:019d}:key")
    for session in sessions:
        sql = sql.replace(session, "s:key")
    sql = USERNAME.sub(r"user_\1.:key", sql)
    return sql


def pgbench_script(statements: list[tuple[str, str]]) -> str:
    """The web's statements in their order, then the worker's. The worker's log interleaves the
    transactions of its concurrent tasks; one session cannot nest them, so a BEGIN inside a
    transaction commits the one open first (as many commits as the log has). An image's id
    (a serial the log has as a number) becomes a look-up of its rank among its job's images."""
    text = "\n".join(sql for _, sql in statements)
    uuids = list(dict.fromkeys(UUID.findall(text)))
    sessions = list(dict.fromkeys(SESSION_KEY.findall(text)))
    images = sorted({int(found[2]) for found in IMAGE_ID.finditer(text)})
    job = f"'{0:019d}:key'::uuid"

    def image(found: re.Match) -> str:
        rank = images.index(int(found[2]))
        return (
            f'{found[1]}"id" = (SELECT id FROM thumbnailer_jobimage WHERE job_id = {job} '
            f"ORDER BY id LIMIT 1 OFFSET {rank})"
        )

    lines = [r"\set key random(1000000000000, 9999999999999)"]
    for process in ("web", "worker"):
        open_transaction = False
        for _, sql in (pair for pair in statements if pair[0] == process):
            if sql == "BEGIN":
                if open_transaction:
                    lines.append("COMMIT;")
                open_transaction = True
            elif sql == "COMMIT":
                if not open_transaction:
                    continue
                open_transaction = False
            lines.append(IMAGE_ID.sub(image, unique_each_run(sql, uuids, sessions)) + ";")
        if open_transaction:
            lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def redis_cpu_seconds(client: redis.Redis) -> float:
    cpu = client.info("cpu")
    return cpu["used_cpu_user"] + cpu["used_cpu_sys"]


def redis_rates(commands: set[str], quick: bool, tmp: Path) -> dict[str, dict]:
    """For each command name: calls a second one redis-server answered, and the microseconds
    of its CPU a call took (median and runs)."""
    port = devstack.free_port()
    server = devstack.start_redis(port, tmp / "redis", append_only=False)
    client = redis.Redis(port=port)
    try:
        print("redis-server", client.info("server")["redis_version"], flush=True)
        client.zadd("cap:chord", {"a": 1, "b": 2, "c": 3})
        client.sadd("cap:set", *range(100))
        nothing = client.script_load("return 1")
        requests = 20_000 if quick else 100_000
        base = ["redis-benchmark", "-p", str(port), "-c", str(REDIS_CLIENTS), "-n", str(requests)]
        base += ["-r", "100000", "--csv"]
        priced = {name for name in commands if name in REDIS_COMMANDS or name == "evalsha"}
        rates = {}
        for name in sorted(priced | {"ping"}):
            arguments = ["EVALSHA", nothing, "0"] if name == "evalsha" else REDIS_COMMANDS[name]
            per_second, cpu_us = [], []
            for _ in range(RUNS):
                client.delete("cap:queue")
                if name == "brpop":  # a message for every BRPOP: it never waits
                    client.lpush("cap:queue", *[MESSAGE] * requests)
                cpu = redis_cpu_seconds(client)
                output = run([*base, *arguments], capture_output=True).stdout
                cpu_us.append((redis_cpu_seconds(client) - cpu) * 1e6 / requests)
                per_second.append(float(output.splitlines()[1].split('","')[1]))
            rates[name] = {
                "per_second": median_and_range(per_second),
                "cpu_us": median_and_range(cpu_us, 2),
            }
            print(name, rates[name], flush=True)
        return rates
    finally:
        server.terminate()
        server.wait(timeout=30)


def postgres_cpu_seconds(postmaster: psutil.Process) -> float:
    """CPU time of the cluster so far: the postmaster, the backends it reaped, the live rest."""
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children():
        try:
            child_times = child.cpu_times()
        except psutil.Error:
            continue
        total += child_times.user + child_times.system
    return total


def pgbench(port: int, postmaster: psutil.Process, script: Path, seconds: int) -> dict:
    """Runs of `script` a second (tps) and the cluster's CPU milliseconds a run, RUNS times,
    each from empty job and user tables."""
    psql = [PG_BIN / "psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-q"]
    empty = "TRUNCATE users_user, users_userbatch, thumbnailer_jobimage, "
    empty += "thumbnailer_thumbnailjob, django_session CASCADE"
    command = ["pgbench", "-n", "-M", "simple", "-f", script, "-c", str(PG_CLIENTS)]
    command += ["-j", str(PG_THREADS), "-T", str(seconds), "-h", "127.0.0.1", "-p", str(port)]
    command += ["-U", "postgres", "parroter"]
    tps, cpu_ms = [], []
    for _ in range(RUNS):
        run([*psql, "-c", empty, "parroter"], stderr=subprocess.DEVNULL)
        time.sleep(BACKENDS_GONE)
        cpu = postgres_cpu_seconds(postmaster)
        output = run(command, capture_output=True).stdout
        time.sleep(BACKENDS_GONE)
        done = int(re.search(r"^number of transactions actually processed: (\d+)", output, re.M)[1])
        cpu_ms.append((postgres_cpu_seconds(postmaster) - cpu) * 1000 / done)
        tps.append(float(re.search(r"^tps = ([\d.]+)", output, re.M)[1]))
    return {"per_second": median_and_range(tps), "cpu_ms": median_and_range(cpu_ms, 2)}


def capacity(record: dict, rates: dict, postgres: dict, statements: int) -> dict:
    """What one case needs of Redis and PostgreSQL, against what a worker core makes of it."""
    by_name = record["redis_commands_by_name"]
    price = {name: name if name in rates else "ping" for name in by_name}
    redis_seconds = sum(
        calls / rates[price[name]]["per_second"]["median"] for name, calls in by_name.items()
    )
    redis_cpu_us = sum(
        calls * rates[price[name]]["cpu_us"]["median"] for name, calls in by_name.items()
    )
    per_core = 1000 / max(record["cpu_ms_worker"], 1)
    pg_cpu_ms = postgres["cpu_ms"]["median"]
    return {
        "name": record["name"].replace("cost of", "capacity for", 1) + " (PostgreSQL)",
        "cpu_ms_web": record["cpu_ms_web"],
        "cpu_ms_worker": record["cpu_ms_worker"],
        "worker_jobs_per_core_second": round(per_core, 1),
        "redis_commands": record["redis_commands"],
        "redis_commands_by_name": by_name,
        "redis_cpu_us_per_job": round(redis_cpu_us),
        "redis_jobs_per_second_measured": round(1 / redis_seconds),
        "redis_jobs_per_core_second": round(1e6 / redis_cpu_us),
        "worker_cores_one_redis_feeds": round(1e6 / redis_cpu_us / per_core),
        "sql_statements": record["sql_statements_web"] + record["sql_statements_worker"],
        "pgbench_statements": statements,
        "postgres_jobs_per_second_measured": postgres["per_second"],
        "postgres_cpu_ms_per_job": postgres["cpu_ms"],
        "postgres_jobs_per_core_second": round(1000 / pg_cpu_ms, 1),
        "worker_cores_one_postgres_core_feeds": round(1000 / pg_cpu_ms / per_core, 1),
        "bytes_stored": record["bytes_stored"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (5 s, 20,000 calls)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="copy the pgbench scripts there")
    args = parser.parse_args()
    loads, results = [load()], []
    with tempfile.TemporaryDirectory(prefix="image_parroter_capacity_") as tmp:
        tmp = Path(tmp)
        with private_postgres(tmp) as (port, postmaster):
            url = f"postgres://postgres@127.0.0.1:{port}/parroter"
            records, statements = costs(url, tmp, args.quick)
            loads.append(load())
            names = set().union(*(record["redis_commands_by_name"] for record in records))
            rates = redis_rates(names, args.quick, tmp)
            loads.append(load())
            for n, record in enumerate(records):
                script = tmp / f"case-{n}.sql"
                script.write_text(
                    pgbench_script(statements[record["name"].removeprefix("cost of ")])
                )
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(script, args.keep / script.name)
                postgres = pgbench(port, postmaster, script, 5 if args.quick else 10)
                loads.append(load())
                results.append(capacity(record, rates, postgres, script.read_text().count(";\n")))
                print(json.dumps(results[-1]), flush=True)
    summary = {
        "name": "capacity: redis-benchmark per command, and the load average meanwhile",
        "redis_commands": rates,
        "load_average": {"min": min(loads), "max": max(loads), "samples": loads},
    }
    print(json.dumps(summary), flush=True)
    if args.json:
        append(args.json, [*results, summary])


if __name__ == "__main__":
    main()

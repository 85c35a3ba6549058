"""What one client sending the issue's giant PNGs costs the web, with the megapixel budget
(UPLOAD_MEGAPIXELS_PER_MINUTE, ops/limits.py) at its default and with it out of the way.

    .venv/bin/python bench/floods.py [--uploads 5]

gunicorn as the Procfile starts it (2 workers x 4 threads) on a throwaway SQLite database and a
private redis-server, and no Celery worker (the jobs wait in their queue: only the web's cost is
measured). One client sends --uploads uploads of 20 PNGs of 7071 x 7071 (one colour, about
160 KB each) back to back. Prints, per upload, its status and the web's CPU seconds (gunicorn's
master and workers, from psutil), and the totals.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

import psutil
import requests
from PIL import Image

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "scripts"))
import devstack  # noqa: E402


def giant_png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (7071, 7071), (40, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def cpu_seconds(master: psutil.Process) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in [master, *master.children(recursive=True)])


def flood(env: dict, uploads: int, png: bytes) -> tuple[list[tuple[int, float]], float]:
    """(status, web CPU seconds) of each upload, and the wall time of them all."""
    port = devstack.free_port()
    command = [
        *(sys.executable, "-m", "gunicorn", "image_parroter.wsgi"),
        *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"),
        "--no-control-socket",
    ]
    web = subprocess.Popen(command, env=env, cwd=BASE_DIR, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client = requests.Session()
                client.get(f"{url}/", timeout=5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    sys.exit("gunicorn did not start")
                time.sleep(0.2)
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        files = [("images", (f"{n}.png", png, "image/png")) for n in range(20)]
        master, results = psutil.Process(web.pid), []
        started = time.monotonic()
        for _ in range(uploads):
            before = cpu_seconds(master)
            status = client.post(url, files=files, allow_redirects=False, timeout=300).status_code
            results.append((status, cpu_seconds(master) - before))
        return results, time.monotonic() - started
    finally:
        web.terminate()
        web.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=5)
    args = parser.parse_args()
    png = giant_png()
    print(f"one upload: 20 PNGs of 7071 x 7071, {len(png) // 1024} KB each")
    with tempfile.TemporaryDirectory(prefix="image_parroter_floods_") as tmp:
        tmp = Path(tmp)
        redis_port = devstack.free_port()
        redis = devstack.start_redis(redis_port, tmp / "redis", append_only=False)
        env = {
            **os.environ,
            "DJANGO_DEBUG": "true",  # as `make run` has it
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "MEDIA_ROOT": str(tmp / "media"),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            **devstack.RAISED_LIMITS,
        }
        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True)
        try:
            cases = {
                "with the budget (default)": {"UPLOAD_MEGAPIXELS_PER_MINUTE": "1200"},
                "without it": {"UPLOAD_MEGAPIXELS_PER_MINUTE": "1000000000"},
            }
            for name, budget in cases.items():
                results, took = flood({**env, **budget}, args.uploads, png)
                statuses = " ".join(str(status) for status, _ in results)
                cpu = [round(seconds, 2) for _, seconds in results]
                print(f"{name}: statuses {statuses}; web CPU per upload {cpu} s;")
                print(f"  {sum(cpu):.1f} CPU s in all, {took:.1f} s of wall time")
        finally:
            redis.terminate()
            redis.wait(timeout=30)


if __name__ == "__main__":
    main()

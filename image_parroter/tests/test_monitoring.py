"""The monitoring kit in docs/ loads in the real tools and names what the site really has:
Prometheus's configuration and alert rules (Debian's promtool and prometheus), the Grafana
dashboard's queries, KEDA's list. Then a real Prometheus on the shipped files, against a real
stack whose worker stops: the alerts for a person waiting fire within 90 s, and clear."""

import json
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests
import yaml
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from image_parroter.tests.processes import (
    Person,
    queues_app,
    running_beat,
    running_prometheus,
    running_web,
    running_worker_on,
)
from image_parroter.tests.waiting import budget, wait_for, wait_until_final
from thumbnailer.models import ThumbnailJob
from thumbnailer.tests.images import image_bytes

DOCS = settings.BASE_DIR / "docs"
# PromQL's words that are not metric names (its functions are followed by a parenthesis).
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}


def promtool(prometheus_programs, *args) -> str:
    _, program = prometheus_programs
    done = subprocess.run([program, *map(str, args)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def kit_in(folder: Path, target: str = "127.0.0.1:8000", token: str = "a-token") -> Path:
    """The shipped prometheus.yml (scraping `target`) and alerts.yml in `folder`, with the
    token file the configuration names; the configuration's path."""
    config = yaml.safe_load((DOCS / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [target]}]
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    shutil.copy(DOCS / "alerts.yml", folder)
    (folder / job["authorization"]["credentials_file"]).write_text(token)
    return folder / "prometheus.yml"


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((DOCS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """The metrics a PromQL expression reads."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # label values
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)  # label matchers, ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # label lists
    words = re.findall(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:]*\s*\()", expr)
    return set(words) - PROMQL_KEYWORDS


def test_the_alert_rules_load(prometheus_programs):
    output = promtool(prometheus_programs, "check", "rules", DOCS / "alerts.yml")
    assert f"SUCCESS: {len(alert_rules())} rules found" in output


def test_prometheus_loads_the_configuration_and_its_rules(prometheus_programs, tmp_path):
    output = promtool(prometheus_programs, "check", "config", kit_in(tmp_path))
    assert "SUCCESS: 1 rule files found" in output


def test_the_alert_on_scrapes_watches_the_shipped_scrape_job():
    (job,) = yaml.safe_load((DOCS / "prometheus.yml").read_text())["scrape_configs"]
    watched = {m for rule in alert_rules() for m in re.findall(r'job="([^"]*)"', rule["expr"])}
    assert watched == {job["job_name"]}


@pytest.mark.django_db
def test_every_metric_the_dashboard_shows_is_one_the_site_exports(client, own_redis, settings):
    settings.REDIS_URL = own_redis.url
    response = client.get("/metrics")
    assert response.status_code == 200
    families = text_string_to_metric_families(response.content.decode())
    exported = {sample.name for family in families for sample in family.samples}
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in metric_names(target["expr"])
    }
    assert "image_parroter_queue_oldest_age_seconds" in queried
    assert queried <= exported, queried - exported


def test_kedas_list_is_the_key_workers_take_thumbnails_from(own_redis, settings):
    """listName, as docs/keda-scaledobject.yml has it, for the prefix docker-compose.yml sets:
    a thumbnail task sent with that prefix waits there, and a worker takes it from there."""
    compose = yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())
    prefix = compose["x-app"]["environment"]["REDIS_KEY_PREFIX"]
    documents = yaml.safe_load_all((DOCS / "keda-scaledobject.yml").read_text())
    scaled = next(document for document in documents if document["kind"] == "ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    list_name = trigger["metadata"]["listName"]
    settings.REDIS_KEY_PREFIX = prefix
    app, server = queues_app(own_redis.url), redis.Redis.from_url(own_redis.url)

    app.send_task("thumbnailer.job_run", args=["a job id"])
    assert server.llen(list_name) == 1
    with app.connection_for_read() as connection:  # as a worker consuming `thumbnails`
        assert connection.default_channel.basic_get("thumbnails", no_ack=True) is not None
    assert server.llen(list_name) == 0


def alerts(prometheus: str) -> dict[str, str]:
    """The alerts Prometheus has pending or firing, by name."""
    answer = requests.get(f"{prometheus}/api/v1/alerts", timeout=5).json()
    return {alert["labels"]["alertname"]: alert["state"] for alert in answer["data"]["alerts"]}


def query(prometheus: str, expr: str) -> list[dict]:
    answer = requests.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=5).json()
    return answer["data"]["result"]


PEOPLE_WAITING = {"NoWorkerSeen", "ThumbnailsWaiting"}


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.own_servers
@pytest.mark.django_db(transaction=True)
def test_a_stopped_worker_fires_the_alerts_for_people_waiting_then_they_clear(
    prometheus_programs, own_redis, schedules, tmp_path, media_root
):
    # Prometheus comes from loopback, so the web is told that loopback is a proxy (the front):
    # /metrics wants the token then, as it does from Prometheus in production.
    token = secrets.token_urlsafe(32)
    env = {
        "REDIS_URL": own_redis.url,
        "MEDIA_ROOT": str(media_root),
        "METRICS_TOKEN": token,
        "DJANGO_TRUSTED_PROXIES": "127.0.0.1",
    }
    timings = {}
    with running_web(tmp_path, **env) as url, running_beat(tmp_path, **env):
        assert requests.get(f"{url}/metrics", timeout=5).status_code == 403
        host = url.removeprefix("http://")
        with running_prometheus(kit_in(tmp_path, host, token), tmp_path) as prometheus:
            with running_worker_on(own_redis, "gevent", tmp_path, **env):
                seen = 'image_parroter_workers_seen{job="image_parroter"} >= 1'
                assert wait_for(lambda: query(prometheus, seen), timeout=60, interval=1)
            stopped = time.monotonic()
            person = Person(url)
            photo = ("photo.jpg", image_bytes(size=(640, 480)), "image/jpeg")
            assert person.ask("upload", "post", "/", files=[("images", photo)]).status_code == 302

            def firing() -> bool:
                for name, state in alerts(prometheus).items():
                    if state == "firing" and name not in timings:
                        timings[name] = round(time.monotonic() - stopped)
                return set(timings) >= PEOPLE_WAITING

            assert wait_for(firing, timeout=120, interval=1), (timings, alerts(prometheus))
            with running_worker_on(own_redis, "gevent", tmp_path, **env):
                started = time.monotonic()

                def cleared() -> bool:
                    return not PEOPLE_WAITING & set(alerts(prometheus))

                assert wait_for(cleared, timeout=60, interval=1), alerts(prometheus)
                clear = round(time.monotonic() - started)
                job = wait_until_final(ThumbnailJob.objects.get())
    print(f"figure: alerts fired, seconds after the worker stopped: {timings}")
    print(f"figure: NoWorkerSeen and ThumbnailsWaiting cleared {clear} s after a worker came back")
    assert job.status == "done"
    assert all(timings[name] <= budget(90) for name in PEOPLE_WAITING), timings

"""The Procfile (`make run`) and docker-compose.yml start the same processes."""

import re
import shlex

import yaml
from django.conf import settings

PROCESSES = ("web", "worker", "beat", "flower")


def without_bind(command: str) -> list[str]:
    """The command's words, less the listen address, which differs by design."""
    words = shlex.split(command)
    if "--bind" in words:
        at = words.index("--bind")
        del words[at : at + 2]
    return words


def procfile() -> dict[str, str]:
    # Flower is optional in development, so its line may be commented out.
    lines = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    matches = (re.fullmatch(r"#?\s*(\w+):\s*(.+)", line) for line in lines)
    return {m[1]: m[2] for m in matches if m and m[1] in PROCESSES}


def compose() -> dict:
    return yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())["services"]


def test_compose_has_the_whole_stack():
    services = compose()
    assert set(services) >= {"redis", "postgres", "web", "worker", "beat", "flower"}
    assert "--appendonly yes" in services["redis"]["command"]


def test_procfile_and_compose_run_the_same_commands():
    services, processes = compose(), procfile()
    assert set(processes) == set(PROCESSES)
    for name in PROCESSES:
        assert without_bind(services[name]["command"]) == without_bind(processes[name]), name


def test_worker_runs_under_gevent_and_there_is_one_beat():
    processes = procfile()
    assert processes["worker"].startswith("celery -A image_parroter worker -P gevent")
    assert [name for name, command in processes.items() if " beat" in command] == ["beat"]

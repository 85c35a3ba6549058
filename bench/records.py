"""bench/results.json: one record per case, whichever script measured it."""

import json
import statistics
from pathlib import Path


def line(name: str, project: list[float], baseline: list[float] | None, **extra) -> dict:
    """A case's record: medians of its runs and, with a baseline, the baseline's median over
    the project's (how many times faster the project is)."""
    record = {"name": name, "project_median": round(statistics.median(project), 4)}
    if baseline:
        record["baseline_median"] = round(statistics.median(baseline), 4)
        record["ratio"] = round(record["baseline_median"] / record["project_median"], 2)
    record["runs"] = {"project": [round(t, 4) for t in project]}
    if baseline:
        record["runs"]["baseline"] = [round(t, 4) for t in baseline]
    record.update(extra)
    print(json.dumps(record), flush=True)
    return record


def append(path: Path, records: list[dict]) -> None:
    existing = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(existing + records, indent=2) + "\n")

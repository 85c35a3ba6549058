"""Every benchmark, one after another: `make bench` (under 10 minutes), `make bench-quick`
(under a minute, fewer and smaller runs). Writes bench/results.json, one record per case,
and draws bench/results.png from it.

    .venv/bin/python bench/run.py [--quick]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
PLOT = HERE / "results.png"
GOOD, BAD = "#2e7d32", "#c62828"
# Some machines set PYTHONDONTWRITEBYTECODE: then every process the benchmarks start compiles
# Django, Celery and the rest again, seconds each.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def benchmarks(quick: bool) -> list[list[str]]:
    if quick:
        return [
            ["thumbnails.py", "--repeat", "1", "--quick"],
            ["users.py", "--baseline-users", "3", "--repeat", "1"],
            ["wholepath.py", "--quick"],
            ["costs.py", "--quick"],
        ]
    return [["thumbnails.py", "--repeat", "5"], ["users.py"], ["wholepath.py"], ["costs.py"]]


def plot(records: list[dict], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    compared = [r for r in records if "ratio" in r]
    timed = [r for r in records if "target_seconds" in r or "target_times_floor" in r]
    figure, (left, right) = pyplot.subplots(
        2, 1, figsize=(10, 9), layout="constrained", height_ratios=[len(compared), len(timed)]
    )
    names = [r["name"] for r in compared]
    meets = [r["ratio"] >= r.get("target_ratio", 1) for r in compared]
    left.barh(names, [r["ratio"] for r in compared], color=[GOOD if ok else BAD for ok in meets])
    left.set_xscale("log")
    left.axvline(1, color="black", linewidth=0.8)
    left.invert_yaxis()
    left.set_xlabel("times faster than the tutorial-style baseline (log scale)")
    for y, r in enumerate(compared):
        target = f" (target {r['target_ratio']:g}x)" if "target_ratio" in r else ""
        left.annotate(f" {r['ratio']:g}x{target}", (r["ratio"], y), va="center", fontsize=8)

    # Against their targets: measured / target, so 1.0 or less meets it.
    shares, labels = [], []
    for r in timed:
        if "target_times_floor" in r:
            shares.append(r["times_floor"] / r["target_times_floor"])
            target = r["target_times_floor"]
            labels.append(f"{r['name']}\n{r['times_floor']}x floor (target {target}x)")
        else:
            shares.append(r["project_median"] / r["target_seconds"])
            labels.append(
                f"{r['name']}\n{r['project_median'] * 1000:.0f} ms "
                f"(target {r['target_seconds'] * 1000:.0f} ms)"
            )
    colours = [GOOD if share <= 1 else BAD for share in shares]
    right.barh(labels, shares, color=colours)
    right.set_xscale("log")
    right.axvline(1, color="black", linewidth=0.8)
    right.invert_yaxis()
    right.tick_params(axis="y", labelsize=8)
    right.set_xlabel("measured / target (log scale; at most 1 meets it)")
    figure.suptitle(title)
    figure.savefig(PLOT, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    RESULTS.unlink(missing_ok=True)
    started = time.monotonic()
    for script, *options in benchmarks(args.quick):
        command = [sys.executable, str(HERE / script), *options, "--json", str(RESULTS)]
        print("$", " ".join(command[1:]), flush=True)
        began = time.monotonic()
        subprocess.run(command, check=True, env=ENV)
        print(f"({script}: {time.monotonic() - began:.0f} s)", flush=True)
    records = json.loads(RESULTS.read_text())
    minutes = (time.monotonic() - started) / 60
    kind = "make bench-quick" if args.quick else "make bench"
    plot(records, f"{kind}, {time.strftime('%Y-%m-%d')}, 2 shared cores ({minutes:.1f} min)")
    print(f"wrote {RESULTS.name} ({len(records)} cases) and {PLOT.name} in {minutes:.1f} min")


if __name__ == "__main__":
    main()

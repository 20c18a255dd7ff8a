"""Prints a Markdown table of runs, one row per run folder, as the docs' result tables.

    python runs/table.py RUN... --columns metrics:mean_distance*1000 metrics:mean_smoothness

A column is SOURCE:KEY[*SCALE]: SOURCE is `metrics` (the last report of the run's
metrics.jsonl) or the name of a JSON file the evaluation commands write in the run
folder (`classify`, `cluster`, `evaluate`). A value a run lacks is shown as '-'. Rows are
named by the run's dataset folder and experiment name, and its seed.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from acai.lib.paths import RunPaths  # noqa: E402
from acai.lib.run import RunError, load_config, read_metrics  # noqa: E402


def value_of(run, source, key):
    """The value `key` of a run's last report (`source` 'metrics') or of the JSON file an
    evaluation command wrote in it ('classify', 'cluster', 'evaluate'); None if absent."""
    if source == "metrics":
        reports = read_metrics(run)  # A damaged line is named, a torn last one dropped.
        return reports[-1].get(key) if reports else None
    path = RunPaths(run).result_path(source)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f).get(key)


def cell(value, scale):
    if value is None:
        return "-"
    if isinstance(value, (int, float)):
        return f"{value * scale:.4g}"
    return str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--columns", nargs="+", required=True)
    args = parser.parse_args()
    columns = []
    for column in args.columns:
        spec, _, scale = column.partition("*")
        source, _, key = spec.partition(":")
        columns.append((column, source, key, float(scale or 1)))
    print("| run | seed | " + " | ".join(name for name, *_ in columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for run in sorted(args.runs):
        if not os.path.exists(RunPaths(run).config_path):
            continue
        seed = load_config(run).get("seed")
        name = os.path.join(os.path.basename(os.path.dirname(run)), os.path.basename(run))
        cells = [cell(value_of(run, source, key), scale) for _, source, key, scale in columns]
        print(f"| {name} | {seed} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    try:
        main()
    except RunError as e:  # A damaged config.json or metrics line: named in one line.
        sys.exit(f"table.py: error: {e}")

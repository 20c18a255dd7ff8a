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


def value_of(run, source, key):
    if source == "metrics":
        path = os.path.join(run, "metrics.jsonl")
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as f:
            lines = [json.loads(line) for line in f if line.strip()]
        return lines[-1].get(key) if lines else None
    path = os.path.join(run, f"{source}.json")
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
        if not os.path.exists(os.path.join(run, "config.json")):
            continue
        with open(os.path.join(run, "config.json"), encoding="utf-8") as f:
            seed = json.load(f).get("seed")
        name = os.path.join(os.path.basename(os.path.dirname(run)), os.path.basename(run))
        cells = [cell(value_of(run, source, key), scale) for _, source, key, scale in columns]
        print(f"| {name} | {seed} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

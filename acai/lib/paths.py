"""The layout of a run folder: the one place its files and folders are named.

A run lives in `<train_dir>/<dataset>/<experiment name>/` (the experiment name says the
model and its parameters, as the reference names runs):

    config.json     what the run was started with; a restart must match it
    metrics.jsonl   one line of scalars (losses, evaluations, img/s) per report
    curves.png      those scalars against kimg, redrawn at every report
    ckpt/           checkpoints (model, optimisers, images seen), one per report
    summaries/      TensorBoard events: every loss, the evaluations, the image grids, the
                    HParams session, the projector's files
    images/         the same grids as PNG, one file per grid and report
    lock            names the process that trains the run (the lock is on the folder)
    classify.json   acai-classify's result; cluster.json acai-cluster's; evaluate.json
                    gan-evaluate's

Everything that reads or writes a run's files asks a `RunPaths` where they are; every
reader of runs (the binaries, runs/table.py, the benchmarks) finds them with `find_runs`.
"""

import glob
import os


class RunPaths:
    """Where each file and folder of the run folder `path` is."""

    CONFIG = "config.json"
    METRICS = "metrics.jsonl"

    def __init__(self, path):
        self.path = os.fspath(path)

    def _join(self, *names):
        return os.path.join(self.path, *names)

    @property
    def config_path(self):
        return self._join(self.CONFIG)

    @property
    def metrics_path(self):
        return self._join(self.METRICS)

    @property
    def curves_path(self):
        return self._join("curves.png")

    @property
    def checkpoint_dir(self):
        return self._join("ckpt")

    @property
    def summary_dir(self):
        return self._join("summaries")

    @property
    def image_dir(self):
        return self._join("images")

    @property
    def lock_path(self):
        return self._join("lock")

    def result_path(self, command):
        """The JSON file an evaluation command writes its result to: 'classify',
        'cluster' or 'evaluate'."""
        return self._join(f"{command}.json")

    def projector_path(self, name):
        """A file of TensorBoard's projector: 'codes', 'labels' or 'sprite'."""
        extension = "png" if name == "sprite" else "tsv"
        return os.path.join(self.summary_dir, f"projector_{name}.{extension}")


def find_runs(train_dir, dataset="*", deep=False):
    """[RunPaths] of every run folder of `train_dir` (train_dir/<dataset>/<experiment>,
    one holding a config.json), sorted; `dataset`: a folder name or glob. deep: also
    those of the train_dirs below it (a folder of sweeps)."""
    pattern = os.path.join(dataset, "*", RunPaths.CONFIG)
    found = set(glob.glob(os.path.join(train_dir, pattern)))
    if deep:
        found |= set(glob.glob(os.path.join(train_dir, "**", pattern), recursive=True))
    return [RunPaths(os.path.dirname(path)) for path in sorted(found)]

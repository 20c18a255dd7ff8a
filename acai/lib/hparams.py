"""A run as one row of TensorBoard's HParams dashboard.

Each run's summaries folder holds one HParams session: its configuration (the model, every
parameter that names the experiment, the dataset, batch, precision and seed), written once
when the run starts. The dashboard's metric columns are the last value of each scalar the
run writes there: the report's losses and evaluations, and the results the evaluation
commands add afterwards (`add_results`: clustering and classifier accuracy, Frechet
distance). `tensorboard --logdir TRAIN_DIR` over a sweep or a lines benchmark then shows one
row per run, however often it was resumed.
"""

import os

from tensorboard.plugins.hparams import metadata as hp_metadata

from acai.lib.paths import RunPaths
from acai.lib.run import RESTARTABLE, read_metrics
from acai.lib.summaries import EventWriter, event_files, read_events

# Configuration entries that are where or how long a run is, not what it is: those a
# restart may change.
NOT_HPARAMS = RESTARTABLE


def hparams_of(config):
    """The HParams values of a run configuration: numbers, booleans and strings as they
    are, lists joined by commas; None and paths left out."""
    values = {}
    for name, value in sorted(config.items()):
        if name in NOT_HPARAMS or value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        if not isinstance(value, (bool, int, float, str)):
            value = str(value)
        values[name] = value
    return values


def has_session(summary_dir):
    """Whether an event file in `summary_dir` already holds an HParams session."""
    return any(value.tag == hp_metadata.SESSION_START_INFO_TAG
               for path in event_files(summary_dir)
               for _, event in read_events(path)[0] for value in event.summary.value)


def write_session(run):
    """Writes the run's HParams session into its summaries folder, unless a previous start
    of the same run did. Its trial id is the run folder's absolute path, so that two runs
    with the same configuration (in two train_dirs) stay two rows."""
    if has_session(run.summary_dir):
        return
    with EventWriter(run.summary_dir) as writer:
        writer.write_hparams(hparams_of(run.config), trial_id=os.path.abspath(run.path))


def add_results(run_dir, results):
    """Adds scalars (e.g. {"cluster_accuracy": 93.1}) to the run's summaries at its last
    report's kimg: the HParams row of the run shows them as metrics."""
    reports = read_metrics(run_dir)
    step = int(reports[-1]["kimg"]) if reports else 0
    with EventWriter(RunPaths(run_dir).summary_dir) as writer:
        writer.write(step, {name: float(value) for name, value in results.items()})

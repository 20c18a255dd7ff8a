"""A run's folder: what it was started with (config.json), what it reported
(metrics.jsonl, read only by `read_metrics`), who trains it (the lock). Where each file is
says acai.lib.paths.

`rebuild` rebuilds a run's model from its folder alone and restores its latest
checkpoint, so evaluation and export need no repeated flags.
"""

import datetime
import json
import math
import os
import re
import socket

from absl import logging

try:
    import fcntl
except ImportError:  # Windows: runs are not locked.
    fcntl = None

from acai.lib import checkpoint, data
from acai.lib.errors import Interrupted, RunError
from acai.lib.files import atomic_write, check_writable, write_json, write_text
from acai.lib.params import declared
from acai.lib.paths import RunPaths
from acai.lib.summaries import plot_curves, reports_in_events

# Configuration entries that may change between restarts of the same run (beside the
# model parameters declared restartable).
RESTARTABLE = ("total_kimg", "report_kimg", "train_dir", "data_dir", "verbose",
               "skip_bad_images")
# The training settings of a run's config.json that have a default (total_kimg has none):
# the training binaries' flags and acai.api.train take theirs from here.
SETTINGS = dict(batch=64, seed=None, report_kimg=64)
__all__ = ["Interrupted", "RunError", "Run", "dataset_dirname", "append_metrics",
           "recover_metrics", "read_metrics", "load_config", "save_config",
           "recover_config", "rebuild"]


def dataset_dirname(name, classes=None):
    """A folder name for a dataset: 'cifar10', 'cifar10-horse-bird', 'folder-train'."""
    if name.startswith("folder:"):
        name = "folder-" + os.path.basename(os.path.normpath(name[len("folder:"):]))
    if classes:
        if isinstance(classes, str):
            classes = classes.split(",")
        name += "-" + "-".join(str(c) for c in classes)
    return re.sub(r"[^A-Za-z0-9_.=-]+", "-", name)


class Run(RunPaths):
    """A run directory (its paths: acai.lib.paths.RunPaths) and its saved configuration.

    config: the flat configuration of config.json: the model's name and parameters, the
    dataset, and the training settings `train` takes from the run (`batch`, `seed`,
    `total_kimg`, `report_kimg`, also attributes of the run).

    restartable: configuration entries (beyond RESTARTABLE) a restart may change.
    defaults: what a saved configuration that lacks an entry had for it: a parameter
    added to a model after the run started counts as its default, so the run resumes.
    """

    def __init__(self, train_dir, dataset, experiment, config, restartable=(), defaults=None):
        super().__init__(os.path.join(train_dir, dataset, experiment))
        self.config = dict(config)
        self.restartable = set(RESTARTABLE) | set(restartable)
        self.defaults = dict(defaults or {})
        self.folder_lock = None

    def setting(self, name):
        if name in self.config:
            return self.config[name]
        if name in SETTINGS:
            return SETTINGS[name]
        raise RunError(f"the run at {self.path} has no {name} in its configuration")

    @property
    def batch(self):
        """The global batch (split between the replicas of a tf.distribute strategy)."""
        return int(self.setting("batch"))

    @property
    def seed(self):
        """The seed of the run's data order and noise; None: a random run."""
        seed = self.setting("seed")
        return None if seed is None else int(seed)

    @property
    def total_kimg(self):
        return int(self.setting("total_kimg"))

    @property
    def report_kimg(self):
        return int(self.setting("report_kimg"))

    def lock(self):
        """Takes the run for this process: a second process training the same run is
        refused (RunError naming the one that holds it). The lock is on the run folder
        itself, so deleting the `lock` file (which only names the holder) does not let a
        second process in. The operating system releases it when its process ends,
        however it ends, so no stale lock blocks a restart."""
        if fcntl is None or self.folder_lock is not None:
            return
        lock_fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock_fd)
            try:
                with open(self.lock_path) as f:
                    holder = f.read().strip()
            except OSError:
                holder = ""
            raise RunError(f"{self.path} is being trained by {holder or 'another process'}; "
                           "wait for it to end or stop it, or use another --train_dir")
        self.folder_lock = FolderLock(lock_fd)
        try:
            write_text(f"process {os.getpid()} on {socket.gethostname()} since "
                       f"{datetime.datetime.now():%Y-%m-%d %H:%M:%S}\n", self.lock_path)
        except OSError:
            self.unlock()
            raise

    def unlock(self):
        if self.folder_lock is not None:
            self.folder_lock.release()
            self.folder_lock = None

    def prepare(self):
        """Creates the folders, takes the lock (`lock`), checks every folder is writable,
        and saves the configuration, or checks it on a restart. A config.json that was
        deleted while checkpoints exist is recovered from the copy the newest checkpoint
        carries (or the run is refused)."""
        try:
            for folder in (self.checkpoint_dir, self.summary_dir, self.image_dir):
                os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise RunError(f"cannot create the run directory {self.path}: {e.strerror}")
        try:
            check_writable(self.path, self.checkpoint_dir, self.summary_dir, self.image_dir,
                           remedy="check its permissions, or use another --train_dir")
        except OSError as e:
            raise RunError(e.strerror) from None
        self.lock()
        try:
            lost = not os.path.exists(self.config_path)
            if lost and checkpoint.latest(self.checkpoint_dir):
                recover_config(self.path)
            if os.path.exists(self.config_path):
                saved = dict(self.defaults, **load_config(self.path))
                changed = config_changes(saved, self.config, self.restartable)
                if changed:
                    raise RunError(f"{self.path} was started with another configuration "
                                   f"({changed}); use another --train_dir or the same flags")
                if self.past_total():  # Done: config.json keeps its total (not passed).
                    return
            save_config(self.config, self.config_path)
            read_metrics(self.path)  # A damaged report line stops the run before it trains.
        except BaseException:  # Refused: the run is not ours to keep.
            self.unlock()
            raise

    def past_total(self):
        """True when the run's newest checkpoint has reached this configuration's
        total_kimg: a lowered --total_kimg on a finished run trains nothing and is not
        written to config.json (which would then name a total the run had passed)."""
        if "total_kimg" not in self.config:
            return False
        return (checkpoint.images_seen(checkpoint.latest(self.checkpoint_dir))
                >= self.total_kimg << 10)

    def check_checkpoint(self, prefix):
        """A RunError unless the checkpoint `prefix` was written with this run's
        configuration (as far as its copy of config.json says: older ones have none)."""
        check_written_by(prefix, self.config_path, self.config, self.restartable,
                         self.defaults)


class FolderLock:
    """A lock held on an open folder; released by `release`, or when it is garbage (as a
    file object's would be)."""

    def __init__(self, fd):
        self.fd = fd

    def release(self):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __del__(self):
        self.release()


def config_changes(saved, config, restartable=(), keys=None):
    """'name: saved -> config' for every entry (of `keys`, default all) that differs and
    is not restartable; '' when none."""
    keys = set(saved) | set(config) if keys is None else set(keys)
    changed = sorted(k for k in keys
                     if k not in restartable and saved.get(k) != config.get(k))
    return ", ".join(f"{k}: {saved.get(k)!r} -> {config.get(k)!r}" for k in changed)


def check_written_by(prefix, config_path, config, restartable=(), defaults=None,
                     keys=None):
    """A RunError unless the copy of config.json that the checkpoint `prefix` carries
    agrees with `config` (read from `config_path`) on what is not restartable."""
    saved = checkpoint.config_of(prefix)
    if saved is None:
        return
    defaults = defaults or {}
    changed = config_changes(dict(defaults, **saved), dict(defaults, **config), restartable,
                             keys)
    if changed:
        raise RunError(f"{prefix} was written by another configuration than {config_path} "
                       f"({changed}): put back the config.json it was written with, or "
                       f"move {os.path.dirname(prefix)} away to train this configuration "
                       "from the start")


def append_metrics(run, kimg, scalars):
    """Adds a report to metrics.jsonl (dropping lines of reports a restart redid) and
    redraws curves.png."""
    history = [entry for entry in read_metrics(run.path) if entry["kimg"] < kimg]
    history.append({"kimg": kimg, **{k: finite_or_none(v) for k, v in scalars.items()}})
    write_metrics(run, history)


def recover_metrics(run, nimg):
    """Before a run resumed from its checkpoint at `nimg` images reports again: when
    metrics.jsonl ends before the run's last report checkpoint (ckpt-<kimg>; deleted, or
    cut back to an older copy), puts the reports it lacks back from the TensorBoard events
    (summaries.reports_in_events), at the float32 precision TensorBoard keeps, and redraws
    curves.png; those the events lack too are named in one warning. A whole file costs
    nothing: the events are read only for a short one. -> the kimg put back."""
    history = read_metrics(run.path)
    reported = max((entry["kimg"] for entry in history), default=0)
    last = max((kimg for kimg in checkpoint.report_kimgs(run.checkpoint_dir)
                if kimg << 10 <= nimg), default=0)
    if last <= reported:
        return []
    reports = reports_in_events(run.summary_dir)
    have = {entry["kimg"] for entry in history}
    back = sorted(kimg for kimg in reports if kimg not in have and kimg << 10 <= nimg)
    if back:
        history = sorted(history + [{"kimg": kimg, **reports[kimg]} for kimg in back],
                         key=lambda entry: entry["kimg"])
        write_metrics(run, history)
        logging.warning("%s lacked the reports of kimg=%s: put back from the TensorBoard "
                        "events (float32, as TensorBoard keeps them)", run.metrics_path,
                        ", ".join(map(str, back)))
    reported = max((entry["kimg"] for entry in history), default=0)
    if last > reported:
        logging.warning("%s %s, but the run's checkpoint is at kimg=%d and its TensorBoard "
                        "events do not hold the reports between: they are gone from "
                        "metrics.jsonl and curves.png (training goes on)", run.metrics_path,
                        f"ends at kimg={reported}" if history else "holds no report", last)
    return back


def write_metrics(run, history):
    """Writes metrics.jsonl (atomically) and curves.png from `history`, the reports."""
    with atomic_write(run.metrics_path) as f:
        # Strict JSON (jq, JSON.parse): a figure that is not a finite number is null, also
        # in the lines of a file written before (which held a bare NaN).
        f.writelines(json.dumps({k: finite_or_none(v) if isinstance(v, float) else v
                                 for k, v in entry.items()}, allow_nan=False) + "\n"
                     for entry in history)
    plot_curves(history, run.curves_path)


def finite_or_none(value):
    """A float, or None for NaN and infinities (null in metrics.jsonl)."""
    value = float(value)
    return value if math.isfinite(value) else None


def read_metrics(run_dir):
    """The reports of a run as a list of dicts (kimg and scalars), oldest first.

    A damaged last line (a write cut short) is dropped with a warning: the next report
    rewrites the file without it. A damaged line before the last is a RunError naming it.
    """
    path = RunPaths(run_dir).metrics_path
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:  # Decoded line by line: a bad byte is a damaged line.
        lines = [(number, line) for number, line in enumerate(f, 1) if line.strip()]
    reports = []
    for index, (number, line) in enumerate(lines):
        try:
            entry = json.loads(line.decode("utf-8"))
            if not isinstance(entry, dict) or "kimg" not in entry:
                raise ValueError("no kimg")
            if isinstance(entry["kimg"], bool) or not isinstance(entry["kimg"],
                                                                  (int, float)):
                raise ValueError(f"kimg is {entry['kimg']!r}, not a number")
        except ValueError as e:
            if index < len(lines) - 1:
                raise RunError(f"{path} is damaged at line {number} ({e}): repair or "
                               "delete that line")
            kimg = re.search(r'"kimg":\s*([0-9.]+)', line.decode("utf-8", "replace"))
            logging.warning("%s: dropped its damaged last line (the report of kimg=%s)", path,
                            kimg.group(1) if kimg else "?")
            break
        reports.append(entry)
    return reports


def load_config(run_dir):
    """The configuration a run was started with (its config.json)."""
    paths = RunPaths(run_dir)
    path = paths.config_path
    if not os.path.exists(path):
        raise RunError(f"no run at {run_dir}: {path} not found")
    try:
        with open(path) as f:
            config = json.load(f)
        if not isinstance(config, dict):
            raise ValueError(f"it holds a JSON {type(config).__name__}, not an object")
        return config
    except ValueError as e:
        remedy = ("delete it, and the next start of the run recovers it from the copy its "
                  "checkpoints carry" if checkpoint.saved_config(paths.checkpoint_dir)
                  else "restore it from a copy, or start the run again in another "
                  "--train_dir")
        raise RunError(f"{path} is damaged ({e}): {remedy}")


def save_config(config, path):
    write_json(config, path, sort_keys=True)


def recover_config(run_dir):
    """Rewrites a deleted config.json from the copy the run's checkpoints carry; a run
    whose checkpoints carry none is a RunError."""
    paths = RunPaths(run_dir)
    path, config = paths.config_path, checkpoint.saved_config(paths.checkpoint_dir)
    if config is None:
        raise RunError(f"{path} is missing but {paths.checkpoint_dir} holds checkpoints without a "
                       "copy of it: restore config.json, or use another --train_dir")
    save_config(config, path)
    logging.warning("%s was missing: recovered from the copy in the run's checkpoint", path)


def rebuild(run_dir, model_class, data_dir=None, policy="float32", config=None):
    """-> (model, spec, config) of the run in `run_dir`, at its latest checkpoint.

    model_class: name -> model class (the registry, acai.registry.model_class).
    data_dir overrides the TFDS folder the run was trained with (another machine).
    policy: the dtype policy the model computes in, whatever the run trained in (its
      variables are float32 either way); Keras' global policy is neither read nor set.
    config: the run's configuration, when the caller has read it (`load_config`).
    """
    config = load_config(run_dir) if config is None else config
    spec = data.get_dataset(config["dataset"], data_dir or config.get("data_dir"),
                            config.get("classes") or None,
                            skip_unreadable=bool(config.get("skip_bad_images")))
    paths = RunPaths(run_dir)
    config_path = paths.config_path
    try:
        cls = model_class(config["model"])
        model = cls.create(spec, config, dtype=policy)
    except (TypeError, ValueError) as e:  # A value of the wrong type or out of bounds.
        raise RunError(f"{config_path}: {e}") from None
    # What shapes the model must be what its checkpoint was written with.
    params = declared(cls)
    prefix = checkpoint.latest(paths.checkpoint_dir)
    if prefix is not None:
        check_written_by(prefix, config_path, config,
                         defaults={name: p.default for name, p in params.items()},
                         keys=["model", "dataset"] + [name for name, p in params.items()
                                                     if not p.restartable])
    checkpoint.restore_model(model, run_dir)
    return model, spec, config

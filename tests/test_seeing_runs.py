"""What a researcher looks at beside the numbers: the HParams row of every run, the latent
codes in the Embedding Projector, and interpolations and latent walks as animations. All
read back with the readers of TensorBoard and Pillow."""

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from google.protobuf import text_format
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins import projector as tb_projector
from tensorboard.plugins.hparams import metadata as hp_metadata

from acai import registry
from acai.lib import hparams
from acai.lib.evaluation import ANIMATION_COLUMNS, GRID, AutoEncoderEvaluation
from acai.lib.run import read_metrics
from acai.lib.summaries import animation_frames, save_gif
from conftest import SMALL, TINY, TINY_RUN, deadline, run_module, train_in
from gan.evaluation import WALK_POINTS, WALK_STEPS, GANEvaluation, latent_walk
from gan.models import DCGAN


def accumulator(summary_dir):
    acc = event_accumulator.EventAccumulator(
        summary_dir, size_guidance={event_accumulator.TENSORS: 0})
    acc.Reload()
    return acc


def sessions_in(summary_dir):
    """-> [(group name, {hparam: value})] of the HParams sessions the events hold."""
    acc = accumulator(summary_dir)
    found = []
    if hp_metadata.SESSION_START_INFO_TAG not in acc.Tags()["tensors"]:
        return found
    content = acc.SummaryMetadata(hp_metadata.SESSION_START_INFO_TAG).plugin_data.content
    info = hp_metadata.parse_session_start_info_plugin_data(content)
    for _ in acc.Tensors(hp_metadata.SESSION_START_INFO_TAG):
        values = {}
        for name, value in info.hparams.items():
            kind = value.WhichOneof("kind")
            values[name] = getattr(value, kind)
        found.append((info.group_name, values))
    return found


def last_scalar(summary_dir, tag):
    events = accumulator(summary_dir).Tensors(tag)
    return float(tf.make_ndarray(events[-1].tensor_proto))


@pytest.mark.slow
def test_a_run_is_one_hparams_session_with_its_flags_and_final_metrics(tmp_path, lines32):
    config = dict(seed=3, **SMALL)
    model = registry.build("baseline", lines32, config)
    run = registry.new_run(model, lines32, str(tmp_path), batch=32, seed=3, total_kimg=1,
                           report_kimg=1)
    kwargs = dict(batch=32, report_kimg=1, seed=3, verbose=False)
    train_in(model, lines32, run, total_kimg=1, **kwargs)
    # Resumed: still one session, and the metrics columns follow the last report.
    resumed = registry.build("baseline", lines32, config)
    run = registry.new_run(resumed, lines32, str(tmp_path), batch=32, seed=3, total_kimg=2,
                           report_kimg=1)
    train_in(resumed, lines32, run, total_kimg=2, **kwargs)

    sessions = sessions_in(run.summary_dir)
    assert len(sessions) == 1
    group, values = sessions[0]
    assert group == os.path.abspath(run.path)
    assert values["model"] == "baseline" and values["dataset"] == "lines32"
    assert values["latent"] == SMALL["latent"] and values["depth"] == SMALL["depth"]
    assert values["seed"] == 3 and values["batch"] == 32
    assert values["precision"] == "float32"
    assert "total_kimg" not in values and "train_dir" not in values
    last = read_metrics(run.path)[-1]
    assert last["kimg"] == 2
    for name in ("mean_distance", "mean_smoothness", "latent_accuracy", "loss_ae"):
        # metrics.jsonl holds null where TensorBoard holds NaN.
        expected = float("nan") if last[name] is None else last[name]
        assert last_scalar(run.summary_dir, name) == pytest.approx(expected, rel=1e-6,
                                                                   nan_ok=True)

    # An evaluation command's result joins the run's row.
    hparams.add_results(run.path, {"cluster_accuracy": 42.5})
    assert last_scalar(run.summary_dir, "cluster_accuracy") == 42.5
    assert len(sessions_in(run.summary_dir)) == 1


def test_hparams_values_are_what_the_dashboard_takes():
    values = hparams.hparams_of(dict(model="acai", classes=["horse", "bird"], seed=None,
                                     lr=1e-3, conditional=True, data_dir="/data",
                                     total_kimg=512, latent=16))
    assert values == dict(model="acai", classes="horse,bird", lr=1e-3, conditional=True,
                          latent=16)


def test_animation_frames_go_forward_and_back_and_the_gif_holds_them(tmp_path):
    rng = np.random.RandomState(0)
    paths = rng.uniform(-1, 1, (6, 5, 8, 8, 1)).astype(np.float32)  # 6 paths of 5 steps
    frames = animation_frames(paths, columns=4)
    assert frames.shape == (5 + 3, 2 * 8, 4 * 8, 1)
    np.testing.assert_array_equal(frames[1][:8, 8:16], paths[1, 1])   # path 1, step 1
    np.testing.assert_array_equal(frames[5], frames[3])               # on the way back
    np.testing.assert_array_equal(frames[0][8:, 16:], -1)             # no 7th path
    path = str(tmp_path / "a.gif")
    save_gif(frames, path)
    with Image.open(path) as gif:
        assert gif.n_frames == len(frames) and gif.info["loop"] == 0
        pictures = []
        for index in range(gif.n_frames):
            gif.seek(index)
            pictures.append(np.asarray(gif.convert("L"), np.float32))
    assert pictures[0].shape == frames.shape[1:3]
    # The frames are the images, to within the GIF's 8 bits.
    np.testing.assert_allclose(pictures[2], 127.5 + 127.5 * frames[2, ..., 0], atol=1)
    assert all(np.abs(a - b).mean() > 10 for a, b in zip(pictures, pictures[1:]))


def test_autoencoder_report_has_an_interpolation_animation(lines32):
    model = registry.build("baseline", lines32, dict(SMALL))
    _, images = AutoEncoderEvaluation(model, lines32)()
    frames = images["interpolation_animation"]
    assert frames.shape == (2 * GRID - 2, 32 * GRID // ANIMATION_COLUMNS,
                            32 * ANIMATION_COLUMNS, 1)
    grid = images["interpolation"]  # Row: a pair; column: a step.
    for step in (0, 5, GRID - 1):
        for pair in (0, ANIMATION_COLUMNS + 1):
            row, column = divmod(pair, ANIMATION_COLUMNS)
            np.testing.assert_array_equal(
                frames[step][32 * row:32 * row + 32, 32 * column:32 * column + 32],
                grid[32 * pair:32 * pair + 32, 32 * step:32 * step + 32])
    np.testing.assert_array_equal(frames[GRID], frames[GRID - 2])  # On the way back.


def test_gan_latent_walk_loops_through_its_points(tmp_path, lines32):
    points = np.random.RandomState(0).standard_normal((3, WALK_POINTS, 10))
    walk = latent_walk(points, WALK_STEPS)
    assert walk.shape == (3, WALK_POINTS * WALK_STEPS, 10)
    np.testing.assert_allclose(walk[:, ::WALK_STEPS], points, rtol=1e-5, atol=1e-5)
    steps = np.linalg.norm(np.diff(np.concatenate([walk, walk[:, :1]], 1), axis=1), axis=-1)
    assert steps.max() < 3 * steps.mean()  # No jump, back to the start included.

    model = DCGAN((32, 32, 1), lines32.nclass, depth=8, z_dim=16)
    evaluation = GANEvaluation(model, lines32, run=None)
    frames = evaluation()[1]["latent_walk"]
    assert frames.shape[0] == WALK_POINTS * WALK_STEPS
    for walk_index, step in ((0, 0), (5, 3), (15, WALK_POINTS * WALK_STEPS - 1)):
        row, column = divmod(walk_index, 4)
        expected = model.generate(evaluation.walk[walk_index, step][None]).numpy()[0]
        np.testing.assert_allclose(
            frames[step][32 * row:32 * row + 32, 32 * column:32 * column + 32], expected,
            atol=1e-6)


@pytest.mark.slow
def test_projector_files_hold_the_codes_labels_and_sprite(tmp_path):
    result = run_module("acai.train", *TINY, f"--train_dir={tmp_path}", "--total_kimg=1",
                        "--report_kimg=1")
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = tmp_path / TINY_RUN
    result = run_module("acai.projector", f"--ae_dir={run_dir}", "--limit=300")
    assert result.returncode == 0, result.stderr[-2000:]
    folder = run_dir / "summaries"
    config = text_format.Parse((folder / "projector_config.pbtxt").read_text(),
                               tb_projector.ProjectorConfig())
    embedding, = config.embeddings
    codes = np.loadtxt(folder / embedding.tensor_path, delimiter="\t")
    labels = (folder / embedding.metadata_path).read_text().splitlines()
    assert codes.shape == (300, 8 * 4 * 4) and len(labels) == 300
    assert set(labels) <= {f"angle{i}" for i in range(10)} and len(set(labels)) > 1
    assert np.std(codes, axis=0).mean() > 0  # Different images, different codes.
    with Image.open(folder / embedding.sprite.image_path) as sprite:
        assert sprite.size == (18 * 32, 18 * 32)  # ceil(sqrt(300)) = 18 images a side
    assert list(embedding.sprite.single_image_dim) == [32, 32]
    # The README's `tensorboard --logdir TRAIN_DIR` serves them in its PROJECTOR tab.
    served = served_projector(tmp_path)
    assert list(served) == [f"{TINY_RUN}/summaries"]
    np.testing.assert_allclose(np.frombuffer(served[f"{TINY_RUN}/summaries"], np.float32),
                               codes.reshape(-1), rtol=1e-6)


def served_projector(logdir):
    """{run: the bytes of its first embedding} as `tensorboard --logdir logdir` serves them
    once its PROJECTOR tab is active (TensorBoard looks for it after it starts)."""
    log = os.path.join(logdir, "tensorboard.log")
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir",
                                   str(logdir), "--port", "0"], stdout=out, stderr=out)
    try:
        end = time.monotonic() + deadline(120)
        while not (found := re.search(r"(http://localhost:\d+)/", open(log).read())):
            assert server.poll() is None and time.monotonic() < end, open(log).read()
            time.sleep(0.5)

        def get(path, **query):
            with urllib.request.urlopen(f"{found[1]}/data/{path}?"
                                        + urllib.parse.urlencode(query), timeout=60) as r:
                return r.read()

        while not json.loads(get("plugins_listing"))["projector"]["enabled"]:
            assert time.monotonic() < end, "the PROJECTOR tab never became active"
            time.sleep(0.5)
        tensors = {}
        for run in json.loads(get("plugin/projector/runs")):
            info = json.loads(get("plugin/projector/info", run=run))
            name = info["embeddings"][0]["tensorName"]
            tensors[run] = get("plugin/projector/tensor", run=run, name=name)
        return tensors
    finally:
        server.kill()
        server.wait()

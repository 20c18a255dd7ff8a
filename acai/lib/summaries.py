"""What a run reports: scalars and image grids, to TensorBoard and as PNG files, and
animations (interpolations, latent walks) as GIF files."""

import contextlib
import glob
import io
import math
import os

import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from PIL import Image
from tensorboard.plugins.hparams import api as hp

from acai.lib.errors import RunError, cause
from acai.lib.files import atomic_path, atomic_write, save_figure

# Time each frame of an animation is shown.
FRAME_MS = 100


def images_to_grid(images):
    """(rows, cols, H, W, C) images in [-1, 1] -> one (rows * H, cols * W, C) image."""
    rows, cols, height, width, colors = images.shape
    return images.transpose(0, 2, 1, 3, 4).reshape(rows * height, cols * width, colors)


def grid_of(images, cols=None):
    """Images [N, H, W, C] in [-1, 1] -> one grid image, `cols` per row (default about
    square), the last row padded with black."""
    images = np.asarray(images, np.float32)
    cols = cols or max(1, math.ceil(math.sqrt(len(images))))
    rows = max(1, math.ceil(len(images) / cols))
    padded = np.full((rows * cols,) + images.shape[1:], -1.0, np.float32)
    padded[:len(images)] = images
    return images_to_grid(padded.reshape((rows, cols) + images.shape[1:]))


class ShownFigure(Figure):
    """A matplotlib Figure that a notebook (IPython) shows inline by itself, through
    `_repr_png_`: no pyplot, no backend, whatever `%matplotlib` says."""

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def grid_figure(images, cols=None, title=None, scale=0.5):
    """A matplotlib Figure of images [N, H, W, C] in [-1, 1] as a grid (grid_of), drawn
    with the object API: a notebook shows it inline, and no global state changes."""
    grid = grid_of(images, cols)
    height, width = grid.shape[:2]
    size = (max(1.0, scale * width / 32), max(1.0, scale * height / 32))
    top = 0.3 if title else 0.0  # Inches kept above the grid for the title.
    fig = ShownFigure(figsize=(size[0], size[1] + top))
    draw_image(fig.add_axes((0, 0, 1, size[1] / (size[1] + top))), grid)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def draw_image(ax, image, title=None):
    """Draws an image [H, W, C] in [-1, 1] on matplotlib axes, pixel for pixel, grey
    levels for one channel, without axes."""
    pixels = to_uint8(image)
    ax.imshow(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, cmap="gray", vmin=0,
              vmax=255, interpolation="nearest")
    if title:
        ax.set_title(title, fontsize=10)
    ax.axis("off")


def to_uint8(image):
    return np.clip(np.round(127.5 + 127.5 * np.asarray(image)), 0, 255).astype(np.uint8)


def save_png(image, path):
    """Writes an image in [-1, 1] of shape (H, W, C) as PNG, atomically."""
    with atomic_write(path, "wb") as f:
        f.write(tf.io.encode_png(to_uint8(image)).numpy())


def animation_frames(paths, columns, forward_and_back=True):
    """(N, steps, H, W, C) images along N paths -> (frames, rows * H, columns * W, C): frame
    t shows step t of every path, the paths in a grid of `columns`; forward_and_back adds
    the way back (steps - 2 more frames), so that the animation loops without a jump."""
    count, steps = paths.shape[:2]
    rows = -(-count // columns)
    padded = np.full((rows * columns,) + paths.shape[1:], -1.0, np.float32)
    padded[:count] = paths
    frames = padded.reshape((rows, columns) + paths.shape[1:]).transpose(2, 0, 1, 3, 4, 5)
    if forward_and_back and steps > 2:
        frames = np.concatenate([frames, frames[-2:0:-1]])
    return np.stack([images_to_grid(frame) for frame in frames])


def save_gif(frames, path, frame_ms=FRAME_MS):
    """Writes (frames, H, W, C) images in [-1, 1] as a looping animated GIF, atomically."""
    pixels = to_uint8(frames)
    mode = "L" if pixels.shape[-1] == 1 else "RGB"
    images = [Image.fromarray(frame[..., 0] if mode == "L" else frame, mode)
              for frame in pixels]
    with atomic_write(path, "wb") as f:
        images[0].save(f, format="GIF", save_all=True, append_images=images[1:],
                       duration=frame_ms, loop=0)


class EventWriter:
    """The one writer of a run's TensorBoard events (every event file of the toolkit is
    written through it): scalars and image grids at a kimg step, the image grids also as
    PNG under `image_dir` (an animation, (frames, H, W, C) images, as GIF there), and the
    run's HParams session. A failure to write (a full disk) is one line (events_error).
    Also a context manager that closes it."""

    def __init__(self, summary_dir, image_dir=None):
        self.image_dir, self.summary_dir = image_dir, summary_dir
        if image_dir is not None:
            os.makedirs(image_dir, exist_ok=True)
        with events_error(summary_dir):
            self.writer = tf.summary.create_file_writer(summary_dir)

    def write(self, kimg, scalars=None, images=None):
        with events_error(self.summary_dir), self.writer.as_default(step=kimg):
            for name, value in (scalars or {}).items():
                tf.summary.scalar(name, value)
            for name, image in (images or {}).items():
                path = os.path.join(self.image_dir, f"{name}_{kimg:06d}")
                if np.ndim(image) == 4:
                    save_gif(image, path + ".gif")
                    continue
                tf.summary.image(name, to_uint8(image)[None])
                save_png(image, path + ".png")
            self.writer.flush()

    def write_hparams(self, values, trial_id):
        """The run's HParams session (TensorBoard's HParams dashboard): `values` {name:
        bool, number or string}, one row per `trial_id`."""
        with events_error(self.summary_dir), self.writer.as_default():
            hp.hparams(values, trial_id=trial_id)
            self.writer.flush()

    def close(self):
        with events_error(self.summary_dir):
            self.writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


@contextlib.contextmanager
def events_error(summary_dir):
    """TensorFlow's error writing TensorBoard events (a full disk) as one line naming the
    folder; an events file it left empty is removed."""
    try:
        yield
    except tf.errors.OpError as e:
        for path in event_files(summary_dir):
            if os.path.getsize(path) == 0:
                os.remove(path)
        raise RunError(f"cannot write TensorBoard events to {summary_dir} ({cause(e)}); "
                       "a rerun of the same command rewrites them") from None


def prune_events(summary_dir, last_step):
    """Makes a run's TensorBoard event files hold what its checkpoint holds, before a
    (re)start writes on: the events after `last_step` (kimg; those of a report the restart
    redoes), a record torn by a kill or a full disk, and empty files go. TensorBoard would
    otherwise show two values at a redone kimg. A file is rewritten (atomically) only
    where something goes; -> the number of events dropped."""
    dropped = 0
    for path in event_files(summary_dir):
        if os.path.getsize(path) == 0:
            os.remove(path)
            continue
        records, torn = read_events(path)
        kept = [(record, event) for record, event in records if event.step <= last_step]
        if not torn and len(kept) == len(records):
            continue
        dropped += len(records) - len(kept)
        with atomic_path(path) as tmp, tf.io.TFRecordWriter(tmp) as writer:
            for record, _ in kept:
                writer.write(record)
    return dropped


def event_files(summary_dir):
    """A run's TensorBoard event files, oldest first."""
    return sorted(glob.glob(os.path.join(summary_dir, "events.out.tfevents.*")))


def read_events(path):
    """-> ([(record bytes, tf.compat.v1.Event)] of an event file, torn): a record torn by a
    kill or a full disk ends the reading (what came before counts), and torn is True."""
    records = []
    try:
        for record in tf.data.TFRecordDataset(path):
            records.append((record.numpy(), tf.compat.v1.Event.FromString(record.numpy())))
    except tf.errors.DataLossError:
        return records, True
    return records, False


def reports_in_events(summary_dir):
    """{kimg: {name: value}} of the reports a run's TensorBoard events hold, each in the
    order it was written: the scalars written at one step in one event file, ending with
    img_per_sec (report.Report.written). The evaluation commands' results (hparams
    .add_results) are written apart, without it, and are not a report."""
    reports = {}
    for path in event_files(summary_dir):
        found = {}
        for _, event in read_events(path)[0]:
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "scalars":
                    found.setdefault(int(event.step), {})[value.tag] = float(
                        tf.make_ndarray(value.tensor))
        reports.update({step: scalars for step, scalars in found.items()
                        if "img_per_sec" in scalars})
    return reports


def plot_curves(history, path, columns=4):
    """Draws every scalar of a run's reports (list of dicts with 'kimg') against kimg,
    one small panel each, into a PNG at `path` (atomically)."""
    names = [name for name in history[0] if name != "kimg"] if history else []
    if not names:
        return
    rows = -(-len(names) // columns)
    fig = Figure(figsize=(3.2 * min(columns, len(names)), 2.4 * rows))
    axes = fig.subplots(rows, min(columns, len(names)), squeeze=False)
    kimg = [entry["kimg"] for entry in history]
    for ax, name in zip(axes.flat, names):
        values = [entry.get(name) for entry in history]
        ax.plot(kimg, [np.nan if v is None else v for v in values], marker=".")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("kimg", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, path, dpi=80)

"""Writing a file so that a kill never leaves it half-written: the one owner of the
temporary-file-and-rename.

    with atomic_write(path) as f:     # text; atomic_write(path, "wb") for bytes
        f.write(...)
    write_json(data, path)
    save_figure(figure, path)         # a matplotlib.figure.Figure, as PNG

The content goes to a temporary file beside `path` (same folder, so the rename is atomic
on the same file system), is flushed to disk, then renamed over `path`: a reader sees the
old file or the whole new one, never an empty or cut one. If writing fails (a full disk,
an exception), the temporary file is removed, `path` keeps its old content, and the
OSError names `path`.
"""

import contextlib
import errno
import json
import os
import tempfile
import zipfile


def current_umask():
    """The process' umask (reading it means setting it: it is set back at once)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path beside `path` to write to (a library that wants a path,
    e.g. Keras' `save`; `suffix` keeps the extension it expects); on success it replaces
    `path`, on failure it is removed."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        descriptor, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.",
                                           suffix=".tmp" + suffix, dir=folder)
        os.close(descriptor)
        yield tmp
        if os.path.exists(path):  # Keep the file's permissions, not mkstemp's 0600.
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        else:
            os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        if isinstance(e, OSError) and e.filename in (None, tmp):
            e.filename = path  # A full disk says which file it could not write.
        raise


@contextlib.contextmanager
def atomic_write(path, mode="w"):
    """`open(path, mode)` ("w" or "wb") whose content replaces `path` only once it is
    all written and flushed to disk."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes whole files: mode 'w' or 'wb', not {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def write_text(text, path):
    with atomic_write(path) as f:
        f.write(text)


def write_json(data, path, **kwargs):
    """`data` as JSON (indent 2 unless said), atomically."""
    kwargs.setdefault("indent", 2)
    with atomic_write(path) as f:
        json.dump(data, f, **kwargs)


def save_figure(figure, path, **kwargs):
    """Writes a matplotlib Figure (the object API: no pyplot, whose global backend a
    notebook owns) as PNG, atomically; kwargs go to `savefig` (e.g. dpi)."""
    with atomic_write(path, "wb") as f:
        figure.savefig(f, format="png", **kwargs)


def check_writable(*folders, remedy="check its permissions, or copy the run somewhere "
                   "writable"):
    """Raises OSError naming the first of `folders` (existing or to be made) that this
    process cannot write a file into, with `remedy` (the next step): what every command
    checks before the work whose result goes there. A file is made and removed, so that a
    read-only file system and permissions are both found (also for root, whom os.access
    lets through)."""
    for folder in folders:
        existing = os.path.abspath(folder)
        while not os.path.isdir(existing) and os.path.dirname(existing) != existing:
            existing = os.path.dirname(existing)
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as e:
            raise OSError(e.errno, f"cannot write to {folder} ({e.strerror}): its results "
                          f"would be lost; {remedy}") from None


def check_keras_file(path):
    """Raises FileNotFoundError for a `.keras` file that is not there, and ValueError
    naming it damaged for one that is not a whole Keras archive (a copy or a save cut
    short, an empty file, another format): Keras' own load_model calls every such file
    "not found"."""
    if not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, f"no such file: {path}")
    remedy = "save the model again with model.save, or copy the file again"
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is damaged (not a whole .keras archive: cut short, empty "
                         f"or another format, {os.path.getsize(path)} bytes); {remedy}")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()  # Every member's checksum.
            missing = {"config.json", "model.weights.h5"} - set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"{path} is damaged ({e}); {remedy}") from None
    if bad or missing:
        what = (f"its member {bad} fails its checksum" if bad
                else f"it lacks {', '.join(sorted(missing))}")
        raise ValueError(f"{path} is damaged ({what}); {remedy}")

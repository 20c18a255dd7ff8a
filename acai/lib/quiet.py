"""What the toolkit keeps out of a user's terminal: lines of other libraries that say
nothing is wrong.

  stderr_filtered   a block whose writes to descriptor 2 (TensorFlow's C++ logs) pass
                    through a filter: the CUDA probe on a machine without a GPU
                    (device.probe_devices), the TFLite converter's notes (export)
  quiet_libraries   the binaries' log without TensorFlow's and tf2onnx's INFO records
  library_info_off  a block without them (the export, also from Python)
"""

import contextlib
import importlib.util
import logging as python_logging
import os
import sys
import tempfile

from absl import logging


def flush_stderr():
    if sys.stderr is not None:
        sys.stderr.flush()


@contextlib.contextmanager
def stderr_filtered(drop):
    """Holds back what is written to file descriptor 2 inside the block (TensorFlow's C++
    logs, from any thread) and writes it there at the block's end, but the lines
    `drop(line)` is true for; yields the list that receives those. Python's sys.stderr is
    flushed at both ends (in a notebook it is not descriptor 2, and is left alone). A
    crash inside the block loses what it held."""
    dropped = []
    flush_stderr()
    try:
        saved = os.dup(2)
    except OSError:  # No descriptor 2 (a daemon's): nothing to filter.
        yield dropped
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield dropped
        finally:
            flush_stderr()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().splitlines(keepends=True):
                text = line.decode(errors="replace")
                if drop(text):
                    dropped.append(text)
                else:
                    os.write(2, line)


# Libraries whose INFO records are their own bookkeeping (TensorFlow's "Assets written
# to", its renaming of resource inputs in a SavedModel, its checkpoint sharding; tf2onnx's
# optimiser passes). They log through their own Python logger or through absl's, which
# the toolkit's lines share.
LIBRARIES = ("tensorflow", "tf2onnx")


class LibraryInfoFilter(python_logging.Filter):
    """Leaves out the records below WARNING logged from the files of LIBRARIES."""

    def __init__(self):
        super().__init__()
        self.folders = []
        for name in LIBRARIES:
            spec = importlib.util.find_spec(name)
            for folder in (spec.submodule_search_locations or []) if spec else []:
                self.folders.append(os.path.join(os.path.realpath(folder), ""))

    def filter(self, record):
        return (record.levelno >= python_logging.WARNING
                or not os.path.realpath(record.pathname).startswith(tuple(self.folders)))


def warnings_at_least():
    """Sets the Python loggers of LIBRARIES to WARNING (or higher, if they are)."""
    for name in LIBRARIES:
        logger = python_logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), python_logging.WARNING))


@contextlib.contextmanager
def library_info_off():
    """The block runs with the Python loggers of LIBRARIES at WARNING at least (in a
    notebook TensorFlow's logs at INFO: "Assets written to ..." for every SavedModel)."""
    levels = {name: python_logging.getLogger(name).level for name in LIBRARIES}
    warnings_at_least()
    try:
        yield
    finally:
        for name, level in levels.items():
            python_logging.getLogger(name).setLevel(level)


def quiet_libraries():
    """Leaves other libraries' INFO records out of a binary's log (their warnings and
    errors stay; with absl's --verbosity=1 or more, everything shows)."""
    if not logging.level_debug():
        warnings_at_least()
        absl_logger = logging.get_absl_logger()
        if not any(isinstance(f, LibraryInfoFilter) for f in absl_logger.filters):
            absl_logger.addFilter(LibraryInfoFilter())

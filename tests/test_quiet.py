"""What the toolkit keeps out of a user's terminal: lines written to descriptor 2 pass a
filter (any thread's, as TensorFlow's C++ logs are), and other libraries' INFO records
leave the binaries' log while their warnings and the toolkit's own lines stay."""

import logging
import os
import threading

import pytest
import tensorflow as tf

from acai.lib import quiet


def test_stderr_filtered_drops_the_chosen_lines_of_every_thread_and_keeps_the_rest(capfd):
    def c_like(text):  # As a C++ logger does: straight to the descriptor.
        os.write(2, text.encode())

    with quiet.stderr_filtered(lambda line: "cuInit" in line) as dropped:
        c_like("E0000 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\n")
        c_like("W0000 something worth reading\n")
        thread = threading.Thread(target=c_like, args=("E0000 cuInit from a thread\n",))
        thread.start()
        thread.join()
        assert capfd.readouterr().err == ""  # Held back until the block ends.
    assert capfd.readouterr().err == "W0000 something worth reading\n"
    assert [line.split("]")[-1].strip() for line in dropped] == [
        "failed call to cuInit: UNKNOWN ERROR (303)", "E0000 cuInit from a thread"]
    c_like("after\n")  # Descriptor 2 is itself again.
    assert capfd.readouterr().err == "after\n"


def test_stderr_filtered_passes_on_what_it_held_when_the_block_fails(capfd):
    with pytest.raises(RuntimeError):
        with quiet.stderr_filtered(lambda line: False):
            os.write(2, b"the cause\n")
            raise RuntimeError("boom")
    assert capfd.readouterr().err == "the cause\n"


def record(path, level):
    return logging.LogRecord("absl", level, path, 1, "a message", (), None)


def test_library_info_records_are_left_out_and_their_warnings_kept():
    keep = quiet.LibraryInfoFilter().filter
    tensorflow_file = os.path.join(os.path.dirname(tf.__file__), "python", "saved_model",
                                   "signature_serialization.py")
    assert not keep(record(tensorflow_file, logging.INFO))
    assert keep(record(tensorflow_file, logging.WARNING))
    assert keep(record(quiet.__file__, logging.INFO))  # The toolkit's own lines.


def test_quiet_libraries_leaves_tensorflows_info_out_of_absls_log(caplog, monkeypatch):
    absl_logger = logging.getLogger("absl")
    tf_logger = logging.getLogger("tensorflow")
    monkeypatch.setattr(absl_logger, "filters", list(absl_logger.filters))
    monkeypatch.setattr(tf_logger, "level", tf_logger.level)
    quiet.quiet_libraries()
    quiet.quiet_libraries()  # Twice: one filter.
    assert sum(isinstance(f, quiet.LibraryInfoFilter) for f in absl_logger.filters) == 1
    assert tf_logger.getEffectiveLevel() == logging.WARNING
    tensorflow_file = os.path.join(os.path.dirname(tf.__file__), "python", "x.py")
    for path, level in ((tensorflow_file, logging.INFO), (tensorflow_file, logging.WARNING),
                        (quiet.__file__, logging.INFO)):
        absl_logger.handle(record(path, level))
    assert [(r.pathname, r.levelno) for r in caplog.records] == [
        (tensorflow_file, logging.WARNING), (quiet.__file__, logging.INFO)]


def test_library_info_off_holds_tensorflows_info_for_the_block_only(caplog, monkeypatch):
    """What export.export does around tf.saved_model.save: in a notebook TensorFlow logs
    at INFO ("Assets written to ..."), and its level is as it was afterwards."""
    tf_logger = logging.getLogger("tensorflow")
    monkeypatch.setattr(tf_logger, "level", logging.INFO)
    caplog.set_level(logging.INFO)
    with quiet.library_info_off():
        tf_logger.info("Assets written to: somewhere")
        tf_logger.warning("a warning")
    tf_logger.info("after")
    assert [r.getMessage() for r in caplog.records if r.name == "tensorflow"] == [
        "a warning", "after"]
    assert tf_logger.level == logging.INFO


def test_stderr_filtered_without_a_descriptor_2_runs_the_block_unfiltered(monkeypatch):
    def no_descriptor(fd):
        raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr(os, "dup", no_descriptor)
    ran = []
    with quiet.stderr_filtered(lambda line: True) as dropped:
        ran.append(True)
    assert ran == [True] and dropped == []

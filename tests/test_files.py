"""acai.lib.files: a write that fails midway (a kill, a full disk, an exception) leaves
the file as it was and nothing beside it."""

import json
import os
import subprocess
import sys

import pytest
from matplotlib.figure import Figure

from acai.lib.files import atomic_write, save_figure, write_json
from conftest import deadline


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "cluster.json"
    write_json({"test_accuracy": 90.0}, str(path))
    with pytest.raises(RuntimeError):
        with atomic_write(str(path)) as f:
            f.write('{"test_accuracy": ')
            raise RuntimeError("killed midway")
    assert json.loads(path.read_text()) == {"test_accuracy": 90.0}
    assert os.listdir(tmp_path) == ["cluster.json"]


def test_a_process_killed_while_writing_leaves_the_old_file(tmp_path):
    """The child writes half of a new cluster.json, then dies by SIGKILL."""
    path = tmp_path / "cluster.json"
    write_json({"old": True}, str(path))
    child = ("import os, signal, sys\n"
             "from acai.lib.files import atomic_write\n"
             "with atomic_write(sys.argv[1]) as f:\n"
             "    f.write('{\"new\": ')\n"
             "    f.flush()\n"
             "    os.kill(os.getpid(), signal.SIGKILL)\n")
    result = subprocess.run([sys.executable, "-c", child, str(path)], timeout=deadline(120))
    assert result.returncode == -9
    assert json.loads(path.read_text()) == {"old": True}


def test_a_new_file_gets_the_usual_permissions_and_a_figure_is_a_png(tmp_path):
    path = tmp_path / "new.json"
    write_json([1], str(path))
    umask = os.umask(0o022)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    figure = Figure(figsize=(1, 1))
    figure.add_subplot().plot([0, 1])
    save_figure(figure, str(tmp_path / "f.png"))
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_check_writable_names_the_folder_before_any_work(tmp_path, monkeypatch):
    """What acai-classify, acai-cluster and gan-evaluate check first: a folder they cannot
    write into (procfs takes no file, even from root; a read-only file system, mocked) is
    one OSError naming it, not a hidden temporary file's name hours later."""
    from acai.lib.files import check_writable
    check_writable(tmp_path, tmp_path / "not" / "made" / "yet")  # Writable: nothing.
    assert not (tmp_path / "not").exists() and os.listdir(tmp_path) == []
    if os.path.isdir("/proc/self"):
        with pytest.raises(OSError, match=r"^.*cannot write to /proc/self/results \("):
            check_writable("/proc/self/results")
    import errno
    import tempfile

    def read_only(dir=None, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    with pytest.raises(OSError) as error:
        check_writable(tmp_path)
    assert error.value.errno == errno.EROFS
    assert error.value.strerror == (
        f"cannot write to {tmp_path} (Read-only file system): its results would be lost; "
        "check its permissions, or copy the run somewhere writable")

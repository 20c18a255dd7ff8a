"""TFDS datasets download where there is internet, and say so in one line where there is
not: a TFDS builder that makes its data without the network stands for a download, one
that fails for an offline one, and the real MNIST is tried where this machine is offline."""

import os
import socket

import numpy as np
import pytest
import tensorflow_datasets as tfds

from acai.lib import data
from acai.lib.data import tfds_sets
from conftest import error_line, run_module


class TinyDigits(tfds.core.GeneratorBasedBuilder):
    """28x28 grey images of 10 classes, made on the spot (a 'download' with no network)."""
    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self, features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(28, 28, 1)),
                "label": tfds.features.ClassLabel(num_classes=10)}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(60), "test": self._generate_examples(20)}

    def _generate_examples(self, count):
        for i in range(count):
            yield i, {"image": np.full((28, 28, 1), 10 * (i % 10), np.uint8),
                      "label": i % 10}


class OfflineDigits(TinyDigits):
    """A download that fails as it does without network, after TFDS started preparing."""

    def _split_generators(self, dl_manager):
        raise ConnectionError("Failed to establish a new connection: network unreachable")


def use(monkeypatch, tfds_name):
    monkeypatch.setitem(tfds_sets.BUILTIN, "mnist32",
                        tfds_sets.TfdsSet(tfds_name, "train", "test", tfds_sets.fit,
                                          cache=True))


def test_a_dataset_not_yet_prepared_is_downloaded_into_data_dir(tmp_path, monkeypatch):
    use(monkeypatch, "tiny_digits")
    spec = data.get_dataset("mnist32", str(tmp_path))
    assert os.path.exists(tmp_path / "tiny_digits" / "1.0.0" / "dataset_info.json")
    x, label = next(iter(spec.train(16, seed=0)))
    assert x.shape == (16, 32, 32, 1) and spec.nclass == 10
    assert float(x.numpy().min()) == -1.0  # Padded to 32x32 with -1, as MNIST.
    # Prepared once: the next start reads it, whatever the network does.
    monkeypatch.setattr(TinyDigits, "_split_generators", OfflineDigits._split_generators)
    assert data.get_dataset("mnist32", str(tmp_path)).nclass == 10


def test_nodownload_says_how_to_prepare_the_dataset(tmp_path, monkeypatch):
    use(monkeypatch, "tiny_digits")
    with pytest.raises(data.DatasetUnavailable, match=r"dataset 'mnist32' \(TFDS "
                                                       r"'tiny_digits'\) is not prepared in "
                                                       r".* and downloads are off "
                                                       r"\(--nodownload\): on a machine "
                                                       r"with internet run"):
        data.get_dataset("mnist32", str(tmp_path), download=False)
    assert not (tmp_path / "tiny_digits").exists()


def test_a_failed_download_is_one_line_and_leaves_nothing_half_prepared(tmp_path,
                                                                       monkeypatch):
    use(monkeypatch, "offline_digits")
    with pytest.raises(data.DatasetUnavailable) as caught:
        data.get_dataset("mnist32", str(tmp_path / "data"))
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert (f"downloading TFDS 'offline_digits' into {tmp_path / 'data'} failed (Failed to "
            "establish a new connection") in message
    assert "download_and_prepare()" in message and "and copy DIR/offline_digits" in message
    assert not (tmp_path / "data").exists()  # Made for the download, removed after it.
    with pytest.raises(data.DatasetUnavailable, match="is not prepared"):
        data.get_dataset("mnist32", str(tmp_path / "data"), download=False)


def test_celeba_failing_names_the_files_to_fetch(tmp_path, monkeypatch):
    builder = tfds.builder("celeb_a", data_dir=str(tmp_path))
    monkeypatch.setattr(type(builder), "download_and_prepare",
                        lambda self, **kwargs: (_ for _ in ()).throw(
                            RuntimeError("Google Drive quota exceeded")))
    monkeypatch.setattr(tfds_sets, "unreachable", lambda builder: None)
    with pytest.raises(data.DatasetUnavailable, match=r"failed \(Google Drive quota "
                                                       r"exceeded\): TFDS fetches CelebA's "
                                                       r"img_align_celeba.zip"):
        data.get_dataset("celeba32", str(tmp_path))


def offline():
    try:
        socket.create_connection(("storage.googleapis.com", 443), 5).close()
        return False
    except OSError:
        return True


@pytest.mark.slow
@pytest.mark.skipif(not offline(), reason="this machine reaches storage.googleapis.com: "
                                          "MNIST would download")
def test_the_training_binary_offline_stops_in_one_line(tmp_path):
    result = run_module("acai.train", "--dataset=mnist32", f"--data_dir={tmp_path / 'data'}",
                        f"--train_dir={tmp_path / 'runs'}", "--total_kimg=1")
    assert result.returncode != 0
    line = error_line(result)
    assert line.startswith(f"acai.train: error: dataset 'mnist32': downloading TFDS 'mnist' "
                           f"into {tmp_path / 'data'} failed (cannot reach "
                           "storage.googleapis.com"), line
    assert not (tmp_path / "runs").exists() and not (tmp_path / "data").exists()


@pytest.mark.slow
def test_the_training_binary_with_nodownload_says_how_to_prepare(tmp_path):
    result = run_module("acai.train", "--dataset=mnist32", f"--data_dir={tmp_path}",
                        f"--train_dir={tmp_path / 'runs'}", "--total_kimg=1", "--nodownload")
    assert result.returncode != 0
    line = error_line(result)
    assert line.startswith("acai.train: error: dataset 'mnist32' (TFDS 'mnist') is not "
                           f"prepared in {tmp_path} and downloads are off (--nodownload): "
                           "on a machine with internet run"), line
    assert os.listdir(tmp_path) == []

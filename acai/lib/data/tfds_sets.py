"""Datasets of TensorFlow Datasets: the paper's (mnist32, svhn32, cifar10, celeba32) and
any other image dataset as `tfds:NAME`. One that is not prepared yet is downloaded and
prepared into the data folder (TFDS' progress bars), unless downloads are off; a failed
download is a DatasetUnavailable of one line saying how to prepare it elsewhere, with
nothing half-prepared left behind."""

import dataclasses
import glob
import os
import shutil
import socket
import urllib.parse
from typing import Callable, Optional

import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging

from acai.lib.errors import cause

from acai.lib.data.pipeline import (AUTOTUNE, DatasetUnavailable, fit, image_spec, resize,
                                    to_float)


def celeba(image):
    """CelebA 218x178: crop 36 rows top/bottom and 16 columns each side, resize to 32."""
    return resize(to_float(image[36:-36, 16:-16]))


@dataclasses.dataclass(frozen=True)
class TfdsSet:
    """How the toolkit reads one TFDS dataset."""
    tfds_name: str
    train_split: str
    test_split: str
    preprocess: Callable
    cache: bool = False  # Cache the decoded uint8 images (small datasets only).
    # Overrides the names of the ClassLabel feature (or of the single class when there is
    # none). TFDS only knows CIFAR-10's names once the dataset is prepared.
    class_names: Optional[tuple] = None


BUILTIN = {
    "mnist32": TfdsSet("mnist", "train", "test", fit, cache=True),
    "svhn32": TfdsSet("svhn_cropped", "train+extra", "test", fit),
    "cifar10": TfdsSet("cifar10", "train", "test", fit, class_names=(
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
        "truck")),
    "celeba32": TfdsSet("celeb_a", "train", "test", celeba, class_names=("face",)),
}


def builder_of(name, tfds_name, data_dir):
    try:
        return tfds.builder(tfds_name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(f"unknown TFDS dataset {tfds_name!r} in {name!r} "
                         "(tfds.list_builders() lists the valid names)") from None
    except AssertionError as e:  # TFDS' word for a version it does not have.
        reason = str(e).split(": ", 1)[-1] if ": " in str(e) else str(e)
        raise ValueError(f"dataset {name!r}: {reason}") from None


def prepare_elsewhere(builder):
    """How to prepare a TFDS dataset on another machine, for a one-line message."""
    return (f"on a machine with internet run  python -c \"import tensorflow_datasets as "
            f"tfds; tfds.builder({builder.name!r}, data_dir='DIR').download_and_prepare()\""
            f"  and copy DIR/{builder.name} into {builder.data_dir_root}")


# Datasets whose download often fails for a known reason: what the user can do.
DOWNLOAD_HINTS = {
    "celeb_a": "TFDS fetches CelebA's img_align_celeba.zip, list_eval_partition.txt, "
               "list_attr_celeba.txt, list_landmarks_align_celeba.txt and "
               "identity_CelebA.txt from Google Drive, which often refuses with a quota "
               "error: retry later, or ",
}


def check_prepared(name, builder, split, download=True):
    """Downloads and prepares `builder`'s data unless it is on disk (or raises
    DatasetUnavailable when `download` is False, or the download fails).

    Goes through `builder.as_dataset` (lazy, reads no records), which
    `tfds.testing.mock_data` replaces, so mocked datasets pass.
    """
    try:
        builder.as_dataset(split=split)
        return
    except AssertionError:
        pass
    where = str(builder.data_dir_root)
    if not download:
        raise DatasetUnavailable(
            f"dataset {name!r} (TFDS {builder.name!r}) is not prepared in {where} and "
            f"downloads are off (--nodownload): {prepare_elsewhere(builder)}") from None
    download_and_prepare(name, builder)


def unreachable(builder, timeout=10):
    """Why the first file of `builder`'s download cannot be reached, or None: a quick
    connection to its host, so that a machine without network hears it at once rather
    than after TFDS' retries (minutes). Skipped behind a proxy, and for datasets whose
    files TFDS does not list."""
    if any(os.environ.get(k) for k in ("https_proxy", "HTTPS_PROXY", "http_proxy",
                                       "HTTP_PROXY", "all_proxy", "ALL_PROXY")):
        return None
    try:
        urls = list(builder.url_infos or ())
    except Exception:  # No checksums file: nothing to probe.
        return None
    if not urls:
        return None
    url = urllib.parse.urlparse(urls[0])
    if url.scheme not in ("http", "https") or not url.hostname:
        return None
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https"
                                                             else 80)), timeout).close()
    except OSError as e:
        return f"cannot reach {url.hostname}: {e.strerror or e}"
    return None


def download_and_prepare(name, builder):
    """builder.download_and_prepare(), with TFDS' progress; a failure is one line, and
    what it left (TFDS' incomplete.* folders, partial downloads, the folders it made) is
    removed, so that nothing is read as prepared."""
    where = str(builder.data_dir_root)
    made = [path for path in (where, os.path.join(where, builder.name),
                              os.path.join(where, "downloads"),
                              os.path.join(where, "downloads", "extracted"),
                              os.path.join(where, "downloads", builder.name))
            if not os.path.isdir(path)]
    reason = unreachable(builder)
    if reason is None:
        logging.info("Downloading and preparing %s (TFDS %s) into %s", name, builder.name,
                     where)
        try:
            builder.download_and_prepare()
            logging.info("Prepared %s in %s", builder.name, builder.data_dir)
            return
        except Exception as e:  # Network, checksum, quota, disk: TFDS raises many types.
            reason = cause(e)
    leftovers = (glob.glob(os.path.join(where, builder.name, "**", "*incomplete.*"),
                           recursive=True)
                 + glob.glob(os.path.join(where, "downloads", builder.name, "*.tmp.*")))
    for leftover in leftovers:
        if os.path.isdir(leftover):
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            os.remove(leftover)
    for path in reversed(made):  # The folders it made, where they stayed empty.
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
    hint = DOWNLOAD_HINTS.get(builder.name, "")
    raise DatasetUnavailable(
        f"dataset {name!r}: downloading TFDS {builder.name!r} into {where} failed "
        f"({reason}): {hint}{prepare_elsewhere(builder)}")


def find_features(name, features):
    """(image key, label key or None) of a TFDS FeaturesDict."""
    def keys_of(kind):
        keys = [k for k, f in features.items() if isinstance(f, kind)]
        preferred = [k for k in keys if k in ("image", "label")]
        return preferred + [k for k in keys if k not in preferred]

    images = keys_of(tfds.features.Image)
    if not images:
        raise ValueError(f"TFDS dataset {name!r} has no top-level image feature "
                         f"(features: {', '.join(features.keys())})")
    labels = keys_of(tfds.features.ClassLabel)
    return images[0], (labels[0] if labels else None)


def tfds_spec(name, entry, data_dir, classes, download=True):
    """The DataSpec of the TFDS dataset `entry` (a TfdsSet) under the toolkit's `name`,
    downloaded first if it is not prepared (and `download`)."""
    builder = builder_of(name, entry.tfds_name, data_dir)
    check_prepared(name, builder, entry.test_split, download)
    image_key, label_key = find_features(name, builder.info.features)
    image_feature = builder.info.features[image_key]
    if image_feature.dtype != tf.uint8:
        raise ValueError(f"dataset {name!r}: image feature {image_key!r} is "
                         f"{image_feature.dtype.name}, only uint8 is supported")
    channels = image_feature.shape[-1]
    if channels not in (1, 3, 4):
        raise ValueError(f"dataset {name!r}: images with {channels} channels are not "
                         "supported")
    colors = 1 if channels == 1 else 3
    if label_key is not None:
        class_names = tuple(builder.info.features[label_key].names)
    else:
        class_names = (entry.tfds_name,)
    if entry.class_names is not None:
        if len(entry.class_names) != len(class_names):
            raise ValueError(f"dataset {name!r}: TFDS names {len(class_names)} classes, "
                             f"the toolkit {len(entry.class_names)}")
        class_names = entry.class_names
    wanted = {image_key: True}
    if label_key is not None:
        wanted[label_key] = True
    decoders = tfds.decode.PartialDecoding(wanted)

    def select(example):
        image = example[image_key][:, :, :colors]
        label = (tf.cast(example[label_key], tf.int64) if label_key is not None
                 else tf.constant(0, tf.int64))
        return image, label

    def load(split, shuffle, seed):
        config = tfds.ReadConfig(shuffle_seed=seed, try_autocache=False)
        ds = builder.as_dataset(
            split=entry.train_split if split == "train" else entry.test_split,
            shuffle_files=shuffle, decoders=decoders, read_config=config)
        return ds.map(select, num_parallel_calls=AUTOTUNE)

    splits = builder.info.splits
    size = splits[entry.train_split].num_examples if entry.train_split in splits else None
    return image_spec(name, colors, class_names, classes, load, entry.preprocess,
                      entry.cache, size)


def builtin_spec(name, data_dir, classes, download=True):
    """One of BUILTIN, the paper's datasets."""
    return tfds_spec(name, BUILTIN[name], data_dir, classes, download)


def generic_spec(name, data_dir, classes, download=True):
    """`tfds:NAME`: test split 'test', or the last 10% of 'train' when there is none."""
    tfds_name = name[len("tfds:"):]
    if not tfds_name:
        raise ValueError(f"empty TFDS name in {name!r}; use e.g. 'tfds:fashion_mnist'")
    builder = builder_of(name, tfds_name, data_dir)
    check_prepared(name, builder, "train", download)
    splits = builder.info.splits  # Empty when unknown (mocked data): assume train/test.
    if not splits or "test" in splits:
        train_split, test_split = "train", "test"
    else:
        train_split, test_split = "train[:90%]", "train[90%:]"
    return tfds_spec(name, TfdsSet(tfds_name, train_split, test_split, fit), data_dir,
                     classes, download=False)  # Prepared just above.

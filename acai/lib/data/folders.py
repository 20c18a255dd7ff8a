"""`folder:PATH` datasets: image files in one sub-folder per class.

PATH/{train,test}/CLASS/* keeps its two splits; PATH/CLASS/* (or PATH/train/CLASS/*
alone) holds out every HOLDOUT_EVERY-th file of each class as the test split. Every file
is decoded once before training: unreadable ones are named, or left out on request.
"""

import collections
import os

import tensorflow as tf
from absl import logging

from acai.lib.data.pipeline import AUTOTUNE, SIZE, DatasetUnavailable, image_spec, to_float

HOLDOUT_EVERY = 10  # Files 0, 10, 20, ... of each class form the test split.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
EXTENSIONS_TEXT = "/".join(extension[1:] for extension in IMAGE_EXTENSIONS)


def list_images(folder):
    """Sorted image paths under `folder` (recursively), hidden files and folders aside."""
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        paths.extend(os.path.join(root, f) for f in sorted(files)
                     if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS))
    return paths


def shown(path):
    """A path for a message, whatever bytes its name holds (non-UTF-8 ones as \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def class_dirs(folder):
    """The class sub-folders of `folder`, sorted. A symbolic link to another class's
    folder (the same images twice as two classes) or to nothing is a DatasetUnavailable."""
    names, seen = [], {}
    for d in sorted(os.listdir(folder)):
        path = os.path.join(folder, d)
        if d.startswith("."):
            continue
        if os.path.islink(path) and not os.path.exists(path):
            raise DatasetUnavailable(f"class folder {shown(path)} is a symbolic link to "
                                     f"{shown(os.readlink(path))}, which does not exist: "
                                     "remove the link or restore its target")
        if not os.path.isdir(path):
            continue
        real = os.path.realpath(path)
        if real in seen:
            raise DatasetUnavailable(f"class folders {shown(seen[real])} and {shown(path)} "
                                     "are the same folder (a symbolic link): the same "
                                     "images would be two classes; remove one")
        seen[real] = path
        names.append(d)
    return names


def folder_files(folder, class_names):
    """(paths, labels) of the images in the class sub-folders of `folder`."""
    paths, labels = [], []
    for label, class_name in enumerate(class_names):
        files = list_images(os.path.join(folder, class_name))
        paths.extend(files)
        labels.extend([label] * len(files))
    return paths, labels


def decode_fn(colors):
    """path -> uint8 [SIZE, SIZE, colors]: colours converted, resized if needed."""
    def decode(path):
        image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        channels = tf.shape(image)[2]
        first = image[:, :, :1]
        if colors == 1:
            image = tf.cond(channels >= 3,
                            lambda: tf.image.rgb_to_grayscale(image[:, :, :3]),
                            lambda: first)
        else:
            image = tf.cond(channels >= 3,
                            lambda: image[:, :, :3],
                            lambda: tf.tile(first, [1, 1, 3]))
        shape = tf.shape(image)

        def resized():
            x = tf.image.resize(image, [SIZE, SIZE], method="bicubic", antialias=True)
            return tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)

        same = tf.logical_and(tf.equal(shape[0], SIZE), tf.equal(shape[1], SIZE))
        image = tf.cond(same, lambda: image, resized)
        return tf.ensure_shape(image, [SIZE, SIZE, colors])
    return decode


def path_tensor(paths):
    """Paths as a tf.string tensor of their bytes (names need not be UTF-8)."""
    return tf.constant([os.fsencode(p) for p in paths], tf.string)


def scan_images(paths):
    """-> (the files among `paths` that do not decode as an image (damaged, empty, not an
    image), in order; {path: channels} of the others). Every file is decoded once, in
    parallel."""
    ds = tf.data.Dataset.from_tensor_slices(path_tensor(paths)).enumerate()
    ds = ds.map(lambda i, path: (i, tf.shape(tf.io.decode_image(
        tf.io.read_file(path), expand_animations=False))[2]), num_parallel_calls=AUTOTUNE)
    channels = {}
    for indices, counts in ds.ignore_errors().batch(4096).as_numpy_iterator():
        channels.update(zip(indices.tolist(), counts.tolist()))
    return ([path for i, path in enumerate(paths) if i not in channels],
            {paths[i]: count for i, count in channels.items()})


def unreadable_images(paths):
    """The files among `paths` that do not decode as an image, in order."""
    return scan_images(paths)[0]


def colors_of(name, channels):
    """1 if every image is grey (1 or 2 channels), else 3: one colour file makes the
    dataset colour, the grey ones repeated over three channels (a warning counts them)."""
    grey = sum(1 for count in channels.values() if count < 3)
    if grey and grey < len(channels):
        logging.warning("dataset %r: %d of its %d images are grey and the others colour: it "
                        "is served in colour (the grey ones on all three channels)", name,
                        grey, len(channels))
    return 1 if grey == len(channels) else 3


def without(files, bad):
    kept = [(p, y) for p, y in zip(*files) if p not in bad]
    return [p for p, _ in kept], [y for _, y in kept]


def splits(name, folder):
    """-> (class names, (train paths, labels), (test paths, labels)) of a folder."""
    subdirs = class_dirs(folder)
    if subdirs == ["train"]:  # PATH/train/CLASS/* without a test folder.
        folder = os.path.join(folder, "train")
        subdirs = class_dirs(folder)
    if "train" in subdirs and "test" in subdirs:
        class_names = tuple(class_dirs(os.path.join(folder, "train")))
        train = folder_files(os.path.join(folder, "train"), class_names)
        extra = sorted(set(class_dirs(os.path.join(folder, "test"))) - set(class_names))
        if extra:
            raise ValueError(f"dataset {name!r}: test classes {', '.join(extra)} have no "
                             f"train folder (train classes: {', '.join(class_names)})")
        return class_names, train, folder_files(os.path.join(folder, "test"), class_names)
    class_names = tuple(subdirs)
    train, test, index = ([], []), ([], []), {}
    paths, labels = folder_files(folder, class_names)
    counts = collections.Counter(labels)
    for path, label in zip(paths, labels):
        i = index[label] = index.get(label, -1) + 1
        # A class of one image keeps it for training (its test part stays empty).
        part = test if i % HOLDOUT_EVERY == 0 and counts[label] > 1 else train
        part[0].append(path)
        part[1].append(label)
    return class_names, train, test


def spec(name, classes, skip_unreadable=False):
    """The DataSpec of `folder:PATH`.

    Unreadable files are a DatasetUnavailable naming them all, or, with
    skip_unreadable, left out with a warning that counts them.
    """
    folder = os.path.expanduser(name[len("folder:"):])
    if os.path.isfile(folder):
        raise DatasetUnavailable(f"dataset {name!r}: {folder!r} is a file; give a folder "
                                 "with one sub-folder of images per class")
    if not os.path.isdir(folder):
        raise DatasetUnavailable(f"dataset {name!r}: folder {folder!r} does not exist; give "
                                 "a folder with one sub-folder of images per class")
    class_names, train, test = splits(name, folder)
    if not class_names or not train[0]:
        raise DatasetUnavailable(f"dataset {name!r}: no training images ({EXTENSIONS_TEXT}) "
                                 f"in class sub-folders of {folder!r}")
    empty = [c for label, c in enumerate(class_names) if label not in set(train[1])]
    if empty:
        raise DatasetUnavailable(f"dataset {name!r}: class folder(s) {', '.join(empty)} hold "
                                 f"no training images ({EXTENSIONS_TEXT}); remove them or "
                                 "add images")
    if not test[0]:
        raise DatasetUnavailable(f"dataset {name!r}: its test split holds no images "
                                 f"({EXTENSIONS_TEXT}): fill {shown(folder)}/test/CLASS/ "
                                 "folders, or give no test folder and two images or more "
                                 f"per class (every {HOLDOUT_EVERY}th is held out)")
    bad, channels = scan_images(train[0] + test[0])
    if bad and not skip_unreadable:
        raise DatasetUnavailable(f"dataset {name!r}: {len(bad)} unreadable image file(s): "
                                 f"{', '.join(map(shown, bad))}; remove or replace them, or "
                                 "skip them with --skip_bad_images")
    if bad:
        logging.warning("dataset %r: skipping %d unreadable image file(s): %s", name,
                        len(bad), ", ".join(map(shown, bad)))
        train, test = without(train, set(bad)), without(test, set(bad))
    colors = colors_of(name, channels)
    decode = decode_fn(colors)

    def load(split, shuffle, seed):
        del shuffle, seed  # The shared pipeline shuffles the decoded images.
        paths, labels = train if split == "train" else test
        ds = tf.data.Dataset.from_tensor_slices((path_tensor(paths),
                                                 tf.constant(labels, tf.int64)))
        return ds.map(lambda p, y: (decode(p), y), num_parallel_calls=AUTOTUNE)

    return image_spec(name, colors, class_names, classes, load, to_float, True,
                      len(train[0]))

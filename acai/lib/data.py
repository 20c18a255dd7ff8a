"""Dataset registry shared by the training binaries.

`get_dataset(name)` returns a `DataSpec`; its `train()`/`test()`/`train_once()` give batched
`(x, label)` pairs: x float32 [B, 32, 32, C] in [-1, 1], label int64 [B].

Names: the built-ins in `DATASETS`, `tfds:NAME` (any TFDS image dataset) and
`folder:PATH` (one sub-folder of images per class). TFDS data is never
downloaded: a dataset that is not prepared raises `DatasetUnavailable`.
"""

import dataclasses
import os
from typing import Callable, Optional

import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging

from acai.lib import lines

SIZE = 32  # Every dataset is served at SIZE x SIZE.
SHUFFLE_BUFFER = 10_000
HOLDOUT_EVERY = 10  # folder: files 0, 10, 20, ... of each class form the test split.
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif')
AUTOTUNE = tf.data.AUTOTUNE


class DatasetUnavailable(Exception):
    """Raised with ONE line of text saying what is missing and how to get it."""


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """A dataset: its geometry, its classes and its two pipelines."""
    name: str
    height: int
    width: int
    colors: int
    nclass: int
    class_names: tuple
    _train_fn: Callable = dataclasses.field(repr=False, compare=False, default=None)
    _test_fn: Callable = dataclasses.field(repr=False, compare=False, default=None)
    _train_once_fn: Callable = dataclasses.field(repr=False, compare=False, default=None)

    def train(self, batch_size, *, seed=None):
        """Infinite, shuffled batches of exactly `batch_size` (x, label)."""
        return self._train_fn(int(batch_size), seed)

    def test(self, batch_size):
        """One pass in a fixed order; the last batch may be smaller."""
        return self._test_fn(int(batch_size))

    def train_once(self, batch_size):
        """One pass over the train split in a fixed order; the last batch may be smaller."""
        return self._train_once_fn(int(batch_size))


# ----------------------------------------------------------------------------
# Image preprocessing: uint8 [h, w, c] -> float32 [SIZE, SIZE, c] in [-1, 1].

def _to_float(image):
    return tf.cast(image, tf.float32) * (2.0 / 255.0) - 1.0


def _resize(x):
    """Bicubic (antialiased) resize of a float image to SIZE x SIZE, clipped to [-1, 1]."""
    x = tf.image.resize(x, [SIZE, SIZE], method='bicubic', antialias=True)
    return tf.clip_by_value(x, -1.0, 1.0)


def _fit(image):
    """Pads an image smaller than SIZE x SIZE with -1 (centred); resizes any other."""
    height, width = image.shape[0], image.shape[1]
    if height is None or width is None:
        raise ValueError('images of unknown size are not supported by the TFDS path')
    if height == SIZE and width == SIZE:
        return _to_float(image)
    if height <= SIZE and width <= SIZE:
        top, left = (SIZE - height) // 2, (SIZE - width) // 2
        # Padding the uint8 image with 0 gives -1 after _to_float.
        image = tf.pad(image, [[top, SIZE - height - top], [left, SIZE - width - left], [0, 0]])
        return _to_float(image)
    return _resize(_to_float(image))


def _celeba(image):
    """CelebA 218x178: crop 36 rows top/bottom and 16 columns each side, resize to SIZE."""
    return _resize(_to_float(image[36:-36, 16:-16]))


# ----------------------------------------------------------------------------
# Built-in TFDS datasets.

@dataclasses.dataclass(frozen=True)
class _Tfds:
    tfds_name: str
    train_split: str
    test_split: str
    preprocess: Callable
    cache: bool = False              # cache decoded uint8 images (small datasets only)
    # Overrides the names of the ClassLabel feature (or of the single class when there is
    # none). TFDS only knows CIFAR-10's names once the dataset is prepared.
    class_names: Optional[tuple] = None


_BUILTIN = {
    'mnist32': _Tfds('mnist', 'train', 'test', _fit, cache=True),
    'svhn32': _Tfds('svhn_cropped', 'train+extra', 'test', _fit),
    'cifar10': _Tfds('cifar10', 'train', 'test', _fit, class_names=(
        'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
        'truck')),
    'celeba32': _Tfds('celeb_a', 'train', 'test', _celeba, class_names=('face',)),
}
_LINES_CLASSES = tuple('angle%d' % i for i in range(10))
DATASETS = ('lines32',) + tuple(_BUILTIN)


# ----------------------------------------------------------------------------
# Class filtering.

def parse_classes(classes, class_names):
    """Returns the kept original indices, in the given order (None: keep all)."""
    if classes is None:
        return None
    if isinstance(classes, str):
        classes = [c.strip() for c in classes.split(',')]
        classes = [c for c in classes if c]
    classes = list(classes)
    if not classes:
        return None
    valid = 'valid: %s or indices 0..%d' % (', '.join(class_names), len(class_names) - 1)
    kept = []
    for c in classes:
        if isinstance(c, str) and c.strip().isdigit():
            c = int(c)
        if isinstance(c, int) and not isinstance(c, bool):
            if not 0 <= c < len(class_names):
                raise ValueError('class index %d out of range; %s' % (c, valid))
            index = c
        elif isinstance(c, str) and c.strip() in class_names:
            index = class_names.index(c.strip())
        else:
            raise ValueError('unknown class %r; %s' % (c, valid))
        if index in kept:
            raise ValueError('class %r given twice' % class_names[index])
        kept.append(index)
    return kept


def _filter_classes(ds, kept, nclass):
    """Keeps examples whose label is in `kept` and remaps labels to their position."""
    if kept is None:
        return ds
    table = [-1] * nclass
    for new, old in enumerate(kept):
        table[old] = new
    table = tf.constant(table, tf.int64)
    ds = ds.filter(lambda x, y: tf.gather(table, y) >= 0)
    return ds.map(lambda x, y: (x, tf.gather(table, y)))


# ----------------------------------------------------------------------------
# Shared pipeline: unbatched (uint8 image, int64 label) -> batched (x, label).

def _image_spec(name, colors, class_names, classes, load, preprocess, cache, size):
    """Builds a DataSpec from `load(split, shuffle, seed)` of unbatched (image, label)."""
    kept = parse_classes(classes, class_names)
    names = tuple(class_names) if kept is None else tuple(class_names[i] for i in kept)
    buffer = min(SHUFFLE_BUFFER, size) if size else SHUFFLE_BUFFER

    def prepare(x, y):
        return preprocess(x), y

    def train(batch_size, seed):
        ds = _filter_classes(load('train', True, seed), kept, len(class_names))
        if cache:
            ds = ds.cache()
        ds = ds.shuffle(buffer, seed=seed).repeat()
        ds = ds.map(prepare, num_parallel_calls=AUTOTUNE)
        return ds.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)

    def test(batch_size):
        ds = _filter_classes(load('test', False, None), kept, len(class_names))
        ds = ds.map(prepare, num_parallel_calls=AUTOTUNE)
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    def train_once(batch_size):
        ds = _filter_classes(load('train', False, None), kept, len(class_names))
        ds = ds.map(prepare, num_parallel_calls=AUTOTUNE)
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    return DataSpec(name, SIZE, SIZE, colors, len(names), names, train, test, train_once)


# ----------------------------------------------------------------------------
# TFDS.

def _tfds_builder(name, tfds_name, data_dir):
    try:
        return tfds.builder(tfds_name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError('unknown TFDS dataset %r in %r (tfds.list_builders() lists the valid '
                         'names)' % (tfds_name, name)) from None


def _check_prepared(name, builder, split):
    """Raises DatasetUnavailable unless `builder` has data on disk.

    Goes through `builder.as_dataset` (lazy, reads no records), which
    `tfds.testing.mock_data` replaces, so mocked datasets pass.
    """
    try:
        builder.as_dataset(split=split)
    except AssertionError:
        where = str(builder.data_dir_root)
        raise DatasetUnavailable(
            'dataset %r (TFDS %r) is not prepared in %s: on a machine with internet run  '
            'python -c "import tensorflow_datasets as tfds; tfds.builder(%r, data_dir=%r)'
            '.download_and_prepare()"  and pass --data_dir=%s'
            % (name, builder.name, where, builder.name, where, where)) from None


def _find_features(name, features):
    """Returns (image key, label key or None) of a TFDS FeaturesDict."""
    def keys_of(kind):
        keys = [k for k, f in features.items() if isinstance(f, kind)]
        preferred = [k for k in keys if k in ('image', 'label')]
        return preferred + [k for k in keys if k not in preferred]

    images = keys_of(tfds.features.Image)
    if not images:
        raise ValueError('TFDS dataset %r has no top-level image feature (features: %s)'
                         % (name, ', '.join(features.keys())))
    labels = keys_of(tfds.features.ClassLabel)
    return images[0], (labels[0] if labels else None)


def _tfds_spec(name, entry, data_dir, classes):
    builder = _tfds_builder(name, entry.tfds_name, data_dir)
    _check_prepared(name, builder, entry.test_split)
    image_key, label_key = _find_features(name, builder.info.features)
    image_feature = builder.info.features[image_key]
    if image_feature.dtype != tf.uint8:
        raise ValueError('dataset %r: image feature %r is %s, only uint8 is supported'
                         % (name, image_key, image_feature.dtype.name))
    channels = image_feature.shape[-1]
    if channels not in (1, 3, 4):
        raise ValueError('dataset %r: images with %s channels are not supported'
                         % (name, channels))
    colors = 1 if channels == 1 else 3
    if label_key is not None:
        class_names = tuple(builder.info.features[label_key].names)
    else:
        class_names = (entry.tfds_name,)
    if entry.class_names is not None:
        assert len(entry.class_names) == len(class_names), (entry.class_names, class_names)
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
        ds = builder.as_dataset(split=entry.train_split if split == 'train' else entry.test_split,
                                shuffle_files=shuffle, decoders=decoders, read_config=config)
        return ds.map(select, num_parallel_calls=AUTOTUNE)

    splits = builder.info.splits
    size = None
    if entry.train_split in splits:
        size = splits[entry.train_split].num_examples
    return _image_spec(name, colors, class_names, classes, load, entry.preprocess,
                       entry.cache, size)


def _generic_tfds_spec(name, data_dir, classes):
    """`tfds:NAME`: test split 'test', or the last 10% of 'train' when there is none."""
    tfds_name = name[len('tfds:'):]
    if not tfds_name:
        raise ValueError("empty TFDS name in %r; use e.g. 'tfds:fashion_mnist'" % name)
    builder = _tfds_builder(name, tfds_name, data_dir)
    _check_prepared(name, builder, 'train')
    splits = builder.info.splits  # Empty when unknown (mocked data): assume train/test.
    if not splits or 'test' in splits:
        train_split, test_split = 'train', 'test'
    else:
        train_split, test_split = 'train[:90%]', 'train[90%:]'
    entry = _Tfds(tfds_name, train_split, test_split, _fit)
    return _tfds_spec(name, entry, data_dir, classes)


# ----------------------------------------------------------------------------
# Image folders.

def _list_images(folder):
    """Sorted image paths under `folder` (recursively)."""
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        paths.extend(os.path.join(root, f) for f in sorted(files)
                     if not f.startswith('.') and f.lower().endswith(IMAGE_EXTENSIONS))
    return paths


def _class_dirs(folder):
    return sorted(d for d in os.listdir(folder)
                  if not d.startswith('.') and os.path.isdir(os.path.join(folder, d)))


def _folder_files(folder, class_names):
    """Returns (paths, labels) for the class sub-folders of `folder`."""
    paths, labels = [], []
    for label, class_name in enumerate(class_names):
        files = _list_images(os.path.join(folder, class_name))
        paths.extend(files)
        labels.extend([label] * len(files))
    return paths, labels


def _decode_fn(colors):
    """Returns path -> uint8 [SIZE, SIZE, colors] (converted colours, resized if needed)."""
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

        def resize():
            x = tf.image.resize(image, [SIZE, SIZE], method='bicubic', antialias=True)
            return tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)

        same = tf.logical_and(tf.equal(shape[0], SIZE), tf.equal(shape[1], SIZE))
        image = tf.cond(same, lambda: image, resize)
        return tf.ensure_shape(image, [SIZE, SIZE, colors])
    return decode


def unreadable_images(paths):
    """The files among `paths` that do not decode as an image (damaged, empty, not an
    image), in order; every file is decoded once, in parallel."""
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(paths, tf.string)).enumerate()
    ds = ds.map(lambda i, path: (i, tf.shape(tf.io.decode_image(
        tf.io.read_file(path), expand_animations=False))), num_parallel_calls=AUTOTUNE)
    read = set()
    for indices, _ in ds.ignore_errors().batch(4096).as_numpy_iterator():
        read.update(indices.tolist())
    return [path for i, path in enumerate(paths) if i not in read]


def _without(files, bad):
    kept = [(p, y) for p, y in zip(*files) if p not in bad]
    return [p for p, _ in kept], [y for _, y in kept]


def _folder_spec(name, data_dir, classes, skip_unreadable=False):
    """`folder:PATH`: PATH/{train,test}/CLASS/* or PATH/CLASS/* (every 10th file held out).

    Every file is decoded once first: unreadable ones are a DatasetUnavailable naming
    them all, or, with skip_unreadable, left out with a warning that counts them.
    """
    del data_dir  # Folders are named by their own path.
    folder = os.path.expanduser(name[len('folder:'):])
    if os.path.isfile(folder):
        raise DatasetUnavailable('dataset %r: %r is a file; give a folder with one '
                                 'sub-folder of images per class' % (name, folder))
    if not os.path.isdir(folder):
        raise DatasetUnavailable('dataset %r: folder %r does not exist; give a folder with one '
                                 'sub-folder of images per class' % (name, folder))
    subdirs = _class_dirs(folder)
    if subdirs == ['train']:  # PATH/train/CLASS/* without a test folder.
        folder, subdirs = os.path.join(folder, 'train'), _class_dirs(os.path.join(folder, 'train'))
    if 'train' in subdirs and 'test' in subdirs:
        class_names = tuple(_class_dirs(os.path.join(folder, 'train')))
        train = _folder_files(os.path.join(folder, 'train'), class_names)
        extra = sorted(set(_class_dirs(os.path.join(folder, 'test'))) - set(class_names))
        if extra:
            raise ValueError('dataset %r: test classes %s have no train folder (train classes: %s)'
                             % (name, ', '.join(extra), ', '.join(class_names)))
        test = _folder_files(os.path.join(folder, 'test'), class_names)
    else:
        class_names = tuple(subdirs)
        paths, labels = _folder_files(folder, class_names)
        train, test = ([], []), ([], [])
        index = {}
        for path, label in zip(paths, labels):
            i = index[label] = index.get(label, -1) + 1
            part = test if i % HOLDOUT_EVERY == 0 else train
            part[0].append(path)
            part[1].append(label)
    if not class_names or not train[0]:
        raise DatasetUnavailable(
            'dataset %r: no training images (%s) in class sub-folders of %r'
            % (name, '/'.join(e[1:] for e in IMAGE_EXTENSIONS), folder))
    empty = [c for label, c in enumerate(class_names) if label not in set(train[1])]
    if empty:
        raise DatasetUnavailable(
            'dataset %r: class folder(s) %s hold no training images (%s); remove them or '
            'add images' % (name, ', '.join(empty), '/'.join(e[1:] for e in IMAGE_EXTENSIONS)))
    bad = unreadable_images(train[0] + test[0])
    if bad and not skip_unreadable:
        raise DatasetUnavailable(
            'dataset %r: %d unreadable image file(s): %s; remove or replace them, or skip '
            'them with --skip_bad_images' % (name, len(bad), ', '.join(bad)))
    if bad:
        logging.warning('dataset %r: skipping %d unreadable image file(s): %s', name,
                        len(bad), ', '.join(bad))
        train, test = _without(train, set(bad)), _without(test, set(bad))

    first = tf.io.decode_image(tf.io.read_file(train[0][0]), expand_animations=False)
    colors = 1 if first.shape[-1] in (1, 2) else 3
    decode = _decode_fn(colors)

    def load(split, shuffle, seed):
        del shuffle, seed  # The shared pipeline shuffles decoded images.
        paths, labels = train if split == 'train' else test
        ds = tf.data.Dataset.from_tensor_slices(
            (tf.constant(paths, tf.string), tf.constant(labels, tf.int64)))
        return ds.map(lambda p, y: (decode(p), y), num_parallel_calls=AUTOTUNE)

    return _image_spec(name, colors, class_names, classes, load, _to_float, True, len(train[0]))


# ----------------------------------------------------------------------------
# Lines (synthetic, generated by acai.lib.lines).

def _lines_spec(name, data_dir, classes):
    del data_dir  # Generated on the fly.
    kept = parse_classes(classes, _LINES_CLASSES)
    names = _LINES_CLASSES if kept is None else tuple(_LINES_CLASSES[i] for i in kept)
    nclass = len(_LINES_CLASSES)

    def cast(x, y):
        return tf.cast(x, tf.float32), tf.cast(y, tf.int64)

    def train(batch_size, seed):
        ds = lines.train_batches(batch_size, height=SIZE, width=SIZE, seed=seed)
        if kept is None:
            return ds.map(cast)
        ds = _filter_classes(ds.unbatch().map(cast), kept, nclass)
        return ds.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)

    def test(batch_size):
        ds = _filter_classes(lines.test_dataset(height=SIZE, width=SIZE).map(cast),
                             kept, nclass)
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    def train_once(batch_size):
        # The train stream is endless: a fixed sample of it stands for the train split.
        ds = _filter_classes(lines.train_sample(height=SIZE, width=SIZE).map(cast),
                             kept, nclass)
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    return DataSpec(name, SIZE, SIZE, 1, len(names), names, train, test, train_once)


# ----------------------------------------------------------------------------

def get_dataset(name: str, data_dir: Optional[str] = None, classes=None,
                skip_unreadable=False) -> DataSpec:
    """Returns the DataSpec of `name` (see the module docstring).

    data_dir: TFDS data folder (None: TFDS default, honours TFDS_DATA_DIR).
    classes: None or empty (all), or class names and/or indices as a list, tuple or
    comma-separated string; labels are remapped to 0..k-1 in the given order.
    skip_unreadable: folder datasets leave out (with a warning) the files that do not
      decode, rather than refusing to start.
    """
    if name == 'lines32':
        return _lines_spec(name, data_dir, classes)
    if name in _BUILTIN:
        return _tfds_spec(name, _BUILTIN[name], data_dir, classes)
    if name.startswith('tfds:'):
        return _generic_tfds_spec(name, data_dir, classes)
    if name.startswith('folder:'):
        return _folder_spec(name, data_dir, classes, skip_unreadable)
    raise ValueError('unknown dataset %r; valid: %s, tfds:NAME, folder:PATH'
                     % (name, ', '.join(DATASETS)))

"""Tests of acai/data.py: offline, with TFDS mock data, real MNIST and tiny image folders."""

import os
import pathlib
import types

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from acai.lib import data

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared' / 'data'
TFDS_DIR = SHARED / 'tensorflow_datasets'
HORSE_BIRD = SHARED / 'cifar10_horse_bird_jpeg'

needs_mnist = pytest.mark.skipif(
    not (TFDS_DIR / 'mnist').is_dir(),
    reason='real MNIST in TFDS format not found at %s (see shared/data/README.md)' % TFDS_DIR)
needs_horse_bird = pytest.mark.skipif(
    not (HORSE_BIRD / 'train').is_dir(),
    reason='CIFAR-10 horse/bird JPEG folder not found at %s' % HORSE_BIRD)


def batches(ds, n=None):
    """Lists (x, y) numpy pairs of the first n batches (all when n is None)."""
    if n is not None:
        ds = ds.take(n)
    return [(x.numpy(), y.numpy()) for x, y in ds]


def concat(pairs):
    return (np.concatenate([x for x, _ in pairs]), np.concatenate([y for _, y in pairs]))


def check_batch(spec, x, y, batch_size=None):
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.shape[1:] == (spec.height, spec.width, spec.colors)
    assert x.shape[0] == y.shape[0]
    if batch_size is not None:
        assert x.shape[0] == batch_size
    assert x.min() >= -1 and x.max() <= 1
    assert y.min() >= 0 and y.max() < spec.nclass


def check_one_line(error, *words):
    text = str(error.value)
    assert '\n' not in text and text.strip()
    for word in words:
        assert word in text


# ----------------------------------------------------------------------------
# Errors.

def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError) as error:
        data.get_dataset('mnist')
    check_one_line(error, "'mnist'", 'mnist32', 'lines32', 'tfds:NAME', 'folder:PATH')


def test_unknown_tfds_name():
    with pytest.raises(ValueError) as error:
        data.get_dataset('tfds:no_such_dataset_xyz')
    check_one_line(error, 'no_such_dataset_xyz')


@pytest.mark.parametrize('name,tfds_name', [('svhn32', 'svhn_cropped'), ('celeba32', 'celeb_a'),
                                            ('tfds:fashion_mnist', 'fashion_mnist')])
def test_missing_tfds_data(tmp_path, name, tfds_name):
    with pytest.raises(data.DatasetUnavailable) as error:  # Not downloaded (tests offline).
        data.get_dataset(name, data_dir=str(tmp_path), download=False)
    check_one_line(error, repr(name), repr(tfds_name), str(tmp_path), 'data_dir',
                   'download_and_prepare')


def test_unknown_class():
    with tfds.testing.mock_data(num_examples=4):
        with pytest.raises(ValueError) as error:
            data.get_dataset('cifar10', classes='horse,pegasus')
        check_one_line(error, 'pegasus', 'airplane', 'truck')
        with pytest.raises(ValueError) as error:
            data.get_dataset('mnist32', classes=[10])
        check_one_line(error, '10')
        with pytest.raises(ValueError):
            data.get_dataset('mnist32', classes='3,3')


def test_missing_and_empty_folder(tmp_path):
    with pytest.raises(data.DatasetUnavailable) as error:
        data.get_dataset('folder:%s' % (tmp_path / 'nope'))
    check_one_line(error, 'nope', 'does not exist')
    (tmp_path / 'empty' / 'a').mkdir(parents=True)
    with pytest.raises(data.DatasetUnavailable) as error:
        data.get_dataset('folder:%s' % (tmp_path / 'empty'))
    check_one_line(error, 'no training images')


# ----------------------------------------------------------------------------
# TFDS with mock data.

def test_mnist32_mock():
    with tfds.testing.mock_data(num_examples=20):
        spec = data.get_dataset('mnist32')
        assert (spec.name, spec.height, spec.width, spec.colors) == ('mnist32', 32, 32, 1)
        assert spec.nclass == 10 and spec.class_names == tuple('0123456789')
        train = batches(spec.train(8, seed=1), 6)  # 48 > 20 examples: it repeats.
        for x, y in train:
            check_batch(spec, x, y, 8)
            # 28x28 padded by 2 pixels of -1 on every side.
            assert (x[:, :2] == -1).all() and (x[:, -2:] == -1).all()
            assert (x[:, :, :2] == -1).all() and (x[:, :, -2:] == -1).all()
        assert concat(train)[0][:, 2:-2, 2:-2].max() > -1
        # Same seed, same batches.
        again = batches(spec.train(8, seed=1), 6)
        for (x1, y1), (x2, y2) in zip(train, again):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)
        test1, test2 = batches(spec.test(6)), batches(spec.test(6))
        assert [len(y) for _, y in test1] == [6, 6, 6, 2]  # finite, remainder kept
        for (x1, y1), (x2, y2) in zip(test1, test2):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)


def test_svhn32_mock():
    with tfds.testing.mock_data(num_examples=10):
        spec = data.get_dataset('svhn32')
        assert (spec.colors, spec.nclass) == (3, 10)
        for x, y in batches(spec.train(4, seed=0), 3):
            check_batch(spec, x, y, 4)
        x, y = concat(batches(spec.test(4)))
        check_batch(spec, x, y)
        assert len(y) == 10


def test_cifar10_classes_mock():
    with tfds.testing.mock_data(num_examples=60):
        full = data.get_dataset('cifar10')
        assert full.class_names == ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog',
                                    'frog', 'horse', 'ship', 'truck')
        spec = data.get_dataset('cifar10', classes=['horse', 'bird'])
        assert spec.nclass == 2 and spec.class_names == ('horse', 'bird')
        for x, y in batches(spec.train(4, seed=0), 3):
            check_batch(spec, x, y, 4)
        # The filtered test split is the full one restricted to horse (7) and bird (2),
        # relabelled 7 -> 0 and 2 -> 1.
        x_all, y_all = concat(batches(full.test(16)))
        x, y = concat(batches(spec.test(16)))
        keep = np.isin(y_all, [7, 2])
        assert keep.sum() > 0
        np.testing.assert_array_equal(x, x_all[keep])
        np.testing.assert_array_equal(y, np.where(y_all[keep] == 7, 0, 1))
        # Indices (also as digit strings) and names mix; the order given is kept.
        mixed = data.get_dataset('cifar10', classes=['7', 3, 'bird'])
        assert mixed.class_names == ('horse', 'cat', 'bird')
        assert data.get_dataset('cifar10', classes='horse, 2').class_names == ('horse', 'bird')
        assert data.get_dataset('cifar10', classes='').nclass == 10


def test_celeba32_mock():
    with tfds.testing.mock_data(num_examples=6):
        spec = data.get_dataset('celeba32')
        assert (spec.colors, spec.nclass, spec.class_names) == (3, 1, ('face',))
        for x, y in batches(spec.train(4, seed=0), 2):
            check_batch(spec, x, y, 4)
            assert (y == 0).all()
        x, y = concat(batches(spec.test(4)))
        assert x.shape == (6, 32, 32, 3) and (y == 0).all()


def test_tfds_generic_mock_pads_small_images():
    with tfds.testing.mock_data(num_examples=8):
        spec = data.get_dataset('tfds:fashion_mnist', classes='Sandal,Bag,Trouser')
        assert spec.colors == 1 and spec.class_names == ('Sandal', 'Bag', 'Trouser')
        for x, y in batches(data.get_dataset('tfds:fashion_mnist').train(4, seed=0), 2):
            assert x.shape == (4, 32, 32, 1)
            assert (x[:, :2] == -1).all() and (x[:, :, -2:] == -1).all()


class AcaiTestTrainOnly(tfds.core.GeneratorBasedBuilder):
    """A tiny TFDS dataset with only a 'train' split and 40x48 RGB images, no label."""
    VERSION = tfds.core.Version('1.0.0')

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(40, 48, 3))}))

    def _split_generators(self, dl_manager):
        return {'train': self._generate_examples()}

    def _generate_examples(self):
        for i in range(20):
            yield i, {'image': np.full((40, 48, 3), 255 * (i % 2), np.uint8)}


def test_tfds_generic_prepared_train_only(tmp_path):
    tfds.builder('acai_test_train_only', data_dir=str(tmp_path)).download_and_prepare()
    spec = data.get_dataset('tfds:acai_test_train_only', data_dir=str(tmp_path))
    assert (spec.colors, spec.nclass, spec.class_names) == (3, 1, ('acai_test_train_only',))
    x, y = concat(batches(spec.test(5)))
    assert x.shape == (2, 32, 32, 3) and (y == 0).all()  # the last 10% of 'train'
    # Resized constant images stay constant (black -1 or white +1).
    assert all(np.allclose(img, img.flat[0], atol=1e-5) for img in x)
    assert set(np.round(x[:, 0, 0, 0]).tolist()) <= {-1.0, 1.0}
    for xb, yb in batches(spec.train(5, seed=0), 5):  # 18 examples: it repeats
        check_batch(spec, xb, yb, 5)


# ----------------------------------------------------------------------------
# Real MNIST.

@needs_mnist
def test_mnist32_real():
    spec = data.get_dataset('mnist32', data_dir=str(TFDS_DIR))
    assert (spec.height, spec.width, spec.colors, spec.nclass) == (32, 32, 1, 10)
    x, y = batches(spec.train(64, seed=0), 1)[0]
    check_batch(spec, x, y, 64)
    assert x.min() == -1 and x.max() > 0.9  # a real digit spans -1..1
    assert len(set(y.tolist())) > 3
    count, first = 0, None
    for xb, yb in spec.test(2000):
        check_batch(spec, xb.numpy(), yb.numpy())
        first = yb.numpy() if first is None else first
        count += len(yb)
    assert count == 10_000
    np.testing.assert_array_equal(next(iter(spec.test(2000)))[1].numpy(), first)
    digits = data.get_dataset('mnist32', data_dir=str(TFDS_DIR), classes='3,7')
    assert digits.class_names == ('3', '7')
    _, y = batches(digits.test(5000), 1)[0]
    assert set(y.tolist()) == {0, 1}


# ----------------------------------------------------------------------------
# Image folders.

def write_png(path, value, size=(32, 32), mode='RGB'):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = size if mode == 'L' else size + (3,)
    Image.fromarray(np.full(shape, value, np.uint8), mode).save(path)


def test_folder_holdout(tmp_path):
    for i in range(12):  # white cats, sizes 32x32 and 40x40, one grey-scale
        write_png(tmp_path / 'cat' / ('%02d.png' % i), 255, (32, 32) if i % 2 else (40, 40),
                  'L' if i == 5 else 'RGB')
    for i in range(5):  # black dogs
        write_png(tmp_path / 'dog' / ('%02d.png' % i), 0)
    (tmp_path / 'dog' / 'notes.txt').write_text('not an image')
    spec = data.get_dataset('folder:%s' % tmp_path)
    assert (spec.colors, spec.nclass, spec.class_names) == (3, 2, ('cat', 'dog'))
    # Held out: files 0 and 10 of cat, file 0 of dog.
    x, y = concat(batches(spec.test(2)))
    np.testing.assert_array_equal(y, [0, 0, 1])
    assert x.shape == (3, 32, 32, 3)
    assert (x[y == 0] == 1).all() and (x[y == 1] == -1).all()
    x, y = concat(batches(spec.train(7, seed=3), 4))
    check_batch(spec, x, y)
    assert (x[y == 0] == 1).all() and (x[y == 1] == -1).all()
    assert set(y.tolist()) == {0, 1}
    dogs = data.get_dataset('folder:%s' % tmp_path, classes=['dog'])
    x, y = batches(dogs.train(4, seed=0), 1)[0]
    assert dogs.class_names == ('dog',) and (y == 0).all() and (x == -1).all()


def test_folder_train_test_and_grey(tmp_path):
    for split, n in (('train', 4), ('test', 2)):
        for value, name in ((0, 'a'), (128, 'b')):
            for i in range(n):
                write_png(tmp_path / split / name / ('%d.png' % i), value, (28, 28), 'L')
    spec = data.get_dataset('folder:%s' % tmp_path)
    assert (spec.colors, spec.class_names) == (1, ('a', 'b'))
    x, y = concat(batches(spec.test(10)))
    np.testing.assert_array_equal(y, [0, 0, 1, 1])
    assert x.shape == (4, 32, 32, 1)
    assert len(batches(spec.train(3, seed=0), 5)) == 5


def test_folder_names_every_unreadable_file_or_skips_them(tmp_path, caplog):
    for split, n in (('train', 5), ('test', 2)):
        for value, name in ((0, 'a'), (200, 'b')):
            for i in range(n):
                write_png(tmp_path / split / name / ('%d.png' % i), value)
    good = (tmp_path / 'train' / 'a' / '0.png').read_bytes()
    (tmp_path / 'train' / 'a' / '3.jpg').write_bytes(good[:len(good) // 3] + b'\0' * 9)
    (tmp_path / 'train' / 'b' / '4.png').write_bytes(b'')         # zero bytes
    (tmp_path / 'test' / 'b' / '1.png').write_bytes(b'not a png')  # in the test split
    bad = [str(tmp_path / p) for p in ('train/a/3.jpg', 'train/b/4.png', 'test/b/1.png')]
    assert data.unreadable_images(bad + [str(tmp_path / 'train' / 'a' / '0.png')]) == bad
    with pytest.raises(data.DatasetUnavailable) as error:
        data.get_dataset('folder:%s' % tmp_path)
    check_one_line(error, '3 unreadable image file(s)', *bad, '--skip_bad_images')
    with caplog.at_level('WARNING'):
        spec = data.get_dataset('folder:%s' % tmp_path, skip_unreadable=True)
    assert 'skipping 3 unreadable image file(s)' in caplog.text
    x, y = concat(batches(spec.test(10)))
    np.testing.assert_array_equal(y, [0, 0, 1])           # test/b/1.png left out
    x, y = concat(batches(spec.train_once(20)))
    assert len(y) == 11 - 2  # 6 + 5 training files, two unreadable


def test_folder_that_is_a_file_or_has_an_empty_class(tmp_path):
    (tmp_path / 'list.txt').write_text('a.png')
    with pytest.raises(data.DatasetUnavailable) as error:
        data.get_dataset('folder:%s' % (tmp_path / 'list.txt'))
    check_one_line(error, 'list.txt', 'is a file')
    for i in range(3):
        write_png(tmp_path / 'images' / 'cat' / ('%d.png' % i), 100)
    (tmp_path / 'images' / 'dog').mkdir()
    with pytest.raises(data.DatasetUnavailable) as error:
        data.get_dataset('folder:%s' % (tmp_path / 'images'))
    check_one_line(error, 'class folder(s) dog hold no training images')


@needs_horse_bird
def test_folder_horse_bird():
    spec = data.get_dataset('folder:%s' % (HORSE_BIRD / 'train'))
    assert (spec.height, spec.width, spec.colors) == (32, 32, 3)
    assert spec.class_names == ('bird', 'horse')
    x, y = concat(batches(spec.test(500)))
    assert len(y) == 1000 and (np.bincount(y) == 500).all()
    check_batch(spec, x, y)
    assert x.std() > 0.2
    # The folder above train/ (no test/) gives the same classes.
    assert data.get_dataset('folder:%s' % HORSE_BIRD).class_names == ('bird', 'horse')


# ----------------------------------------------------------------------------
# Lines.

def fake_lines_module():
    """Stands in for acai.lib.lines: image of class k is constant k / 10."""
    def images(n, offset=0):
        labels = (np.arange(n) + offset) % 10
        x = np.ones((n, 32, 32, 1), np.float32) * (labels / 10.0)[:, None, None, None]
        return x.astype(np.float32), labels.astype(np.int64)

    module = types.ModuleType('fake_lines')

    def train_batches(batch_size, height=32, width=32, seed=None, start=0):
        x, y = images(1000, offset=seed or 0)
        return tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(
            batch_size, drop_remainder=True).skip(start)

    def test_dataset(height=32, width=32):
        return tf.data.Dataset.from_tensor_slices(images(50))

    module.train_batches, module.test_dataset = train_batches, test_dataset
    return module


def test_lines32_fake(monkeypatch):
    monkeypatch.setattr(data.lines32, 'lines', fake_lines_module())
    spec = data.get_dataset('lines32')
    assert (spec.colors, spec.nclass) == (1, 10)
    assert spec.class_names == tuple('angle%d' % i for i in range(10))
    for x, y in batches(spec.train(16, seed=0), 3):
        check_batch(spec, x, y, 16)
    assert len(concat(batches(spec.test(16)))[1]) == 50
    two = data.get_dataset('lines32', classes='angle3,1')
    assert two.class_names == ('angle3', 'angle1')
    for x, y in batches(two.train(8, seed=0), 3):
        assert x.shape == (8, 32, 32, 1)
        np.testing.assert_allclose(x[:, 0, 0, 0], np.where(y == 0, 0.3, 0.1), rtol=1e-6)
    x, y = concat(batches(two.test(4)))
    assert len(y) == 10 and set(y.tolist()) == {0, 1}


def test_lines32_real():
    spec = data.get_dataset('lines32', classes=[0, 5])
    x, y = batches(spec.train(8, seed=0), 1)[0]
    check_batch(spec, x, y, 8)
    x, y = batches(spec.test(64), 1)[0]
    check_batch(spec, x, y)


def images_in(folder, count, mode="RGB", start=0):
    import numpy as np
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(start)
    channels = {"RGB": 3, "L": 1}[mode]
    for i in range(start, start + count):
        pixels = rng.integers(0, 256, (32, 32, channels), dtype=np.uint8)
        Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(
            os.path.join(folder, f"{i:03d}.png"))


def test_one_grey_file_first_does_not_turn_a_colour_folder_grey(tmp_path, caplog):
    images_in(tmp_path / "a", 1, "L")  # 000.png, the first file: grey.
    images_in(tmp_path / "a", 20, "RGB", start=1)
    images_in(tmp_path / "b", 20, "RGB")
    spec = data.get_dataset(f"folder:{tmp_path}")
    assert spec.colors == 3
    assert "1 of its 41 images are grey and the others colour" in caplog.text
    images_in(tmp_path / "grey" / "a", 3, "L")
    assert data.get_dataset(f"folder:{tmp_path / 'grey'}").colors == 1


def test_a_symlinked_or_dangling_class_folder_is_one_line(tmp_path):
    images_in(tmp_path / "a", 12)
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(data.DatasetUnavailable, match=r"class folders .*/a and .*/b are the "
                                                       r"same folder"):
        data.get_dataset(f"folder:{tmp_path}")
    os.remove(tmp_path / "b")
    os.symlink(tmp_path / "gone", tmp_path / "b")
    with pytest.raises(data.DatasetUnavailable, match=r"class folder .*/b is a symbolic link "
                                                       r"to .*/gone, which does not exist"):
        data.get_dataset(f"folder:{tmp_path}")


def test_an_empty_test_split_and_a_class_of_one_image(tmp_path):
    images_in(tmp_path / "train" / "a", 5)
    os.makedirs(tmp_path / "test" / "a")
    with pytest.raises(data.DatasetUnavailable, match=r"its test split holds no images"):
        data.get_dataset(f"folder:{tmp_path}")
    images_in(tmp_path / "flat" / "a", 12)
    images_in(tmp_path / "flat" / "one", 1)  # A class of one image: kept for training.
    spec = data.get_dataset(f"folder:{tmp_path / 'flat'}")
    labels = [int(y) for _, y in spec.train_once(64).unbatch()]
    assert labels.count(1) == 1 and labels.count(0) == 10


def test_a_file_name_that_is_not_utf8_trains_and_is_named_when_unreadable(tmp_path):
    folder = os.fsencode(tmp_path / "a")
    images_in(tmp_path / "a", 12)
    os.rename(os.path.join(folder, b"003.png"), os.path.join(folder, b"caf\xe9.png"))
    spec = data.get_dataset(f"folder:{tmp_path}")
    assert sum(1 for _ in spec.train_once(64).unbatch()) + sum(
        1 for _ in spec.test(64).unbatch()) == 12
    with open(os.path.join(folder, b"caf\xe9.png"), "wb") as f:
        f.write(b"not an image")
    with pytest.raises(data.DatasetUnavailable, match=r"unreadable image file\(s\): .*/a/"
                                                       r"caf\\xe9.png"):
        data.get_dataset(f"folder:{tmp_path}")


def test_a_folder_of_thirty_photos_trains_and_says_what_it_repeats(tmp_path, caplog):
    """3 classes of 10 images, a student's first dataset: 3 test images (every 10th is
    held out) where a report's grids show 96. It trains, evaluates the probe on the 3,
    draws the grids from them repeated, and says so in the log."""
    import logging
    from acai import api
    from conftest import SMALL
    for label, value in enumerate((0, 128, 255)):
        for i in range(10):
            write_png(tmp_path / "photos" / f"class{label}" / f"{i:02d}.png",
                      (value + 7 * i) % 256)
    model = api.create("baseline", (32, 32, 3), nclass=3, **SMALL)
    with caplog.at_level(logging.WARNING):
        scalars = api.train(model, f"folder:{tmp_path / 'photos'}", tmp_path / "exp",
                            total_kimg=1, report_kimg=1, batch=32)
    assert 0 <= scalars["latent_accuracy"] <= 100
    assert ("the test split of folder:" in caplog.text
            and "has 3 images, fewer than the 96 its grids show: they are shown repeated"
            in caplog.text)
    images = list((tmp_path / "exp").glob("*/*/images/*.png"))
    assert {p.name.split("_")[0] for p in images} >= {"reconstruction", "interpolation",
                                                       "samples"}

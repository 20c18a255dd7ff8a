"""The lines benchmark: the drawing, the data pipeline and the paper's two metrics."""

import math

import numpy as np
import pytest

from acai.lib import lines

TWO_PI = 2 * math.pi


def lit_direction(image):
    """Angle (math convention, y up) of the farthest lit pixels seen from the centre."""
    rows, cols = np.nonzero(image[..., 0] > 0)
    dy, dx = -(rows + 0.5 - 16), cols + 0.5 - 16
    tip = np.hypot(dx, dy) > 12
    return math.atan2(dy[tip].mean(), dx[tip].mean())


@pytest.mark.parametrize("angle", [0.0, 0.4, math.pi / 2, 2.0, math.pi, 4.0, 5.5, 6.2])
def test_draw_line_points_at_its_angle(angle):
    image = lines.draw_line(angle)
    assert image.shape == (32, 32, 1)
    assert image.min() == -1.0 and image.max() == 1.0
    assert np.all((image >= -1) & (image <= 1))
    error = (lit_direction(image) - angle + math.pi) % TWO_PI - math.pi
    assert abs(error) < 0.1
    # The line runs from the centre to the border: its lit pixels reach radius ~15.
    rows, cols = np.nonzero(image[..., 0] > 0)
    radius = np.hypot(rows + 0.5 - 16, cols + 0.5 - 16)
    assert radius.max() > 13.5 and radius.min() < 2
    # Width 2: a line covers about 2 pixels per step of its length, not a blob.
    assert 20 < np.sum((image + 1) / 2) < 45


def test_draw_line_is_anti_aliased_and_matches_the_batch_renderer():
    image = lines.draw_line(0.3)
    partial = (image > -1) & (image < 1)
    assert partial.sum() > 5
    batch = lines.render_lines(np.array([0.3, 1.0])).numpy()
    np.testing.assert_allclose(batch[0], image, atol=1e-6)
    assert not np.allclose(batch[1], image)


def test_labels_are_tenths_of_the_circle():
    angles = np.array([0.0, 0.1, TWO_PI / 10 + 1e-3, math.pi, TWO_PI - 1e-4])
    np.testing.assert_array_equal(lines.angle_label(angles).numpy(), [0, 0, 1, 5, 9])


def test_train_batches_are_reproducible_and_differ_between_seeds():
    first = next(iter(lines.train_batches(16, seed=3)))
    again = next(iter(lines.train_batches(16, seed=3)))
    other = next(iter(lines.train_batches(16, seed=4)))
    assert first[0].shape == (16, 32, 32, 1) and first[1].shape == (16,)
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])
    assert set(first[1].numpy()) <= set(range(10))


def test_test_split_is_fixed():
    a = [x for x, _ in lines.test_dataset().batch(5000)][0].numpy()
    b = [x for x, _ in lines.test_dataset().batch(5000)][0].numpy()
    assert a.shape == (5000, 32, 32, 1)
    np.testing.assert_array_equal(a, b)


def sweep(start, end, steps=16):
    """Interpolations drawn as real lines at evenly spaced angles: the ideal."""
    t = np.linspace(0, 1, steps)
    angles = start[:, None] * (1 - t) + end[:, None] * t
    images = lines.render_lines(angles.reshape(-1)).numpy()
    return images.reshape((len(start), steps, 32, 32, 1))


def test_line_eval_perfect_interpolations_score_zero():
    rng = np.random.RandomState(0)
    start = rng.uniform(0, TWO_PI, 64)
    end = start + rng.choice([-1, 1], 64) * rng.uniform(0.5, 3.0, 64)
    distance, smoothness = lines.line_eval(sweep(start, end))
    assert distance < 1e-4
    assert abs(smoothness) < 0.02


def test_line_eval_cross_fades_score_badly():
    rng = np.random.RandomState(1)
    start = rng.uniform(0, TWO_PI, 64)
    end = start + rng.choice([-1, 1], 64) * rng.uniform(0.5, 3.0, 64)
    ideal = sweep(start, end)
    t = np.linspace(0, 1, 16)[None, :, None, None, None]
    fade = (1 - t) * ideal[:, :1] + t * ideal[:, -1:]
    good_distance, good_smoothness = lines.line_eval(ideal)
    distance, smoothness = lines.line_eval(fade)
    assert distance > 20 * max(good_distance, 1e-5)
    assert smoothness > 0.3 > good_smoothness + 0.25


def test_smoothness_of_a_jump_and_of_constant_angles():
    jump = np.array([[0.0] * 8 + [1.0] * 8])
    assert lines.smoothness(jump)[0] == pytest.approx(1 - 1 / 15)
    assert np.isnan(lines.smoothness(np.zeros((1, 16)))[0])
    # The paper's mean counts undefined interpolations as 0, and is NaN if all are.
    ideal = sweep(np.array([0.5, 1.0]), np.array([0.5, 2.0]))
    assert np.isfinite(lines.line_eval(ideal)[1])
    assert np.isnan(lines.line_eval(ideal[:1])[1])


def test_closest_line_finds_the_angle():
    angles = np.array([0.123, 1.9, 3.3, 6.0])
    distance, found = lines.closest_line(lines.render_lines(angles).numpy())
    np.testing.assert_allclose(found, angles, atol=TWO_PI / 10000)
    assert np.all(distance < 1e-3)
    noise = np.random.RandomState(0).uniform(-1, 1, (4, 32, 32, 1))
    assert np.all(lines.closest_line(noise)[0] > 0.5)

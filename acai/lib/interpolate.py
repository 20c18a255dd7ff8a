"""Paths between two latent codes: linear (lerp) and spherical (slerp) interpolation."""

import numpy as np


def lerp(z0, z1, steps):
    """(N, ...) x (N, ...) -> (N, steps, ...): (1 - t) z0 + t z1 for t in [0, 1]."""
    z0, z1 = np.asarray(z0, np.float32), np.asarray(z1, np.float32)
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32).reshape((1, steps) + (1,) * (z0.ndim - 1))
    return (1 - t) * z0[:, None] + t * z1[:, None]


def slerp(z0, z1, steps):
    """Spherical interpolation along the great circle from z0 to z1, per pair of codes.

    Falls back to lerp where the two codes are (anti-)parallel and the arc is undefined.
    """
    z0, z1 = np.asarray(z0, np.float32), np.asarray(z1, np.float32)
    shape = (z0.shape[0], 1) + (1,) * (z0.ndim - 1)
    flat0, flat1 = z0.reshape(z0.shape[0], -1), z1.reshape(z1.shape[0], -1)
    cosine = np.sum(flat0 * flat1, 1) / np.sqrt(np.sum(flat0**2, 1) * np.sum(flat1**2, 1))
    omega = np.arccos(np.clip(cosine, -1.0, 1.0)).reshape(shape)
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32).reshape((1, steps) + (1,) * (z0.ndim - 1))
    sin_omega = np.sin(omega)
    safe = np.abs(sin_omega) > 1e-6
    w0 = np.where(safe, np.sin((1 - t) * omega) / np.where(safe, sin_omega, 1), 1 - t)
    w1 = np.where(safe, np.sin(t * omega) / np.where(safe, sin_omega, 1), t)
    return (w0 * z0[:, None] + w1 * z1[:, None]).astype(np.float32)

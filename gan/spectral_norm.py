"""Spectral normalisation as Miyato, Kataoka, Koyama & Yoshida (2018) define it.

A weight layer computes with W / sigma(W), where sigma(W) = v W u^T is the largest
singular value of W (as a matrix: inputs x outputs) estimated with unit vectors u and v
that one step of power iteration refines at each update of the discriminator. In the
forward pass u and v are constants, so the gradient with respect to the raw W includes
the sigma term:
    dL/dW = (G - <G, W/sigma> v^T u) / sigma,   G = dL/d(W/sigma)
and the optimiser updates the raw W.

keras.layers.SpectralNormalization does something else (keras-team/keras#20309,
tensorflow/addons#1244): at every call in training mode it writes W / sigma into the
kernel variable, so no gradient flows through sigma, and the generator's step, which calls
D in training mode, renormalises D and advances its power iteration too. Here the power
iteration runs only when the discriminator's update calls `power_iteration()`.

Mixed precision: sigma and W / sigma are computed in float32 from the float32 variables
(the kernel, u and v are not autocast), then cast to the layer's compute dtype.
Under tf.distribute, u and v are written by the first replica only (every replica holds
the same W, so they would write the same values).
"""

import keras
from keras import ops

from acai.lib.keras_compat import all_layers

# Power iterations run when a layer is built, so that sigma is right from the first call.
INITIAL_ITERATIONS = 20
EPSILON = 1e-12


def _l2_normalize(x):
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x)), EPSILON))


class SpectralNormalized:
    """What the spectrally normalised layers share: u, v, the power iteration, sigma.
    Mixed into a Keras weight layer (before it in the bases); sn_seed seeds u and v."""

    def __init__(self, *args, sn_seed=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sn_seed = sn_seed

    def build(self, input_shape):
        super().build(input_shape)
        self.build_spectral_norm()

    def get_config(self):
        return dict(super().get_config(), sn_seed=self.sn_seed)

    # Keras' saving (.keras, .weights.h5, BackupAndRestore, ModelCheckpoint): Conv2D's and
    # Dense's own keep the kernel and bias only; u and v are the layer's state too, so the
    # layer saves and loads as any Keras layer does, every variable in order.
    def save_own_variables(self, store):
        keras.layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store):
        keras.layers.Layer.load_own_variables(self, store)

    def add_weight(self, *args, **kwargs):
        if kwargs.get("name") == "kernel":  # Read in float32; normalized_kernel casts.
            kwargs["autocast"] = False
        return super().add_weight(*args, **kwargs)

    def build_spectral_norm(self):
        rows, columns = self._matrix().shape
        normal = keras.initializers.RandomNormal(stddev=1.0, seed=self.sn_seed)
        self.sn_u = self.add_weight(name="sn_u", shape=(1, columns), initializer=normal,
                                    trainable=False, autocast=False,
                                    aggregation="only_first_replica")
        self.sn_v = self.add_weight(name="sn_v", shape=(1, rows), initializer=normal,
                                    trainable=False, autocast=False,
                                    aggregation="only_first_replica")
        for _ in range(INITIAL_ITERATIONS):
            self.power_iteration()

    def _matrix(self):
        """The raw kernel as an (inputs, outputs) float32 matrix."""
        kernel = ops.cast(self._kernel, "float32")
        return ops.reshape(kernel, (-1, kernel.shape[-1]))

    def power_iteration(self):
        """One step: v <- W u / |W u|, u <- W^T v / |W^T v| (with W as (in, out))."""
        w = self._matrix()
        v = _l2_normalize(ops.matmul(self.sn_u, ops.transpose(w)))
        u = _l2_normalize(ops.matmul(v, w))
        self.sn_v.assign(v)
        self.sn_u.assign(u)

    def sigma(self):
        """v W u^T: the largest singular value of W as the power iteration knows it; u
        and v are constants for the gradient."""
        u, v = ops.stop_gradient(self.sn_u), ops.stop_gradient(self.sn_v)
        return ops.sum(ops.matmul(v, self._matrix()) * u)

    def normalized_kernel(self):
        """W / sigma(W) in the layer's compute dtype."""
        kernel = ops.cast(self._kernel, "float32") / self.sigma()
        return ops.cast(kernel, self.compute_dtype)

    def _finish(self, outputs):
        if self.bias is not None:
            outputs = ops.add(outputs, ops.cast(self.bias, self.compute_dtype))
        return self.activation(outputs) if self.activation is not None else outputs


@keras.saving.register_keras_serializable(package="gan")
class SNConv2D(SpectralNormalized, keras.layers.Conv2D):
    """keras.layers.Conv2D computing with W / sigma(W) (channels last)."""

    def call(self, inputs):
        return self._finish(self.convolution_op(inputs, self.normalized_kernel()))


@keras.saving.register_keras_serializable(package="gan")
class SNDense(SpectralNormalized, keras.layers.Dense):
    """keras.layers.Dense computing with W / sigma(W)."""

    def call(self, inputs, training=None):
        return self._finish(ops.matmul(inputs, self.normalized_kernel()))


def spectral_layers(model):
    """The spectrally normalised layers of a Keras model (in its sub-models too)."""
    return [layer for layer in all_layers(model) if isinstance(layer, SpectralNormalized)]

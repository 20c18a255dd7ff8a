"""The DCGAN step of benchmarks/peers.py in bare TensorFlow, PyTorch and JAX, each started
from the toolkit's weights.

The toolkit's DCGAN (gan.models.dcgan) at its defaults for 32x32x3 images: G, z (100) ->
dense to 4x4x256 -> batch norm, ReLU -> transposed 5x5 convolutions of stride 2 (128, 64,
with batch norm and ReLU; then 3) -> tanh; D, 5x5 convolutions of stride 2 (64, 128, 256;
batch norm on the last two) with leaky ReLU 0.2 -> a dense logit. A step: D on a real
batch and G(z) (G held fixed, D's two batches normalised apart, as the toolkit calls D
twice), then G on a new G(z) (D held fixed); each its own Adam (2e-4, beta_1 0.5).
TensorFlow's "same" padding of a 5x5 kernel at stride 2 pads 1 before and 2 after: the
peers pad so, and crop their transposed convolutions' full output the same way.
The images are uniform noise in [-1, 1]: a step's speed does not depend on them.
"""

import numpy as np

SHAPE = (32, 32, 3)
CONFIG = dict(depth=64, z_dim=100, seed=0)
LR, BETA_1, BETA_2, EPSILON = 2e-4, 0.5, 0.999, 1e-7
SLOPE, BN_MOMENTUM, BN_EPSILON = 0.2, 0.9, 1e-5


def toolkit_model():
    from gan.models.dcgan import DCGAN
    model = DCGAN(SHAPE, 0, **CONFIG)
    model.compile()
    return model


def images(batch, count=32, seed=0):
    """`count` batches of uniform noise images in [-1, 1], as numpy."""
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-1, 1, (batch,) + SHAPE).astype(np.float32),) for _ in range(count)]


def layer_weights(network):
    """[(kind, [arrays])] of a Keras network's weight layers, in order: kind 'dense',
    'deconv', 'conv' or 'bn' (gamma, beta, moving mean, moving variance)."""
    import keras
    kinds = ((keras.layers.Dense, "dense"), (keras.layers.Conv2DTranspose, "deconv"),
             (keras.layers.Conv2D, "conv"), (keras.layers.BatchNormalization, "bn"))
    found = []
    for layer in network.layers:
        for cls, kind in kinds:
            if isinstance(layer, cls):
                found.append((kind, [w.numpy() for w in layer.weights]))
                break
    return found


def flat(layers):
    return [w for _, weights in layers for w in weights]


def unflat(template, weights):
    """The flat weights back into the [(kind, [arrays])] of `template`."""
    found, start = [], 0
    for kind, arrays in template:
        found.append((kind, weights[start:start + len(arrays)]))
        start += len(arrays)
    return found


def toolkit_weights(model):
    return flat(layer_weights(model.generator)) + flat(layer_weights(model.discriminator))


def set_toolkit_weights(model, weights):
    variables = [w for net in (model.generator, model.discriminator) for layer in net.layers
                 for w in layer.weights if layer.weights]
    for variable, value in zip(variables, weights, strict=True):
        variable.assign(value)


def networks(fix):
    """{'generator': [(kind, arrays)], 'discriminator': ...} from a fixture's weights."""
    model = toolkit_model()
    gen, disc = layer_weights(model.generator), layer_weights(model.discriminator)
    count = len(flat(gen))
    return dict(generator=unflat(gen, fix["weights"][:count]),
                discriminator=unflat(disc, fix["weights"][count:]))


def trainable_count(layers):
    """Parameters a step trains: all but batch norm's moving statistics."""
    return sum(int(np.prod(w.shape)) for kind, arrays in layers
               for w in (arrays[:2] if kind == "bn" else arrays))


def toolkit_losses(model, x, z_disc, z_gen):
    """loss_disc and loss_gen of the toolkit's own model on a batch and two z, networks
    in training mode (batch statistics); the weights are left as they were."""
    weights = toolkit_weights(model)
    real = model.disc(x, training=True)
    fake = model.disc(model.generate(z_disc, training=True), training=True)
    losses = dict(loss_disc=float(model.loss_disc(real, fake)),
                  loss_gen=float(model.loss_gen(model.disc(
                      model.generate(z_gen, training=True), training=True))))
    set_toolkit_weights(model, weights)  # Batch norm's moving statistics moved.
    return losses


def fixture(model):
    """What the parent writes: the toolkit's weights, a fixed batch and two fixed z, its
    losses there and the number of parameters a step trains."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (64,) + SHAPE).astype(np.float32)
    z_disc, z_gen = (rng.standard_normal((64, CONFIG["z_dim"])).astype(np.float32)
                     for _ in range(2))
    params = trainable_count(layer_weights(model.generator)) + trainable_count(
        layer_weights(model.discriminator))
    return dict(x=x, z_disc=z_disc, z_gen=z_gen, weights=toolkit_weights(model),
                params=params, losses=toolkit_losses(model, x, z_disc, z_gen))


# --- Bare TensorFlow: the toolkit's Keras networks, a hand-written tf.function step ---
def tf_variant(fix, data):
    import keras
    import tensorflow as tf
    from gan import layers
    gen = layers.generator(CONFIG["z_dim"], SHAPE, 4 * CONFIG["depth"], kernel=5,
                           to_image="deconv")
    d = CONFIG["depth"]
    disc = layers.discriminator(SHAPE, [(5, 2, d), (5, 2, 2 * d), (5, 2, 4 * d)],
                                slope=SLOPE, batch_norm=True)
    count = len(gen.weights)
    gen.set_weights(fix["weights"][:count])
    disc.set_weights(fix["weights"][count:])

    def bce(logits, target):
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
            labels=tf.fill(tf.shape(logits), target), logits=logits))

    def loss_disc(x, z):
        fake = tf.stop_gradient(gen(z, training=True))
        return bce(disc(x, training=True), 1.0) + bce(disc(fake, training=True), 0.0)

    def loss_gen(z):
        return bce(disc(gen(z, training=True), training=True), 1.0)

    losses = dict(loss_disc=float(loss_disc(fix["x"], fix["z_disc"])),
                  loss_gen=float(loss_gen(fix["z_gen"])))
    gen.set_weights(fix["weights"][:count])
    disc.set_weights(fix["weights"][count:])
    opt_gen, opt_disc = (keras.optimizers.Adam(LR, beta_1=BETA_1, beta_2=BETA_2)
                         for _ in range(2))
    opt_gen.build(gen.trainable_variables)
    opt_disc.build(disc.trainable_variables)

    @tf.function
    def step(x):
        batch = tf.shape(x)[0]
        with tf.GradientTape() as tape:
            loss_d = loss_disc(x, tf.random.normal([batch, CONFIG["z_dim"]]))
        variables = disc.trainable_variables
        opt_disc.apply_gradients(zip(tape.gradient(loss_d, variables), variables))
        with tf.GradientTape() as tape:
            loss_g = loss_gen(tf.random.normal([batch, CONFIG["z_dim"]]))
        variables = gen.trainable_variables
        opt_gen.apply_gradients(zip(tape.gradient(loss_g, variables), variables))
        return loss_d

    tensors = [tf.constant(x) for x, in data]

    def run(i):
        loss = step(tensors[i % len(tensors)])
        if i % 50 == 0:
            float(loss)

    params = sum(int(np.prod(w.shape)) for net in (gen, disc) for w in net.trainable_weights)
    threads = (f"TF intra {tf.config.threading.get_intra_op_parallelism_threads()} "
               f"inter {tf.config.threading.get_inter_op_parallelism_threads()} (0: all)")
    return run, losses, params, threads


# --- PyTorch ---------------------------------------------------------------------------
def torch_nets(fix):
    import torch
    from torch import nn
    functional = nn.functional

    def tensor(array):
        return torch.from_numpy(np.ascontiguousarray(array))

    def batch_norm(arrays):
        gamma, beta, mean, var = arrays
        bn = nn.BatchNorm2d(len(gamma), eps=BN_EPSILON, momentum=1 - BN_MOMENTUM)
        for target, value in ((bn.weight, gamma), (bn.bias, beta),
                              (bn.running_mean, mean), (bn.running_var, var)):
            target.data = tensor(value)
        return bn

    def dense(arrays):
        kernel, bias = arrays
        layer = nn.Linear(*kernel.shape)
        layer.weight.data, layer.bias.data = tensor(kernel.T), tensor(bias)
        return layer

    def conv(arrays, transposed):
        kernel, bias = arrays  # HWIO (conv) or HWOI (transposed): channels last two.
        size, channels = kernel.shape[0], kernel.shape[2:]
        cls = nn.ConvTranspose2d if transposed else nn.Conv2d
        layer = cls(*(channels[::-1] if transposed else channels), size, stride=2)
        layer.weight.data = tensor(kernel.transpose(3, 2, 0, 1))
        layer.bias.data = tensor(bias)
        return layer

    class Generator(nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.dense = dense(layers[0][1])
            self.layers = nn.ModuleList(batch_norm(a) if kind == "bn" else conv(a, True)
                                        for kind, a in layers[1:])

        def forward(self, z):
            h = self.dense(z)
            top = h.shape[1] // 16
            h = h.view(-1, 4, 4, top).permute(0, 3, 1, 2)  # Keras' NHWC reshape.
            for layer in self.layers:
                if isinstance(layer, nn.BatchNorm2d):
                    h = functional.relu(layer(h))
                else:
                    size = 2 * h.shape[2]
                    h = layer(h)[:, :, 1:1 + size, 1:1 + size]  # "same": crop 1 before.
            return torch.tanh(h)

    class Discriminator(nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.layers = nn.ModuleList(batch_norm(a) if kind == "bn" else conv(a, False)
                                        for kind, a in layers[:-1])
            self.dense = dense(layers[-1][1])

        def forward(self, x):
            h = x
            for i, layer in enumerate(self.layers):
                if isinstance(layer, nn.Conv2d):
                    h = layer(functional.pad(h, (1, 2, 1, 2)))  # "same" at stride 2.
                else:
                    h = layer(h)
                following = self.layers[i + 1] if i + 1 < len(self.layers) else None
                if not isinstance(following, nn.BatchNorm2d):
                    h = functional.leaky_relu(h, SLOPE)
            return self.dense(h.permute(0, 2, 3, 1).flatten(1))[:, 0]

    nets = networks(fix)
    return Generator(nets["generator"]), Discriminator(nets["discriminator"])


def torch_variant(fix, data, compile_step=False):
    import torch
    functional = torch.nn.functional
    gen, disc = torch_nets(fix)

    def bce(logits, target):
        return functional.binary_cross_entropy_with_logits(
            logits, torch.full_like(logits, target))

    def loss_disc(x, z):
        with torch.no_grad():
            fake = gen(z)
        return bce(disc(x), 1.0) + bce(disc(fake), 0.0)

    def loss_gen(z):
        return bce(disc(gen(z)), 1.0)

    def nchw(array):
        return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))

    state = {k: v.clone() for k, v in list(gen.state_dict().items())
             + [("d." + k, v) for k, v in disc.state_dict().items()]}
    with torch.no_grad():
        losses = dict(loss_disc=float(loss_disc(nchw(fix["x"]), torch.from_numpy(fix["z_disc"]))),
                      loss_gen=float(loss_gen(torch.from_numpy(fix["z_gen"]))))
    gen.load_state_dict({k: v for k, v in state.items() if not k.startswith("d.")})
    disc.load_state_dict({k[2:]: v for k, v in state.items() if k.startswith("d.")})
    opt_gen, opt_disc = (torch.optim.Adam(net.parameters(), lr=LR, betas=(BETA_1, BETA_2),
                                          eps=EPSILON) for net in (gen, disc))
    z_dim = CONFIG["z_dim"]

    def step(x):
        opt_disc.zero_grad(set_to_none=True)
        loss_d = loss_disc(x, torch.randn(x.shape[0], z_dim))
        loss_d.backward()
        opt_disc.step()
        opt_gen.zero_grad(set_to_none=True)
        loss_g = loss_gen(torch.randn(x.shape[0], z_dim))
        # D's gradients from G's loss are not applied (D held fixed): only G steps.
        grads = torch.autograd.grad(loss_g, list(gen.parameters()))
        for parameter, grad in zip(gen.parameters(), grads):
            parameter.grad = grad
        opt_gen.step()
        return loss_d

    if compile_step:
        step = torch.compile(step)
    batches = [nchw(x) for x, in data]

    def run(i):
        loss = step(batches[i % len(batches)])
        if i % 50 == 0:
            float(loss)

    params = sum(p.numel() for net in (gen, disc) for p in net.parameters())
    return (run, losses, params, f"torch {torch.get_num_threads()} threads (interop "
            f"{torch.get_num_interop_threads()})")


def torch_compile_variant(fix, data):
    return torch_variant(fix, data, compile_step=True)


# --- JAX ---------------------------------------------------------------------------------
def jax_variant(fix, data):
    import jax
    import jax.numpy as jnp
    nets = networks(fix)
    same = ((1, 2), (1, 2))  # TensorFlow's "same" for a 5x5 kernel at stride 2.

    def split(layers):
        """-> (trainable [[arrays]], moving statistics {index: (mean, var)})."""
        params = [[jnp.asarray(a) for a in (arrays[:2] if kind == "bn" else arrays)]
                  for kind, arrays in layers]
        moving = {i: (jnp.asarray(a[2]), jnp.asarray(a[3]))
                  for i, (kind, a) in enumerate(layers) if kind == "bn"}
        return params, moving

    kinds = {net: [kind for kind, _ in layers] for net, layers in nets.items()}

    def batch_norm(h, gamma, beta, stats):
        mean, var = h.mean(axis=(0, 1, 2)), h.var(axis=(0, 1, 2))
        out = (h - mean) / jnp.sqrt(var + BN_EPSILON) * gamma + beta
        moving_mean, moving_var = stats
        return out, (BN_MOMENTUM * moving_mean + (1 - BN_MOMENTUM) * mean,
                     BN_MOMENTUM * moving_var + (1 - BN_MOMENTUM) * var)

    def generator(params, moving, z):
        new_moving, h = dict(moving), None
        for i, kind in enumerate(kinds["generator"]):
            if kind == "dense":
                kernel, bias = params[i]
                h = (z @ kernel + bias).reshape(z.shape[0], 4, 4, -1)
            elif kind == "bn":
                h, new_moving[i] = batch_norm(h, *params[i], moving[i])
                h = jax.nn.relu(h)
            else:  # Transposed: a convolution of the 2x-dilated input, kernel flipped.
                kernel, bias = params[i]
                flipped = kernel[::-1, ::-1].transpose(0, 1, 3, 2)
                h = jax.lax.conv_general_dilated(
                    h, flipped, (1, 1), ((3, 2), (3, 2)), lhs_dilation=(2, 2),
                    dimension_numbers=("NHWC", "HWIO", "NHWC")) + bias
        return jnp.tanh(h), new_moving

    def discriminator(params, moving, x):
        new_moving, h, layers = dict(moving), x, kinds["discriminator"]
        for i, kind in enumerate(layers):
            if kind == "conv":
                kernel, bias = params[i]
                h = jax.lax.conv_general_dilated(
                    h, kernel, (2, 2), same, dimension_numbers=("NHWC", "HWIO", "NHWC")) + bias
            elif kind == "bn":
                h, new_moving[i] = batch_norm(h, *params[i], moving[i])
            else:
                kernel, bias = params[i]
                return (h.reshape(h.shape[0], -1) @ kernel + bias)[:, 0], new_moving
            if i + 1 < len(layers) and layers[i + 1] != "bn":
                h = jnp.where(h > 0, h, SLOPE * h)

    def bce(logits, target):
        return jnp.mean(jnp.maximum(logits, 0) - logits * target
                        + jnp.log1p(jnp.exp(-jnp.abs(logits))))

    def loss_disc(d_params, state, x, z):
        fake, _ = generator(state["gen"], state["gen_moving"], z)
        real_out, moving = discriminator(d_params, state["disc_moving"], x)
        fake_out, moving = discriminator(d_params, moving, jax.lax.stop_gradient(fake))
        return bce(real_out, 1.0) + bce(fake_out, 0.0), moving

    def loss_gen(g_params, state, z):
        fake, gen_moving = generator(g_params, state["gen_moving"], z)
        out, disc_moving = discriminator(state["disc"], state["disc_moving"], fake)
        return bce(out, 1.0), (gen_moving, disc_moving)

    def adam(params, grads, moments, t):
        m, v = moments
        m = jax.tree_util.tree_map(lambda m, g: BETA_1 * m + (1 - BETA_1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: BETA_2 * v + (1 - BETA_2) * g * g, v, grads)
        rate = LR * jnp.sqrt(1 - BETA_2 ** t) / (1 - BETA_1 ** t)
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - rate * m / (jnp.sqrt(v) + EPSILON), params, m, v)
        return params, (m, v)

    @jax.jit
    def step(state, t, x, key):
        key_d, key_g = jax.random.split(key)
        z_dim, batch = CONFIG["z_dim"], x.shape[0]
        (loss_d, moving), grads = jax.value_and_grad(loss_disc, has_aux=True)(
            state["disc"], state, x, jax.random.normal(key_d, (batch, z_dim)))
        disc, disc_moments = adam(state["disc"], grads, state["disc_moments"], t)
        state = dict(state, disc=disc, disc_moments=disc_moments, disc_moving=moving)
        (_, (gen_moving, disc_moving)), grads = jax.value_and_grad(loss_gen, has_aux=True)(
            state["gen"], state, jax.random.normal(key_g, (batch, z_dim)))
        gen, gen_moments = adam(state["gen"], grads, state["gen_moments"], t)
        return dict(state, gen=gen, gen_moments=gen_moments, gen_moving=gen_moving,
                    disc_moving=disc_moving), loss_d

    gen_params, gen_moving = split(nets["generator"])
    disc_params, disc_moving = split(nets["discriminator"])

    def zeros(tree):
        return (jax.tree_util.tree_map(jnp.zeros_like, tree),
                jax.tree_util.tree_map(jnp.zeros_like, tree))

    state = dict(gen=gen_params, gen_moving=gen_moving, gen_moments=zeros(gen_params),
                 disc=disc_params, disc_moving=disc_moving, disc_moments=zeros(disc_params))
    losses = dict(loss_disc=float(loss_disc(disc_params, state, jnp.asarray(fix["x"]),
                                            jnp.asarray(fix["z_disc"]))[0]),
                  loss_gen=float(loss_gen(gen_params, state, jnp.asarray(fix["z_gen"]))[0]))
    arrays = [jnp.asarray(x) for x, in data]
    holder = {"state": state, "key": jax.random.PRNGKey(0)}

    def run(i):
        holder["key"], key = jax.random.split(holder["key"])
        holder["state"], loss = step(holder["state"], float(i + 1), arrays[i % len(arrays)],
                                     key)
        if i % 50 == 0:
            float(loss)
        else:
            loss.block_until_ready()

    count = sum(int(np.prod(w.shape)) for w in jax.tree_util.tree_leaves(
        (gen_params, disc_params)))
    return run, losses, count, f"JAX (XLA CPU) {jax.device_count()} device, its own pool"

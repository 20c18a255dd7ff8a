"""The networks and steps of benchmarks/peers.py: the paper's lines autoencoder (and ACAI's
critic) in bare TensorFlow, PyTorch and JAX, each started from the toolkit's weights.

A network is given by the toolkit's weights, in order: for each convolution its kernel
(HWIO) and bias; the encoder's first and last convolutions are linear, the others leaky
ReLU (0.2); the encoder pools (2x2 average) after each pair of its scale convolutions, the
decoder upsamples (nearest) after each pair. The critic is the encoder, averaged to one
scalar; the probe is one dense layer on the flattened (NHWC) stop-gradient code.
"""

import numpy as np

SLOPE = 0.2
NETWORKS = ("encoder", "decoder", "critic", "classifier")


def networks_of(name):
    return NETWORKS if name == "acai" else ("encoder", "decoder", "classifier")


# --- The toolkit's side -----------------------------------------------------------------
def toolkit_weights(model):
    """The weights of the model's networks, in the order of NETWORKS, as numpy arrays."""
    return [w.numpy() for net in NETWORKS if getattr(model, net, None) is not None
            for w in getattr(model, net).weights]


def set_toolkit_weights(model, weights):
    variables = [w for net in NETWORKS if getattr(model, net, None) is not None
                 for w in getattr(model, net).weights]
    for variable, value in zip(variables, weights, strict=True):
        variable.assign(value)


def param_count(model):
    return int(sum(np.prod(w.shape) for w in toolkit_weights(model)))


def tf_networks(model):
    return {net: getattr(model, net) for net in NETWORKS if getattr(model, net, None)}


def batches(batch, count=32):
    """`count` batches (x, label) of the lines, as numpy, from the toolkit's pipeline."""
    from acai.lib import data
    stream = iter(data.get_dataset("lines32").train(batch, seed=0))
    return [tuple(t.numpy() for t in next(stream)) for _ in range(count)]


def split_convs(weights):
    """[(kernel, bias)] of a network's convolutions (its weights, in order)."""
    return [(weights[i], weights[i + 1]) for i in range(0, len(weights), 2)]


def network_weights(name, weights):
    """{network: its weights} from the flat list of the toolkit's weights: each
    convolutional network's convolutions are counted from its scales (encoder and critic:
    2 * scales + 3, decoder: 2 * scales + 2)."""
    scales = 4
    sizes = {"encoder": 2 * (2 * scales + 3), "decoder": 2 * (2 * scales + 2),
             "critic": 2 * (2 * scales + 3), "classifier": 2}
    found, start = {}, 0
    for net in networks_of(name):
        found[net] = weights[start:start + sizes[net]]
        start += sizes[net]
    assert start == len(weights), (start, len(weights))
    return found


# --- Bare TensorFlow: the same Keras networks, a hand-written tf.function step ---------
def tf_losses(nets, name, x, label, alpha, reg):
    import tensorflow as tf
    x = tf.cast(x, tf.float32)
    encode = nets["encoder"](x, training=True)
    losses = {}
    if name == "acai":
        mix = tf.reshape(alpha, [-1, 1, 1, 1])
        encode_mix = mix * encode + (1 - mix) * encode[::-1]
        ae, decode_mix = tf.split(nets["decoder"](tf.concat([encode, encode_mix], 0),
                                                  training=True), 2)
        disc_mix = nets["critic"](decode_mix, training=True)
        disc_real = nets["critic"](ae + reg * (x - ae), training=True)
        losses.update(loss_ae_disc=tf.reduce_mean(tf.square(disc_mix)),
                      loss_disc=tf.reduce_mean(tf.square(disc_mix - alpha)),
                      loss_disc_real=tf.reduce_mean(tf.square(disc_real)))
    else:
        ae = nets["decoder"](encode, training=True)
    losses["loss_ae"] = tf.reduce_mean(tf.square(x - ae))
    logits = nets["classifier"](tf.stop_gradient(encode), training=True)
    losses["classify_latent"] = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(label, tf.int64), logits))
    return losses


def tf_variant(name, fix, data):
    """-> (step(i), losses at the fixture, parameter count, threads)."""
    import keras
    import tensorflow as tf
    from acai.lib import layers
    nets = dict(encoder=layers.encoder((32, 32, 1), 4, 16, 16),
                decoder=layers.decoder((2, 2, 16), 4, 16, 1),
                classifier=keras.Sequential([keras.Input((2, 2, 16)), keras.layers.Flatten(),
                                             keras.layers.Dense(10)]))
    if name == "acai":
        nets["critic"] = layers.critic((32, 32, 1), 4, 16, 16)
    for net, weights in network_weights(name, fix["weights"]).items():
        nets[net].set_weights(weights)
    losses = tf_losses(nets, name, fix["x"], fix["label"], fix["alpha"], 0.2)
    groups = {"ae": nets["encoder"].trainable_variables + nets["decoder"].trainable_variables,
              "probe": nets["classifier"].trainable_variables}
    if name == "acai":
        groups["critic"] = nets["critic"].trainable_variables
    optimizers = {group: keras.optimizers.Adam(1e-4) for group in groups}
    for group, variables in groups.items():
        optimizers[group].build(variables)

    @tf.function
    def step(x, label):
        alpha = 0.5 - tf.abs(tf.random.uniform([tf.shape(x)[0]]) - 0.5)
        with tf.GradientTape(persistent=True) as tape:
            out = tf_losses(nets, name, x, label, alpha, 0.2)
            totals = {"ae": out["loss_ae"], "probe": out["classify_latent"]}
            if name == "acai":
                totals["ae"] += 0.5 * out["loss_ae_disc"]
                totals["critic"] = out["loss_disc"] + out["loss_disc_real"]
        for group, variables in groups.items():
            optimizers[group].apply_gradients(
                zip(tape.gradient(totals[group], variables), variables))
        return out

    tensors = [(tf.constant(x), tf.constant(label)) for x, label in data]

    def run(i):
        out = step(*tensors[i % len(tensors)])
        if i % 50 == 0:
            float(out["loss_ae"])  # Like a report of the running loss: a sync point.

    params = sum(int(np.prod(w.shape)) for net in nets.values() for w in net.weights)
    threads = (f"TF intra {tf.config.threading.get_intra_op_parallelism_threads()} "
               f"inter {tf.config.threading.get_inter_op_parallelism_threads()} (0: all)")
    return run, {k: float(v) for k, v in losses.items()}, params, threads


# --- PyTorch ---------------------------------------------------------------------------
def torch_nets(name, fix):
    import torch
    from torch import nn
    nn_f = torch.nn.functional

    class ConvNet(nn.Module):
        """A chain of convolutions from the toolkit's (kernel, bias) pairs: `linear`, the
        indices without an activation; `after`, {index: 'pool' or 'up'} after it."""

        def __init__(self, convs, linear, after):
            super().__init__()
            self.convs = nn.ModuleList()
            for kernel, bias in convs:
                size = kernel.shape[0]
                conv = nn.Conv2d(kernel.shape[2], kernel.shape[3], size, padding=size // 2)
                conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
                conv.bias.data = torch.from_numpy(bias.copy())
                self.convs.append(conv)
            self.linear, self.after = set(linear), after

        def forward(self, h):
            for i, conv in enumerate(self.convs):
                h = conv(h)
                if i not in self.linear:
                    h = nn_f.leaky_relu(h, SLOPE)
                if self.after.get(i) == "pool":
                    h = nn_f.avg_pool2d(h, 2)
                elif self.after.get(i) == "up":
                    h = nn_f.interpolate(h, scale_factor=2, mode="nearest")
            return h

    weights = network_weights(name, fix["weights"])
    pools = {2 + 2 * s: "pool" for s in range(4)}
    nets = {"encoder": ConvNet(split_convs(weights["encoder"]), {0, 10}, pools),
            "decoder": ConvNet(split_convs(weights["decoder"]), {9},
                               {1 + 2 * s: "up" for s in range(4)})}
    if name == "acai":
        nets["critic"] = ConvNet(split_convs(weights["critic"]), {0, 10}, pools)
    kernel, bias = weights["classifier"]
    probe = nn.Linear(kernel.shape[0], kernel.shape[1])
    probe.weight.data = torch.from_numpy(kernel.T.copy())
    probe.bias.data = torch.from_numpy(bias.copy())
    nets["classifier"] = probe
    return nets


def torch_losses(nets, name, x, label, alpha, reg=0.2):
    """x: NCHW."""
    import torch
    encode = nets["encoder"](x)
    losses = {}
    if name == "acai":
        mix = alpha.view(-1, 1, 1, 1)
        encode_mix = mix * encode + (1 - mix) * encode.flip(0)
        ae, decode_mix = nets["decoder"](torch.cat([encode, encode_mix])).chunk(2)
        disc_mix = nets["critic"](decode_mix).mean(dim=(1, 2, 3))
        disc_real = nets["critic"](ae + reg * (x - ae)).mean(dim=(1, 2, 3))
        losses.update(loss_ae_disc=disc_mix.square().mean(),
                      loss_disc=(disc_mix - alpha).square().mean(),
                      loss_disc_real=disc_real.square().mean())
    else:
        ae = nets["decoder"](encode)
    losses["loss_ae"] = (x - ae).square().mean()
    code = encode.detach().permute(0, 2, 3, 1).flatten(1)  # NHWC order, as Keras'.
    losses["classify_latent"] = torch.nn.functional.cross_entropy(nets["classifier"](code),
                                                                  label)
    return losses


def torch_variant(name, fix, data, compile_step=False):
    import torch
    nets = torch_nets(name, fix)
    nchw = [(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()),
             torch.from_numpy(label.astype(np.int64))) for x, label in data]
    x0 = torch.from_numpy(fix["x"].transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        losses = torch_losses(nets, name, x0, torch.from_numpy(fix["label"].astype(np.int64)),
                              torch.from_numpy(fix["alpha"]))
    groups = {"ae": list(nets["encoder"].parameters()) + list(nets["decoder"].parameters()),
              "probe": list(nets["classifier"].parameters())}
    if name == "acai":
        groups["critic"] = list(nets["critic"].parameters())
    optimizers = {g: torch.optim.Adam(v, lr=1e-4, eps=1e-7) for g, v in groups.items()}

    def step(x, label):
        alpha = 0.5 - (torch.rand(x.shape[0]) - 0.5).abs()
        out = torch_losses(nets, name, x, label, alpha)
        totals = {"ae": out["loss_ae"], "probe": out["classify_latent"]}
        if name == "acai":
            totals["ae"] = totals["ae"] + 0.5 * out["loss_ae_disc"]
            totals["critic"] = out["loss_disc"] + out["loss_disc_real"]
        for optimizer in optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        # Each total differentiated for its own parameters only, as the toolkit's tapes.
        for group, total in totals.items():
            grads = torch.autograd.grad(total, groups[group], retain_graph=True)
            for parameter, grad in zip(groups[group], grads):
                parameter.grad = grad
        for optimizer in optimizers.values():
            optimizer.step()
        return out["loss_ae"]

    if compile_step:
        step = torch.compile(step)

    def run(i):
        loss = step(*nchw[i % len(nchw)])
        if i % 50 == 0:
            float(loss)

    params = sum(p.numel() for net in nets.values() for p in net.parameters())
    return (run, {k: float(v) for k, v in losses.items()}, params,
            f"torch {torch.get_num_threads()} threads (interop "
            f"{torch.get_num_interop_threads()})")


def torch_compile_variant(name, fix, data):
    return torch_variant(name, fix, data, compile_step=True)


def jax_variant(name, fix, data):
    from peers_jax import jax_variant as variant
    return variant(name, fix, data, network_weights(name, fix["weights"]))


def versions():
    """'TensorFlow x, Keras y, PyTorch z, JAX w' of what is installed."""
    found = []
    for package, label in (("tensorflow", "TensorFlow"), ("keras", "Keras"),
                           ("torch", "PyTorch"), ("jax", "JAX")):
        try:
            found.append(f"{label} {__import__(package).__version__}")
        except ImportError:
            found.append(f"{label} not installed")
    return "; ".join(found)

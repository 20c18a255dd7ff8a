"""The lines autoencoder (and ACAI's critic) in JAX for benchmarks/peers.py: the same
networks as peers_nets' (NHWC, HWIO kernels: the toolkit's weights as they are), the
step jax.jit'ed, Adam written out as Keras computes it."""

import numpy as np

SLOPE = 0.2


def jax_variant(name, fix, data, weights):
    """-> (step(i), losses at the fixture, parameter count, threads)."""
    import jax
    import jax.numpy as jnp

    def conv_net(params, h, linear, after):
        for i, (kernel, bias) in enumerate(params):
            h = jax.lax.conv_general_dilated(h, kernel, (1, 1), "SAME",
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
            h = h + bias
            if i not in linear:
                h = jnp.where(h > 0, h, SLOPE * h)
            if after.get(i) == "pool":
                n, height, width, c = h.shape
                h = h.reshape(n, height // 2, 2, width // 2, 2, c).mean(axis=(2, 4))
            elif after.get(i) == "up":
                h = jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)
        return h

    pools = {2 + 2 * s: "pool" for s in range(4)}
    ups = {1 + 2 * s: "up" for s in range(4)}

    def encoder(p, x):
        return conv_net(p, x, {0, 10}, pools)

    def decoder(p, z):
        return conv_net(p, z, {9}, ups)

    def losses_of(params, x, label, alpha, reg=0.2):
        encode = encoder(params["encoder"], x)
        out = {}
        if name == "acai":
            mix = alpha.reshape(-1, 1, 1, 1)
            encode_mix = mix * encode + (1 - mix) * encode[::-1]
            both = decoder(params["decoder"], jnp.concatenate([encode, encode_mix]))
            ae, decode_mix = jnp.split(both, 2)
            disc_mix = encoder(params["critic"], decode_mix).mean(axis=(1, 2, 3))
            disc_real = encoder(params["critic"], ae + reg * (x - ae)).mean(axis=(1, 2, 3))
            out.update(loss_ae_disc=jnp.mean(disc_mix ** 2),
                       loss_disc=jnp.mean((disc_mix - alpha) ** 2),
                       loss_disc_real=jnp.mean(disc_real ** 2))
        else:
            ae = decoder(params["decoder"], encode)
        out["loss_ae"] = jnp.mean((x - ae) ** 2)
        kernel, bias = params["classifier"][0]
        logits = jax.lax.stop_gradient(encode).reshape(x.shape[0], -1) @ kernel + bias
        out["classify_latent"] = -jnp.mean(jnp.take_along_axis(
            jax.nn.log_softmax(logits), label[:, None], axis=1))
        return out

    params = {net: [(jnp.asarray(w[i]), jnp.asarray(w[i + 1])) for i in range(0, len(w), 2)]
              for net, w in weights.items()}
    groups = {"ae": ("encoder", "decoder"), "probe": ("classifier",)}
    if name == "acai":
        groups["critic"] = ("critic",)

    def totals(params, x, label, alpha):
        out = losses_of(params, x, label, alpha)
        found = {"ae": out["loss_ae"], "probe": out["classify_latent"]}
        if name == "acai":
            found["ae"] = found["ae"] + 0.5 * out["loss_ae_disc"]
            found["critic"] = out["loss_disc"] + out["loss_disc_real"]
        return found

    def adam(param, grad, m, v, t, lr=1e-4, b1=0.9, b2=0.999, eps=1e-7):
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad ** 2
        rate = lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return param - rate * m / (jnp.sqrt(v) + eps), m, v

    @jax.jit
    def step(params, moments, t, x, label, key):
        alpha = 0.5 - jnp.abs(jax.random.uniform(key, (x.shape[0],)) - 0.5)
        new_params, new_moments = dict(params), dict(moments)
        for group, nets in groups.items():
            def loss(sub, group=group, nets=nets):
                merged = dict(params, **sub)
                return totals(merged, x, label, alpha)[group]
            grads = jax.grad(loss)({net: params[net] for net in nets})
            for net in nets:
                tree = jax.tree_util.tree_structure(params[net])
                leaves = [jax.tree_util.tree_leaves(t) for t in (
                    params[net], grads[net], moments[net][0], moments[net][1])]
                new = [adam(p, g, m, v, t) for p, g, m, v in zip(*leaves)]
                new_params[net] = tree.unflatten([n[0] for n in new])
                new_moments[net] = (tree.unflatten([n[1] for n in new]),
                                    tree.unflatten([n[2] for n in new]))
        return new_params, new_moments, totals(params, x, label, alpha)["ae"]

    losses = {k: float(v) for k, v in losses_of(
        params, jnp.asarray(fix["x"]), jnp.asarray(fix["label"].astype(np.int32)),
        jnp.asarray(fix["alpha"])).items()}
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = {"params": params, "moments": {net: (zeros[net], zeros[net]) for net in params},
             "key": jax.random.PRNGKey(0)}
    arrays = [(jnp.asarray(x), jnp.asarray(label.astype(np.int32))) for x, label in data]

    def run(i):
        state["key"], key = jax.random.split(state["key"])
        x, label = arrays[i % len(arrays)]
        state["params"], state["moments"], loss = step(
            state["params"], state["moments"], float(i + 1), x, label, key)
        if i % 50 == 0:
            float(loss)
        else:
            loss.block_until_ready()  # Each step ends before the next, as in the others.

    count = sum(int(np.prod(w.shape)) for w in jax.tree_util.tree_leaves(params))
    return run, losses, count, f"JAX (XLA CPU) {jax.device_count()} device, its own pool"

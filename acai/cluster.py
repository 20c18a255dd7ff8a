"""K-means clustering of a trained autoencoder's latent codes (the paper's Table 3).

  acai-cluster --run=experiments/mnist32/AEBaseline_depth16_latent2_scales3

Encodes the first 60,000 images of the train split (--train_limit; the reference's cap:
all of MNIST's and CIFAR-10's, a tenth of SVHN's train+extra) and the test split, flattens
the codes, whitens
them with an SVD fitted on the train codes (as the reference's cluster.py), runs k-means
with as many clusters as the dataset has classes, and scores the clusters of the test
codes against the labels after the best one-to-one matching of clusters to classes
(Hungarian algorithm). The last line printed is `cluster accuracy: NN.NN`; the result is
also written to RUN/cluster.json.
"""


import numpy as np
from absl import flags, logging
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans

from acai import registry
from acai.lib import cli, hparams, progress
from acai.lib.evaluation import encode_dataset
from acai.lib.files import check_writable, write_json
from acai.lib.paths import RunPaths
from flags import common

FLAGS = flags.FLAGS
TRAIN_LIMIT = 60000  # The reference clusters the first 60,000 training images.


def define_flags():
    """The binary's flags (defined when it runs, so that its functions import freely)."""
    common.define_run("Run folder of the autoencoder to evaluate.", aliases=["ae_dir"])
    flags.DEFINE_integer("n_init", 10, "Number of k-means restarts (the reference: 1000, "
                         "about 35 minutes for MNIST's 256-value codes on 2 cores).",
                         lower_bound=1)
    flags.DEFINE_bool("use_svd", True, "Whiten the latent codes (SVD of the train codes).")
    flags.DEFINE_integer("max_iter", 1000, "Most k-means iterations per restart.",
                         lower_bound=1)
    flags.DEFINE_integer("seed", 0, "Seed of k-means.")
    flags.DEFINE_integer("batch", 64, "Batch size to encode with.", lower_bound=1)
    flags.DEFINE_integer("train_limit", TRAIN_LIMIT, "Cluster the first this many training "
                         "images (the reference: 60000; SVHN's train+extra has ~604,000).",
                         lower_bound=1)
    common.define_data_dir()


def whiten(train, test, eps=1e-5):
    """Centres and whitens `train` and `test` with the SVD of the centred train codes.

    Like the reference: project on the right singular vectors and divide by the singular
    values; scaled by sqrt(N) so the train codes have identity covariance (k-means is
    unchanged by a global scale). Returns (train_whitened, test_whitened).
    """
    train = np.asarray(train, np.float64).reshape(len(train), -1)
    test = np.asarray(test, np.float64).reshape(len(test), -1)
    mean = train.mean(axis=0)
    _, s, vt = np.linalg.svd(train - mean, full_matrices=False)
    scale = np.sqrt(len(train)) / (s + eps)
    return (train - mean) @ vt.T * scale, (test - mean) @ vt.T * scale


def cluster_accuracy(labels, clusters):
    """Accuracy of `clusters` after the best one-to-one matching of clusters to labels."""
    labels = np.asarray(labels, np.int64).ravel()
    clusters = np.asarray(clusters, np.int64).ravel()
    if labels.shape != clusters.shape or not labels.size:
        raise ValueError(f"labels and clusters differ in size or are empty: "
                         f"{labels.shape} vs {clusters.shape}")
    confusion = np.zeros((clusters.max() + 1, labels.max() + 1), np.int64)
    np.add.at(confusion, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(-confusion)
    return confusion[rows, cols].sum() / labels.size


def kmeans(train, n_clusters, n_init=10, seed=0, max_iter=1000):
    """A k-means fitted on `train` (random initialisation, as the reference): the best of
    n_init restarts, run one at a time so that a terminal shows their progress. The
    restarts draw from one random stream seeded by `seed`, as scikit-learn's own n_init
    does, so the result is KMeans(n_init=n_init, random_state=seed)'s."""
    random_state = np.random.RandomState(seed)
    best = None
    for _ in progress.track(range(n_init), f"k-means: {n_init} restarts", n_init, "restart"):
        fitted = KMeans(n_clusters=n_clusters, init="random", n_init=1, max_iter=max_iter,
                        random_state=random_state).fit(train)
        if best is None or fitted.inertia_ < best.inertia_:
            best = fitted
    return best


def evaluate(train, train_labels, test, test_labels, nclass, n_init=10, seed=0,
             use_svd=True, max_iter=1000):
    """-> dict(train_accuracy, test_accuracy) in %, of k-means with `nclass` clusters."""
    train = np.asarray(train).reshape(len(train), -1)
    test = np.asarray(test).reshape(len(test), -1)
    if use_svd:
        train, test = whiten(train, test)
    fitted = kmeans(train, nclass, n_init=n_init, seed=seed, max_iter=max_iter)
    return dict(
        train_accuracy=100 * cluster_accuracy(train_labels, fitted.predict(train)),
        test_accuracy=100 * cluster_accuracy(test_labels, fitted.predict(test)),
        train_objective=float(-fitted.score(train)) / len(train),
        test_objective=float(-fitted.score(test)) / len(test))


def main():
    cli.require(FLAGS, "run")
    model, spec, config = registry.load_run(FLAGS.run, FLAGS.data_dir, kind="autoencoder")
    check_writable(FLAGS.run, RunPaths(FLAGS.run).summary_dir)  # Before the work.
    train, train_labels = encode_dataset(model, spec.train_once(FLAGS.batch),
                                         limit=FLAGS.train_limit,
                                         what="encoding the training images")
    logging.info("Encoded %d train images: latents of size %d", *train.shape)
    test, test_labels = encode_dataset(model, spec.test(FLAGS.batch),
                                       what="encoding the test images")
    logging.info("Encoded %d test images", len(test))
    result = evaluate(train, train_labels, test, test_labels, spec.nclass,
                      n_init=FLAGS.n_init, seed=FLAGS.seed, use_svd=FLAGS.use_svd,
                      max_iter=FLAGS.max_iter)
    logging.info("Train/test accuracy %.2f / %.2f (k-means objective per image %.4f / %.4f)",
                 result["train_accuracy"], result["test_accuracy"],
                 result["train_objective"], result["test_objective"])
    result.update(dataset=config["dataset"], nclass=spec.nclass, n_init=FLAGS.n_init,
                  train_limit=FLAGS.train_limit,
                  use_svd=FLAGS.use_svd, seed=FLAGS.seed, train_size=len(train),
                  test_size=len(test), latent_size=int(train.shape[1]))
    write_json(result, RunPaths(FLAGS.run).result_path("cluster"))
    hparams.add_results(FLAGS.run, {"cluster_accuracy": result["test_accuracy"]})
    print(f"cluster accuracy: {result['test_accuracy']:.2f}")


def run(prog="acai-cluster"):
    cli.launch(main, prog, define_flags, FLAGS)


if __name__ == "__main__":
    run("acai.cluster")

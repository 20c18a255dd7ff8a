"""Sample quality of a trained GAN: gan-evaluate --run=RUN [--count=5000]

Loads the run, gets the dataset's classifier (gan.classifier: trained on first use and
cached in the folder beside the run, <train_dir>/<dataset folder>/classifier/), and
measures the Frechet distance between `count` real training images and `count` samples on
that classifier's features (gan.frechet), and the samples' precision and recall on the
same features (gan.manifold); with --inception=PATH, a local Inception-v3 SavedModel, also
the standard FID. Prints `frechet_distance: X`, `sample_precision: P`, `sample_recall: R`
(and `fid: Y`) and writes them to RUN/evaluate.json.
"""


from absl import flags

from acai import registry
from acai.lib import cli, hparams
from acai.lib.files import check_writable, write_json
from acai.lib.paths import RunPaths
from flags import common
from gan.classifier import classifier_dir, get_classifier
from gan.frechet import SampleQuality

FLAGS = flags.FLAGS


def define_flags():
    """The binary's flags (defined when it runs, so that its functions import freely)."""
    common.define_run("Run folder of the GAN (the folder holding config.json).")
    flags.DEFINE_integer("count", 5000, "Real and generated images compared.", lower_bound=2)
    flags.DEFINE_string("inception", None, "Inception-v3 SavedModel folder: also compute "
                        "the standard FID (see gan/frechet.py for its calling convention).")
    common.define_data_dir()
    flags.DEFINE_integer("seed", 0, "Seed of the real sample and of the generator's z.")
    flags.DEFINE_integer("classifier_kimg", 64, "Training of the classifier, when it has "
                         "none yet (kimg).", lower_bound=1)


def evaluate(model, spec, run_dir, *, count=5000, inception=None, seed=0,
             classifier_kimg=64):
    """-> dict of frechet_distance, sample_precision, sample_recall (and fid), the
    classifier's accuracy and the settings."""
    classifier = get_classifier(spec, classifier_dir(run_dir), kimg=classifier_kimg)
    result = SampleQuality(model, spec, classifier, count=count, seed=seed,
                           inception=inception)()
    result.update(count=count, seed=seed, dataset=spec.name,
                  classifier_test_accuracy=classifier.test_accuracy)
    if inception:
        result["inception"] = inception
    return result


def main():
    cli.require(FLAGS, "run")
    model, spec, _ = registry.load_run(FLAGS.run, FLAGS.data_dir, kind="gan")
    check_writable(FLAGS.run, RunPaths(FLAGS.run).summary_dir)  # Before the work.
    result = evaluate(model, spec, FLAGS.run, count=FLAGS.count, inception=FLAGS.inception,
                      seed=FLAGS.seed, classifier_kimg=FLAGS.classifier_kimg)
    path = RunPaths(FLAGS.run).result_path("evaluate")
    write_json(result, path)
    names = [name for name in ("frechet_distance", "sample_precision", "sample_recall",
                               "fid") if name in result]
    hparams.add_results(FLAGS.run, {name: result[name] for name in names})
    for name in names:
        print(f"{name}: {result[name]:.4f}")


def run(prog="gan-evaluate"):
    cli.launch(main, prog, define_flags, FLAGS)


if __name__ == "__main__":
    run("gan.evaluate")

"""The toolkit's core, shared by every model family (the reference's `lib/`).

Nothing here imports a model family (acai.models, vae, gan): the families build on it,
and what combines families (acai.registry, the binaries) sits on top.

  errors       RunError and Interrupted: the errors whose message is the one line
  files        atomic writes: every file the toolkit writes (JSON, PNG, figures, ...)
  device       where and how a model computes: strategy, precision, determinism
  data/        datasets as (x, label) batches in [-1, 1]: the pipeline, lines32, TFDS
               sets, image folders
  lines        the synthetic lines and the paper's interpolation metrics
  layers       the paper's encoder, decoder and critic
  params       a model's declared hyperparameters (its flags, its run's name)
  model        the base keras.Model of every model: optimisers, losses, experiment name
  autoencoder  the paper's autoencoder: encode, decode, interpolate, the latent probe
  evaluation   what an autoencoder run reports (latent accuracy, lines metrics, grids)
  checkpoint   a run's checkpoints: what they hold, their names, finding and restoring
  run          a run's folder: config.json and its settings, metrics.jsonl, the lock;
               reloading a run
  callbacks    the Keras callbacks that make `fit` a run: kimg, reports, checkpoints, ...
  training     `train(model, spec, run)`: a model, a dataset and a run folder to `fit`
  export       SavedModel export of a model's serving functions
  cli          what every binary shares: one-line errors, flags listed by --help
  quiet        what the binaries keep off the terminal: TensorFlow's lines that say
               nothing is wrong
"""

# TensorFlow's C++ log level: set by the acai package, always imported before this.

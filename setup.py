"""ACAI toolkit: autoencoders, VAEs and GANs for small images (TensorFlow 2 / Keras 3)."""
from setuptools import find_packages, setup

setup(
    name="acai-toolkit",
    version="0.1.0",
    description=("A TensorFlow 2 / Keras 3 port of ACAI (Berthelot et al., 2018) grown "
                 "into a toolkit for generative models of 32x32 images."),
    packages=find_packages(include=["acai", "acai.*", "gan", "gan.*", "vae", "vae.*",
                                    "flags", "flags.*"]),
    license="Apache-2.0",
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16",
        # The private names of Keras the toolkit needs are in acai/lib/keras_compat.py;
        # tests/test_keras_compat.py checks them (and the Keras-facing tests pass) on
        # 3.10.0, 3.12.4, 3.13.2, 3.14.1 and 3.15.1.
        "keras>=3.10,<4",
        "tensorflow-datasets>=4.9",
        # tensorflow-datasets 4.9.10 fails to import without it.
        "importlib_resources",
        "numpy",
        "scipy",
        "scikit-learn",
        "matplotlib",
        "absl-py",
        # TensorFlow no longer installs it; tf.summary needs it.
        "tensorboard",
        # The animated GIFs of a run (acai/lib/summaries.py); the tests read images with it.
        "pillow",
    ],
    extras_require={
        # acai-export --format=onnx.
        "onnx": ["tf2onnx>=1.17", "onnxruntime>=1.20"],
        # The tests run the ONNX export too, and execute the tour notebook.
        "test": ["pytest>=7", "pytest-xdist>=3", "tf2onnx>=1.17", "onnxruntime>=1.20",
                 "nbclient>=0.10", "nbformat>=5.10", "ipykernel>=6"],
        # benchmarks/peers.py: the same step in PyTorch and JAX (never needed to train or
        # to test). PyPI's torch is a CUDA build; docs/speed.md says how to get the CPU one.
        "bench": ["torch>=2.9", "jax>=0.4"],
    },
    entry_points={"console_scripts": [
        "acai-train = acai.train:run",
        "acai-export = acai.export:run",
        "acai-classify = acai.classify:run",
        "acai-cluster = acai.cluster:run",
        "acai-lines-benchmark = acai.lines_benchmark:run",
        "acai-projector = acai.projector:run",
        "vae-train = vae.train:run",
        "vae-sample = vae.sample:run",
        "vae-export = vae.export:run",
        "gan-train = gan.train:run",
        "gan-evaluate = gan.evaluate:run",
        "gan-pegasus = gan.pegasus:run",
        "gan-export = gan.export:run",
    ]},
)

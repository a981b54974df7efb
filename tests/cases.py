"""Cases and helpers that several test modules (and ``benchmarks/parity_report.py``) share."""

import contextlib
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn import datasets

from compat import v1 as tf
from kmeans_tf import cli, native

REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS = range(8)
SHAPES = [(200, 2, 3), (500, 5, 7), (64, 16, 1), (300, 3, 12)]
SHAPE_IDS = ["n200-d2-k3", "n500-d5-k7", "n64-d16-k1", "n300-d3-k12"]
DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]
# The post's printed table, "Iteration 0, 10, ..., 100", copied from the post.
POST_COSTS = (
    21533.69140625,
    950.78369140625,
    940.453369140625,
    940.4503784179688,
    940.450439453125,
    940.450439453125,
    940.450439453125,
    940.450439453125,
    940.450439453125,
    940.450439453125,
    940.450439453125,
)


def first_fast(values):
    """``values`` as parametrize cases: the first runs in ``make test-fast``, the others are marked slow."""
    first, *others = values
    return [first, *(pytest.param(value, marks=pytest.mark.slow) for value in others)]


def random_case(seed, n_samples, n_features, n_clusters, dtype=np.float32):
    """Return blobs around ``n_clusters`` random centres, and ``n_clusters`` distinct samples as initial centroids."""
    rng = np.random.RandomState(seed)
    centres = rng.uniform(-20, 20, size=(n_clusters, n_features))
    samples = centres[rng.randint(n_clusters, size=n_samples)] + rng.normal(0, 3, (n_samples, n_features))
    initial = samples[rng.choice(n_samples, n_clusters, replace=False)]
    return samples.astype(dtype), initial.astype(dtype)


def shipped(name):
    """Return one of the data sets scikit-learn ships, as float64."""
    loader = {
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
        "diabetes": datasets.load_diabetes,
        "digits": datasets.load_digits,
    }[name]
    return loader().data.astype(np.float64)


def squared_distances(samples, centroids):
    """Return the (n_samples, n_clusters) squared distances, computed directly in float64."""
    return ((samples[:, None, :].astype(np.float64) - centroids[None, :, :]) ** 2).sum(axis=2)


def run_in_graph(build, seed=None):
    """Build ops with ``build()`` in a fresh ``tf.Graph`` and return ``session.run`` of what it returns."""
    graph = tf.Graph()
    with graph.as_default():
        if seed is not None:
            tf.set_random_seed(seed)
        fetches = build()
    with tf.Session(graph=graph) as session:
        return session.run(fetches)


def change_sums(samples, labels, old_labels, n_clusters, weights=None):
    """The float64 sums, counts and members (samples of weight > 0) of the samples whose label changed.

    + in the new cluster, - in the old one (-1: none); with ``weights``, a sample adds its
    weight times its values, and its weight to the count.
    """
    weights = np.ones(len(samples)) if weights is None else np.asarray(weights, np.float64)
    moved = labels != old_labels
    left = moved & (old_labels >= 0)
    weighted = samples.astype(np.float64) * weights[:, None]
    sums, counts, members = np.zeros((n_clusters, samples.shape[1])), np.zeros(n_clusters), np.zeros(n_clusters)
    for rows, clusters, sign in ((moved, labels, 1), (left, old_labels, -1)):
        np.add.at(sums, clusters[rows], sign * weighted[rows])
        np.add.at(counts, clusters[rows], sign * weights[rows])
        np.add.at(members, clusters[rows], sign * (weights[rows] > 0))
    return sums, counts, members


@contextlib.contextmanager
def native_switched_off():
    """Run the engine on TensorFlow's ops inside the block, as on a machine without the C kernel."""
    previous = native.use_native(False)
    try:
        yield
    finally:
        native.use_native(previous)


# The command line's cases: two blobs of three rows each, as a CSV with a header.
BLOBS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]])
BLOBS_CSV = "x,y\n" + "".join(f"{x},{y}\n" for x, y in BLOBS)


def run(*args, input=None):
    """Run ``kmeans-tf ARGS`` in-process; a crash fails the test (a traceback never counts as an answer)."""
    result = CliRunner().invoke(cli.main, [str(arg) for arg in args], input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def fit_outputs(folder, centroids="centroids.npy"):
    """``fit``'s options for every output: the ``--json`` summary, and labels.txt and ``centroids`` in ``folder``."""
    return ["--json", "--labels-out", folder / "labels.txt", "--centroids-out", folder / centroids]


def run_python(code, *, text=True, **options):
    """Run ``python -c CODE`` in a fresh process at the repository's root, its output captured."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=text, cwd=REPO_ROOT, **options)


def assert_error(result, *fragments, exit_code=1):
    """Check that the run failed with one ``Error:`` line holding every fragment, and no traceback."""
    assert result.exit_code == exit_code, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0] == result.stderr.splitlines()[-1], result.stderr
    for fragment in fragments:
        assert fragment in errors[0]
    assert "Traceback" not in result.output


def assert_png(path):
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 100


def free_ports(count):
    """Ports free on 127.0.0.1 now (bound to port 0, then let go)."""
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports

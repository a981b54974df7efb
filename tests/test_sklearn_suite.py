"""scikit-learn's own k-means tests, run against our KMeans, MiniBatchKMeans, k_means and kmeans_plusplus.

The installed scikit-learn's ``sklearn/cluster/tests/test_k_means.py`` is loaded as a module of
its own while ``sklearn.cluster`` names ours (its cases list the estimators when it is loaded),
and its test functions become this module's, with the fixtures and seeds of ``sklearn.conftest``:
``global_random_seed`` (``SKLEARN_TESTS_GLOBAL_RANDOM_SEED`` picks the seeds) and
``global_dtype`` (float32 included). Every case runs on the C kernel and on TensorFlow's ops,
dense and sparse rows alike; the tests of scikit-learn's private helpers are left out (``EXCLUDED``).
``FAST`` runs in ``make test-fast``; the other tests are marked slow.
"""

import importlib.util
import os
from pathlib import Path
from unittest import mock

import pytest
import sklearn
import sklearn.cluster

from kmeans_tf import KMeans, MiniBatchKMeans, k_means, kmeans_plusplus

SKLEARN_TESTS = Path(sklearn.__file__).parent / "cluster" / "tests" / "test_k_means.py"
# The names that scikit-learn's test module imports from sklearn.cluster, bound to ours.
OURS = {"KMeans": KMeans, "MiniBatchKMeans": MiniBatchKMeans, "k_means": k_means, "kmeans_plusplus": kmeans_plusplus}

# Each test of scikit-learn's module that tests its private helpers, not the estimators: left out, and why.
EXCLUDED = {
    "test_relocate_empty_clusters": "calls _relocate_empty_clusters_dense and _relocate_empty_clusters_sparse",
    "test_minibatch_update_consistency": "calls _mini_batch_step and _labels_inertia",
    "test_minibatch_reassign": "calls _mini_batch_step and _labels_inertia",
    "test_euclidean_distance": "calls _euclidean_dense_dense_wrapper and _euclidean_sparse_dense_wrapper",
    "test_inertia": "calls _inertia_dense and _inertia_sparse",
    "test_is_same_clustering": "calls _is_same_clustering",
    "test_sample_weight_init": "calls KMeans._init_centroids, the seeding method of scikit-learn's estimators",
    "test_sample_weight_zero": "calls KMeans._init_centroids, the seeding method of scikit-learn's estimators",
}
# The tests that run in `make test-fast`: a hand-worked case, the messages, the verbose lines, the functions.
FAST = (
    "test_kmeans_results",
    "test_kmeans_verbose",
    "test_wrong_params",
    "test_warning_elkan_1_cluster",
    "test_k_means_function",
    "test_kmeans_plusplus_output",
)


def load_with_ours():
    """Return scikit-learn's test module, loaded while ``sklearn.cluster`` names ours as ``OURS`` says."""
    spec = importlib.util.spec_from_file_location("sklearn_cluster_test_k_means", SKLEARN_TESTS)
    module = importlib.util.module_from_spec(spec)
    with mock.patch.multiple(sklearn.cluster, **OURS):
        spec.loader.exec_module(module)
    return module


# global_dtype's float32 cases run only when this is set as sklearn.conftest is imported.
with mock.patch.dict(os.environ, {"SKLEARN_RUN_FLOAT32_TESTS": "1"}):
    from sklearn.conftest import global_dtype, pytest_generate_tests  # noqa: F401  (a fixture and a hook, for pytest)

SKLEARN_MODULE = load_with_ours()
SKLEARN_TEST_NAMES = sorted(name for name in vars(SKLEARN_MODULE) if name.startswith("test_"))


def sklearn_tests():
    """scikit-learn's test functions by name, less ``EXCLUDED``; those not in ``FAST`` marked slow."""
    tests = {name: getattr(SKLEARN_MODULE, name) for name in SKLEARN_TEST_NAMES if name not in EXCLUDED}
    return {name: test if name in FAST else pytest.mark.slow(test) for name, test in tests.items()}


# pytest collects them as this module's tests.
globals().update(sklearn_tests())


@pytest.fixture(autouse=True)
def each_case(either_path):
    """Run each case on the C kernel and on TensorFlow's ops."""


def test_scikit_learns_module_names_ours_and_every_excluded_test():
    for name, ours in OURS.items():
        assert getattr(SKLEARN_MODULE, name) is ours
    assert set(EXCLUDED) | set(FAST) <= set(SKLEARN_TEST_NAMES)

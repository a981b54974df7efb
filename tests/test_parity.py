"""The two halves held together: graph lesson vs eager engine, and eager engine vs scikit-learn.

Both sides always start from the same explicit inputs (initial centroids, labels), never
from "the same seed": graph and eager random streams are not meant to match.
"""

import numpy as np
import pytest
from sklearn import datasets
from sklearn.cluster import KMeans

import functions
import gd_kmeans
from compat import eager
from tests.cases import SEEDS, SHAPE_IDS, SHAPES, first_fast, random_case, run_in_graph, shipped, squared_distances


def assert_same_labels_except_ties(labels, other, samples, centroids, rtol=1e-5):
    """Labels agree, except where both centroids are (to float32 rounding) equally near."""
    distances = squared_distances(samples, centroids)
    rows = np.flatnonzero(labels != other)
    np.testing.assert_allclose(distances[rows, labels[rows]], distances[rows, other[rows]], rtol=rtol)
    assert len(rows) <= max(1, len(labels) // 100)


@pytest.mark.parametrize("seed", first_fast(SEEDS), ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_assign_and_update_graph_equals_eager(seed, shape):
    samples, centroids = random_case(seed, *shape)
    n_clusters = shape[2]
    graph_labels, graph_cost = run_in_graph(
        lambda: (functions.assign_to_nearest(samples, centroids), functions.total_squared_distance(samples, centroids))
    )
    eager_labels = eager.assign_to_nearest(samples, centroids).numpy()
    assert_same_labels_except_ties(graph_labels, eager_labels, samples, centroids)
    np.testing.assert_allclose(eager.total_squared_distance(samples, centroids), graph_cost, rtol=1e-5)

    graph_centroids = run_in_graph(
        lambda: functions.update_centroids(samples, graph_labels, n_clusters, previous_centroids=centroids)
    )
    eager_centroids = eager.update_centroids(samples, graph_labels, n_clusters, previous_centroids=centroids)
    np.testing.assert_allclose(eager_centroids, graph_centroids, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", first_fast(SEEDS), ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_ten_iterations_graph_equals_eager(seed, shape):
    samples, initial = random_case(seed, *shape)
    n_clusters = shape[2]
    graph_history = run_in_graph(lambda: functions.iterate_kmeans(samples, initial, n_clusters))
    eager_history = eager.iterate_kmeans(samples, initial, n_clusters)
    # Ten float32 steps: each mean is rounded again, so allow 1e-4 rather than one step's 1e-5.
    np.testing.assert_allclose(eager_history, np.stack(graph_history), rtol=1e-4, atol=1e-4)


def test_create_samples_centroids_graph_equals_eager():
    graph_centroids, graph_samples = run_in_graph(lambda: functions.create_samples(3, 100, 2, 70, 700))
    eager_centroids, eager_samples = eager.create_samples(3, 100, 2, 70, 700)
    np.testing.assert_array_equal(eager_centroids, graph_centroids)
    assert eager_samples.shape == graph_samples.shape


@pytest.fixture(scope="module")
def lesson_gd():
    data = gd_kmeans.make_data()
    return data, gd_kmeans.initial_prototypes(data)


def test_gd_eager_equals_graph_at_every_step(lesson_gd):
    data, initial = lesson_gd
    graph_costs, graph_prototypes, graph_labels, _ = gd_kmeans.main(data, initial, steps=30)
    prototypes, eager_costs = eager.gd_kmeans(data, initial, steps=30)
    assert len(eager_costs) == len(graph_costs) == 31  # the post's loop: range(steps + 1)
    np.testing.assert_allclose(eager_costs, graph_costs, rtol=1e-5)
    np.testing.assert_allclose(prototypes, graph_prototypes, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(eager.predict(data, prototypes), graph_labels)


def sklearn_lloyd(samples, initial, tol=1e-4, max_iter=300):
    return KMeans(len(initial), init=initial, n_init=1, algorithm="lloyd", tol=tol, max_iter=max_iter).fit(samples)


def assert_matches_sklearn(samples, initial, tol=1e-4, inertia_rtol=1e-5):
    ours = eager.kmeans(samples, len(initial), init=initial, tol=tol)
    theirs = sklearn_lloyd(samples, initial, tol=tol)
    np.testing.assert_array_equal(ours.labels, theirs.labels_)
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=inertia_rtol)
    assert ours.n_iter == theirs.n_iter_
    np.testing.assert_allclose(ours.centroids, theirs.cluster_centers_, rtol=1e-4, atol=1e-4)
    return ours, theirs


# Not digits: its integer pixels put samples at exactly equal distances from two centroids,
# and which one wins then depends on summation order, in sklearn as here.
@pytest.mark.parametrize("name, k", [("iris", 3), ("wine", 3), ("breast_cancer", 2), ("diabetes", 6)])
@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"init{s}")
def test_kmeans_equals_sklearn_on_shipped_data(name, k, seed, either_path):
    samples = shipped(name)
    initial = samples[np.random.RandomState(seed).choice(len(samples), k, replace=False)]
    assert_matches_sklearn(samples, initial)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("tol", [0.0, 1e-4, 1e-2], ids=["tol0", "tol1e-4", "tol1e-2"])
def test_kmeans_equals_sklearn_on_random_blobs(dtype, seed, tol, either_path):
    samples, initial = random_case(seed, 400, 4, 6, dtype=dtype)
    assert_matches_sklearn(samples, initial, tol=tol)


def test_kmeans_relocates_an_empty_cluster_as_sklearn_does(either_path):
    samples = shipped("iris")
    # The third centroid is far from everything: it is empty after the first E-step.
    initial = np.vstack([samples[[0, 60]], np.full((1, 4), 100.0)])
    ours, theirs = assert_matches_sklearn(samples, initial)
    assert np.isfinite(ours.centroids).all()
    assert np.bincount(ours.labels, minlength=3).min() > 0


@pytest.mark.parametrize("algorithm", ["lloyd", "auto"])
@pytest.mark.parametrize("max_iter", [2, 300], ids=["stopped", "converged"])
def test_the_labels_are_for_the_centroids_returned_however_the_fit_ends(either_path, algorithm, max_iter):
    # converged: the last M-step moves no centroid, and the last pass's labels are returned as they are
    samples, initial = random_case(3, 500, 3, 6)
    result = eager.kmeans(samples, 6, init=initial, tol=0, max_iter=max_iter, algorithm=algorithm)
    assert result.converged == (max_iter == 300) and result.n_iter < 300
    np.testing.assert_array_equal(result.labels, eager.predict(samples, result.centroids))


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_inertia_never_increases_from_one_iteration_to_the_next(seed):
    samples, initial = random_case(seed, 300, 3, 8, dtype=np.float64)
    inertias = [eager.kmeans(samples, 8, init=initial, max_iter=i, tol=0).inertia for i in range(1, 12)]
    assert all(later <= earlier * (1 + 1e-12) for earlier, later in zip(inertias, inertias[1:]))


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("init", eager.INIT_STRATEGIES)
def test_labels_are_the_argmin_to_the_final_centroids(seed, init):
    samples, _ = random_case(seed, 300, 3, 8)
    result = eager.kmeans(samples, 8, init=init, seed=seed)
    distances = squared_distances(samples, result.centroids)
    chosen = distances[np.arange(len(samples)), result.labels]
    np.testing.assert_allclose(chosen, distances.min(axis=1), rtol=1e-5, atol=1e-6)
    assert result.inertia == pytest.approx(distances.min(axis=1).sum(), rel=1e-5)


def test_kmeans_plusplus_as_good_as_sklearns_on_average():
    samples, _ = datasets.make_blobs(1000, n_features=2, centers=15, cluster_std=1.5, random_state=4)
    seeds = range(20)
    ours = np.mean([eager.kmeans(samples, 15, seed=s).inertia for s in seeds])
    theirs = np.mean([KMeans(15, n_init=1, random_state=s, algorithm="lloyd").fit(samples).inertia_ for s in seeds])
    # Both are random: a mean over 20 seeds varies by a few percent, so allow 3%.
    assert ours <= theirs * 1.03


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("seed", first_fast(SEEDS), ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_hamerly_bounds_never_change_the_lloyd_answer(dtype, seed, shape):
    samples, initial = random_case(seed, *shape, dtype=dtype)
    lloyd = eager.kmeans(samples, shape[2], init=initial, algorithm=eager.LLOYD, batch_size=50)
    hamerly = eager.kmeans(samples, shape[2], init=initial, algorithm=eager.HAMERLY, batch_size=50)
    np.testing.assert_array_equal(hamerly.labels, lloyd.labels)
    assert (hamerly.n_iter, hamerly.converged) == (lloyd.n_iter, lloyd.converged)
    # Hamerly keeps float64 cluster sums; Lloyd sums afresh in the data's dtype: last-bit differences.
    np.testing.assert_allclose(hamerly.centroids, lloyd.centroids, rtol=1e-5, atol=1e-5)
    assert hamerly.inertia == pytest.approx(lloyd.inertia, rel=1e-5)

"""compat.eager on its own: tiny cases by hand, validation at the door, dtypes, seeding, properties."""

import logging

import numpy as np
import pytest

from compat import eager
from tests.cases import random_case, run_python

POINTS = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0], [11.0, 10.0]])
START = np.array([[0.0, 0.0], [10.0, 10.0]])


def blobs(seed, n_samples=300, n_features=3, centers=4, dtype=np.float64):
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n_samples, n_features=n_features, centers=centers, random_state=seed)
    return X.astype(dtype)


def test_mirrored_functions_by_hand():
    np.testing.assert_array_equal(eager.assign_to_nearest(POINTS, START), [0, 0, 1, 1])
    np.testing.assert_array_equal(eager.update_centroids(POINTS, [0, 0, 1, 1], 2), [[0.5, 0], [10.5, 10]])
    assert float(eager.total_squared_distance(POINTS, START)) == pytest.approx(2.0)
    history = eager.iterate_kmeans(POINTS, np.array([[0.0, 0.0], [1.0, 0.0]]), 2, n_iterations=3)
    np.testing.assert_allclose(history[0], [[0, 0], [22 / 3, 20 / 3]])
    np.testing.assert_allclose(history[2], [[0.5, 0], [10.5, 10]])


def test_update_centroids_empty_cluster_both_ways():
    previous = np.array([[0.0, 0.0], [10.0, 10.0], [-7.0, 3.0]])
    kept = eager.update_centroids(POINTS, [0, 0, 1, 1], 3, previous_centroids=previous)
    np.testing.assert_array_equal(kept, [[0.5, 0], [10.5, 10], [-7, 3]])
    with pytest.raises(ValueError, match="cluster 2 has no samples"):
        eager.update_centroids(POINTS, [0, 0, 1, 1], 3)


def test_kmeans_by_hand():
    result = eager.kmeans(POINTS, 2, init=np.array([[0.0, 0.0], [1.0, 0.0]]))
    np.testing.assert_allclose(result.centroids, [[0.5, 0], [10.5, 10]])
    np.testing.assert_array_equal(result.labels, [0, 0, 1, 1])
    assert result.inertia == pytest.approx(1.0)  # four points, each 0.5 from its centroid
    assert result.n_iter == 3 and result.converged  # labels repeat on the 3rd iteration
    assert eager.inertia(POINTS, result.centroids) == pytest.approx(1.0)
    np.testing.assert_array_equal(eager.predict([[0.2, 0.1], [9.0, 9.0]], result.centroids), [0, 1])


def test_create_samples_and_choose_random_centroids_seeded():
    centroids, samples = eager.create_samples(3, 40, 2, 70, 700)
    again = eager.create_samples(3, 40, 2, 70, 700)
    np.testing.assert_array_equal(samples, again[1])
    assert samples.shape == (120, 2) and centroids.shape == (3, 2)
    # Unlike the graph version's op seed, every blob draws its own noise.
    noise = samples.numpy().reshape(3, 40, 2) - centroids.numpy()[:, None, :]
    assert not np.allclose(noise[0], noise[1])
    chosen = eager.choose_random_centroids(samples, 5, seed=3)
    np.testing.assert_array_equal(chosen, eager.choose_random_centroids(samples, 5, seed=3))
    assert len({tuple(row) for row in chosen.numpy()}) == 5


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("init", eager.INIT_STRATEGIES)
def test_kmeans_keeps_dtype_and_shapes(dtype, init):
    X = blobs(0, dtype=dtype)
    result = eager.kmeans(X, 4, init=init, seed=0)
    assert result.centroids.dtype == dtype and result.centroids.shape == (4, 3)
    assert result.labels.dtype == np.int64 and result.labels.shape == (300,)
    assert isinstance(result.inertia, float) and isinstance(result.n_iter, int)
    assert np.isfinite(result.centroids).all()


def test_integer_input_becomes_float64():
    result = eager.kmeans(np.array([[0, 0], [0, 1], [9, 9], [9, 8]]), 2, seed=0)
    assert result.centroids.dtype == np.float64


@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("init", eager.INIT_STRATEGIES)
def test_same_seed_same_result(seed, init):
    X = blobs(seed)
    first = eager.kmeans(X, 4, init=init, n_init=3, seed=seed)
    again = eager.kmeans(X, 4, init=init, n_init=3, seed=seed)
    np.testing.assert_array_equal(first.centroids, again.centroids)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert first.inertia == again.inertia and first.n_iter == again.n_iter


def test_n_init_keeps_the_lowest_inertia_and_reports_each_run():
    X = blobs(5, centers=8)
    states = []
    best = eager.kmeans(X, 8, init=eager.RANDOM_INIT, n_init=5, seed=1, tol=0, callback=states.append)
    last = {state.run: state for state in states}
    assert list(last) == [0, 1, 2, 3, 4]
    # tol=0: each run ends on an iteration that changed no label, whose inertia is the run's final one.
    assert all(state.converged and state.changed == 0 for state in last.values())
    assert best.inertia == min(state.inertia for state in last.values())


@pytest.mark.parametrize("batch_size", [1, 7, 64, 10_000], ids=lambda b: f"batch{b}")
def test_batch_size_never_changes_the_answer(batch_size):
    X = blobs(3, n_samples=257)
    init = X[:4]
    reference = eager.kmeans(X, 4, init=init)
    chunked = eager.kmeans(X, 4, init=init, batch_size=batch_size)
    np.testing.assert_array_equal(chunked.labels, reference.labels)
    np.testing.assert_allclose(chunked.centroids, reference.centroids, rtol=1e-12, atol=1e-12)
    assert chunked.n_iter == reference.n_iter
    np.testing.assert_array_equal(eager.predict(X, reference.centroids, batch_size=batch_size), reference.labels)


def test_duplicate_points_more_clusters_than_distinct_samples_never_nan():
    X = np.array([[1.0, 1.0]] * 5 + [[2.0, 2.0]] * 5)
    result = eager.kmeans(X, 3, init=eager.RANDOM_INIT, seed=0)
    assert np.isfinite(result.centroids).all()
    assert result.inertia == pytest.approx(0.0)


def test_gd_kmeans_decreases_cost_and_keeps_shapes():
    X = blobs(1, n_features=2)
    prototypes, costs = eager.gd_kmeans(X, X[:3], learning_rate=0.001, steps=20)
    assert prototypes.shape == (3, 2) and costs.shape == (21,)
    assert costs[-1] < costs[0]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: eager.kmeans(np.zeros((10, 2)), 11), r"n_samples=10 should be >= n_clusters=11"),
        (lambda: eager.kmeans(np.zeros((10, 2)), 0), r"n_clusters=0 should be an integer >= 1"),
        (lambda: eager.kmeans(np.zeros((10, 2)), 2.5), r"n_clusters=2.5 should be an integer"),
        (lambda: eager.kmeans(np.zeros(10), 2), r"should be 2-D .* got shape \(10,\)"),
        (lambda: eager.kmeans(np.zeros((0, 2)), 1), r"at least one row .* got shape \(0, 2\)"),
        (lambda: eager.kmeans([[1.0, np.nan]], 1), r"finite, got nan at row 0, column 1"),
        (lambda: eager.kmeans([[1.0, 2.0], [np.inf, 0]], 1), r"finite, got inf at row 1, column 0"),
        (lambda: eager.kmeans([["a", "b"]], 1), r"should hold numbers"),
        (
            lambda: eager.kmeans(np.zeros((5, 2)), 2, max_iter=0),
            r"max_iter=0 should be an integer in \[1, 2147483647\]",
        ),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, n_init=0), r"n_init=0 should be an integer >= 1"),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, tol=-1), r"tol=-1 should be a finite number >= 0"),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, init="kmeans"), r"init='kmeans' should be one of"),
        (
            lambda: eager.kmeans(np.zeros((5, 2)), 2, init=np.zeros((2, 3))),
            r"init should have n_features=2 columns .* got shape \(2, 3\)",
        ),
        (
            lambda: eager.kmeans(np.zeros((5, 2)), 2, init=np.zeros((3, 2))),
            r"init should have n_clusters=2 rows, got shape \(3, 2\)",
        ),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, init=np.zeros((2, 2)), n_init=2), r"n_init=2 should be 1"),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, batch_size=0), r"batch_size=0 should be an integer >= 1"),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, algorithm="full"), r"algorithm='full' should be one of"),
        (lambda: eager.predict(np.zeros((5, 2)), np.zeros((2, 3))), r"centroids should have n_features=2"),
        (lambda: eager.inertia(np.zeros((5, 2)), [[np.nan, 0]]), r"centroids should be finite"),
        (
            lambda: eager.gd_kmeans(np.zeros((5, 2)), np.zeros((2, 2)), learning_rate=0),
            r"learning_rate=0 should be a finite number > 0",
        ),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, max_iter=10**12), r"max_iter=1000000000000 should be an integer in"),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, seed=1.5), r"seed=1.5 should be an integer in \[0, 4294967295\]"),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, seed="a"), r"seed='a' should be an integer"),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, seed=-1), r"seed=-1 should be an integer in"),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, callback=5), r"callback=5 should be callable"),
        (lambda: eager.kmeans(np.zeros((5, 2)), 2, tol=np.nan), r"tol=nan should be a finite number"),
        (lambda: eager.kmeans(np.zeros((5, 2)), True), r"n_clusters=True should be an integer"),
        (
            lambda: eager.gd_kmeans(np.zeros((5, 2)), np.zeros((2, 2)), learning_rate="0.1"),
            r"learning_rate='0.1' should be a finite number > 0",
        ),
        (
            lambda: eager.gd_kmeans(np.zeros((5, 2)), np.zeros((2, 2)), learning_rate=np.inf),
            r"learning_rate=inf should be a finite number > 0",
        ),
        (lambda: eager.gd_kmeans(np.zeros((5, 2)), np.zeros((2, 2)), steps=-1), r"steps=-1 should be an integer >= 0"),
    ],
    ids=[
        "k>n",
        "k<1",
        "k-float",
        "1-D",
        "empty",
        "nan",
        "inf",
        "strings",
        "max_iter",
        "n_init",
        "tol",
        "init-name",
        "init-width",
        "init-rows",
        "init-array-n_init",
        "batch_size",
        "algorithm",
        "predict-width",
        "inertia-nan",
        "gd-rate",
        "max_iter-huge",
        "seed-float",
        "seed-str",
        "seed-negative",
        "callback",
        "tol-nan",
        "k-bool",
        "gd-rate-str",
        "gd-rate-inf",
        "gd-steps",
    ],
)
def test_bad_input_raises_value_error_naming_it_before_any_work(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_numpy_scalars_are_accepted_wherever_python_ones_are():
    X = blobs(3)
    plain = eager.kmeans(X, 4, n_init=2, max_iter=50, tol=0, seed=5)
    numpy = eager.kmeans(X, np.int64(4), n_init=np.int32(2), max_iter=np.int64(50), tol=np.int64(0), seed=np.uint32(5))
    np.testing.assert_array_equal(numpy.labels, plain.labels)
    prototypes, costs = eager.gd_kmeans(X, X[:3], learning_rate=np.float32(0.001), steps=np.int64(2))
    assert costs.shape == (3,)


@pytest.mark.parametrize("init", eager.INIT_STRATEGIES)
def test_one_cluster_is_the_mean(init):
    X = blobs(2)
    result = eager.kmeans(X, 1, init=init, seed=0)
    np.testing.assert_allclose(result.centroids, X.mean(axis=0, keepdims=True), rtol=1e-10)
    np.testing.assert_array_equal(result.labels, np.zeros(len(X)))


@pytest.mark.parametrize(
    "dtype, scale",
    [(np.float32, 1e20), (np.float32, 1e-20), (np.float32, 1e-30), (np.float64, 1e150), (np.float64, 1e-150)],
    ids=["f32-1e20", "f32-1e-20", "f32-1e-30", "f64-1e150", "f64-1e-150"],
)
def test_data_at_the_edges_of_the_dtype_give_the_scaled_answer(dtype, scale):
    samples, initial = random_case(0, 500, 3, 4, dtype=np.float64)
    reference = eager.kmeans(samples.astype(dtype), 4, init=initial.astype(dtype))
    result = eager.kmeans((samples * scale).astype(dtype), 4, init=(initial * scale).astype(dtype))
    np.testing.assert_array_equal(result.labels, reference.labels)
    assert (result.n_iter, result.converged) == (reference.n_iter, reference.converged)
    assert result.inertia == pytest.approx(reference.inertia * scale**2, rel=1e-5)
    np.testing.assert_allclose(result.centroids / scale, reference.centroids, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(eager.predict((samples * scale).astype(dtype), result.centroids), result.labels)
    assert eager.inertia((samples * scale).astype(dtype), result.centroids) == pytest.approx(result.inertia, rel=1e-5)


def test_cells_near_the_float64_limit_give_finite_centroids():
    samples = np.array([[1e308, 0.0], [1e308, 1.0], [-1e308, 0.0], [-1e308, 1.0]])
    result = eager.kmeans(samples, 2, init=samples[[0, 2]])
    np.testing.assert_array_equal(result.labels, [0, 0, 1, 1])
    np.testing.assert_allclose(result.centroids, [[1e308, 0.5], [-1e308, 0.5]])
    assert np.isfinite(result.inertia)


def test_an_inertia_beyond_float64_is_refused_not_reported_as_infinity():
    samples = np.array([[1e300, 0.0], [-1e300, 0.0], [0.0, 1e300]])
    with pytest.raises(ValueError, match="inertia .* is beyond what float64 can hold.*rescale the data"):
        eager.kmeans(samples, 1)


def test_new_shapes_and_dtypes_trace_once_and_never_warn(either_path):
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("tensorflow").addHandler(handler)
    try:
        for n in range(6):
            for dtype in (np.float32, np.float64):
                samples = blobs(n, n_samples=100 + n, n_features=2 + n, dtype=dtype)
                eager.kmeans(samples, 3 + n, seed=0)
                eager.predict(samples, samples[:3])
                eager.inertia(samples, samples[:2])
                eager.gd_kmeans(samples, samples[:2], steps=1)
    finally:
        logging.getLogger("tensorflow").removeHandler(handler)
    assert not [record.getMessage() for record in records if "retracing" in record.getMessage()]


@pytest.mark.slow
def test_gd_kmeans_memory_does_not_grow_with_samples_times_clusters():
    # The post's broadcast would hold (100000, 64, 16) float32 differences: 410 MB, and as much again for the gradient.
    code = """if True:
        import numpy as np
        from compat import eager
        def peak_mb():
            return int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")).split()[1]) / 1024
        samples = np.random.RandomState(0).normal(size=(100000, 16)).astype(np.float32)
        eager.gd_kmeans(samples[:100], samples[:64], steps=0)
        before = peak_mb()
        eager.gd_kmeans(samples, samples[:64], steps=1)
        print(peak_mb() - before)
    """
    finished = run_python(code, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert float(finished.stdout) < 200, finished.stdout


def test_the_history_holds_the_start_and_every_iteration(either_path):
    samples, initial = random_case(4, 300, 2, 5, dtype=np.float64)
    result = eager.kmeans(samples, 5, init=initial, keep_history=True)
    assert result.centroid_history.shape == (result.n_iter + 1, 5, 2)
    # the start goes to the loops' coordinates (less the mean) and back: float64 rounding
    np.testing.assert_allclose(result.centroid_history[0], initial, rtol=1e-14)
    np.testing.assert_array_equal(result.centroid_history[-1], result.centroids)
    for iterations in (1, 2):
        step = eager.kmeans(samples, 5, init=initial, max_iter=iterations, tol=0)
        np.testing.assert_allclose(result.centroid_history[iterations], step.centroids, rtol=1e-12)
    assert eager.kmeans(samples, 5, init=initial).centroid_history is None


def test_predict_and_inertia_keep_float32_rows_far_from_the_origin_apart(either_path):
    # Rows around 1e4 (squared norms ~3e8, float32's rounding there ~20) with clusters a few units apart:
    # measured about the centroids' mean, every row gets the label float64 gives it.
    samples64 = blobs(0, n_samples=2000, centers=3) * 0.5 + 1e4
    samples = samples64.astype(np.float32)
    centroids = eager.kmeans(samples64, 3, seed=0).centroids
    distances = ((samples64[:, None, :] - centroids[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(eager.predict(samples, centroids.astype(np.float32)), distances.argmin(axis=1))
    assert eager.inertia(samples, centroids.astype(np.float32)) == pytest.approx(distances.min(axis=1).sum(), rel=1e-3)

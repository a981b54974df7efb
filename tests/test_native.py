"""The fused C kernel (kmeans_tf/native) against numpy, and the engine with it against without it.

Its input checks are in test_native_inputs.py, its build and load in test_native_build.py.
"""

import numpy as np
import pytest
import scipy.sparse

from compat import eager
from kmeans_tf import native
from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import sparse
from tests.cases import (
    DTYPE_IDS,
    DTYPES,
    SEEDS,
    SHAPE_IDS,
    SHAPES,
    change_sums,
    first_fast,
    native_switched_off,
    random_case,
)

# Shapes that leave remainders: rows not a multiple of the kernel's 6, clusters not a
# multiple of its panel (16 floats or 8 doubles), one feature, one cluster, several blocks of
# rows (2048 rows or more each, at most 32 of them).
ODD_SHAPES = [(1, 1, 1), (7, 3, 5), (13, 1, 17), (100, 7, 33), (5000, 9, 3), (2500, 40, 70), (70001, 3, 9)]
WEIGHTINGS = [False, True]
WEIGHTING_IDS = ["unweighted", "weighted"]


def some_weights(n_samples, seed=0):
    """Random weights in [0, 3), a fifth of them 0."""
    rng = np.random.RandomState(seed)
    return np.where(rng.rand(n_samples) < 0.2, 0.0, rng.uniform(0, 3, n_samples))


@pytest.fixture
def op(native_kernel):
    return native_kernel.nearest_centroid_sums


def run(op, samples, centroids):
    labels, sums, counts, members = op(tf.constant(samples), tf.constant(centroids))
    np.testing.assert_array_equal(members.numpy(), counts.numpy())  # without weights the members are the counts
    return labels.numpy(), sums.numpy(), counts.numpy()


def test_a_case_worked_by_hand(op):
    samples = np.array([[0, 0], [1, 0], [9, 9], [10, 10], [0, 1]], np.float32)
    centroids = np.array([[0, 0], [10, 10]], np.float32)
    labels, sums, counts = run(op, samples, centroids)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(sums, [[1, 1], [19, 19]])
    np.testing.assert_array_equal(counts, [3, 2])
    assert (labels.dtype, sums.dtype, counts.dtype) == (np.int64, np.float64, np.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_a_tie_goes_to_the_first_centroid_as_argmin_does(op, dtype):
    samples = np.array([[1, 1], [5, 5], [3, 3]] * 5, dtype)
    centroids = np.array([[9, 9]] * 20 + [[3, 3]] * 20, dtype)  # twenty copies each, across panels
    labels, _, counts = run(op, samples, centroids)
    np.testing.assert_array_equal(labels, [20] * 15)
    assert counts[20] == 15 and counts.sum() == 15


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", ODD_SHAPES, ids=lambda s: "n{}-d{}-k{}".format(*s))
def test_labels_sums_and_counts_equal_numpy(op, shape, dtype):
    n_samples, n_features, n_clusters = shape
    rng = np.random.RandomState(n_samples + n_features + n_clusters)
    samples = rng.normal(size=(n_samples, n_features)).astype(dtype)
    centroids = rng.normal(size=(n_clusters, n_features)).astype(dtype)
    labels, sums, counts = run(op, samples, centroids)

    distances = ((samples[:, None, :].astype(np.float64) - centroids[None]) ** 2).sum(axis=2)
    nearest = distances.argmin(axis=1)
    differ = np.flatnonzero(labels != nearest)
    # Only a near tie may go the other way: both distances equal to the dtype's rounding.
    np.testing.assert_allclose(
        distances[differ, labels[differ]], distances[differ, nearest[differ]], rtol=100 * np.finfo(dtype).eps
    )
    expected_sums = np.zeros((n_clusters, n_features))
    np.add.at(expected_sums, labels, samples.astype(np.float64))
    np.testing.assert_allclose(sums, expected_sums, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(counts, np.bincount(labels, minlength=n_clusters))


def test_output_shapes_are_known_inside_a_graph(op):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32), tf.TensorSpec([4, 3], tf.float32)])
    def shapes(samples, centroids):
        labels, sums, counts, members = op(samples, centroids)
        assert (labels.shape.as_list(), sums.shape.as_list(), counts.shape.as_list()) == ([None], [4, 3], [4])
        assert members.shape.as_list() == [4]
        return labels

    assert shapes(tf.zeros([10, 3]), tf.ones([4, 3])).shape == (10,)


def test_mismatched_columns_are_an_error_not_a_crash(op):
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="same columns|must be equal"):
        op(tf.zeros([5, 3]), tf.zeros([2, 4]))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("seed", first_fast(SEEDS), ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
def test_engine_gives_the_same_answer_with_and_without_the_kernel(op, shape, seed, dtype):
    samples, initial = random_case(seed, *shape, dtype=dtype)
    fused = eager.kmeans(samples, shape[2], init=initial)
    with native_switched_off():
        plain = eager.kmeans(samples, shape[2], init=initial)
    np.testing.assert_array_equal(fused.labels, plain.labels)
    assert (fused.n_iter, fused.converged) == (plain.n_iter, plain.converged)
    # The kernel sums clusters in float64, TensorFlow's ops in the data's dtype: last-bit differences.
    np.testing.assert_allclose(fused.centroids, plain.centroids, rtol=1e-5, atol=1e-5)
    assert fused.inertia == pytest.approx(plain.inertia, rel=1e-5)


def test_predict_and_inertia_agree_with_and_without_the_kernel(op):
    samples, centroids = random_case(3, 3000, 6, 20)
    labels, total = eager.predict(samples, centroids), eager.inertia(samples, centroids)
    with native_switched_off():
        np.testing.assert_array_equal(eager.predict(samples, centroids), labels)
        assert eager.inertia(samples, centroids) == pytest.approx(total, rel=1e-6)


def test_the_engine_says_which_kernel_runs(without_native_kernel):
    assert native.kernel() is None
    assert native.description() == "TensorFlow ops (the C kernel is switched off: use_native(False))"
    samples, initial = random_case(0, 200, 2, 3)
    assert eager.kmeans(samples, 3, init=initial).converged


@pytest.mark.parametrize("weighted", WEIGHTINGS, ids=WEIGHTING_IDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("seed", first_fast(SEEDS), ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("shape", SHAPES + [(3000, 4, 40)], ids=SHAPE_IDS + ["n3000-d4-k40"])
def test_bounds_give_the_plain_answer_bit_for_bit(op, shape, seed, dtype, weighted):
    samples, initial = random_case(seed, *shape, dtype=dtype)
    weights = some_weights(len(samples), seed) if weighted else None
    runs = [
        eager.kmeans(samples, shape[2], init=initial, algorithm=algorithm, sample_weight=weights)
        for algorithm in eager.ALGORITHMS
    ]
    for run in runs[1:]:
        np.testing.assert_array_equal(run.labels, runs[0].labels)
        np.testing.assert_array_equal(run.centroids, runs[0].centroids)
        assert (run.n_iter, run.converged, run.inertia) == (runs[0].n_iter, runs[0].converged, runs[0].inertia)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", ODD_SHAPES, ids=lambda s: "n{}-d{}-k{}".format(*s))
def test_the_changes_pass_sums_the_changed_samples(op, native_kernel, shape, dtype):
    n_samples, n_features, n_clusters = shape
    rng = np.random.RandomState(n_samples + n_features)
    samples = rng.normal(size=(n_samples, n_features)).astype(dtype)
    centroids = rng.normal(size=(n_clusters, n_features)).astype(dtype)
    labels, _, _ = run(op, samples, centroids)
    old_labels = np.where(rng.rand(n_samples) < 0.5, labels, rng.randint(-1, n_clusters, n_samples))
    new_labels, sum_changes, count_changes, member_changes, changed = (
        t.numpy() for t in native_kernel.nearest_centroid_changes(samples, centroids, old_labels)
    )
    np.testing.assert_array_equal(new_labels, labels)
    expected_sums, expected_counts, _ = change_sums(samples, labels, old_labels, n_clusters)
    np.testing.assert_allclose(sum_changes, expected_sums, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(count_changes, expected_counts)
    np.testing.assert_array_equal(member_changes, expected_counts)
    assert changed == np.count_nonzero(labels != old_labels)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_from_no_labels_the_changes_are_the_sums(op, native_kernel, dtype):
    samples, centroids = random_case(2, 9000, 4, 20, dtype=dtype)
    labels, sums, counts = run(op, samples, centroids)
    _, sum_changes, count_changes, _, changed = native_kernel.nearest_centroid_changes(
        samples, centroids, -np.ones(len(samples), np.int64)
    )
    np.testing.assert_array_equal(sum_changes.numpy(), sums)  # bit for bit: the same rows in the same order
    np.testing.assert_array_equal(count_changes.numpy(), counts)
    assert changed.numpy() == len(samples)


@pytest.mark.parametrize("weighted", WEIGHTINGS, ids=WEIGHTING_IDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_bounds_hold_and_the_bounded_pass_equals_the_plain_one(native_kernel, dtype, weighted):
    kernel = native_kernel
    samples, centroids = random_case(5, 4000, 5, 30, dtype=dtype)
    weights = some_weights(len(samples)) if weighted else None
    # Exact ties too: samples halfway between two centroids, and a duplicated centroid.
    samples[:10] = (centroids[0] + centroids[1]) / 2
    centroids[7] = centroids[8]
    norms = (samples.astype(np.float64) ** 2).sum(axis=1)
    norm_bound = tf.constant(max(norms.max(), (centroids.astype(np.float64) ** 2).sum(axis=1).max()), tf.float64)
    unknown = (-np.ones(len(samples), np.int64), np.full(len(samples), np.inf), np.zeros(len(samples)))
    state = kernel.nearest_centroid_changes_bounded(samples, centroids, centroids, *unknown, norms, norm_bound, weights)
    assert state[-1].numpy() == 0  # infinite bounds prove nothing: every row measured
    state = state[:3]
    rng = np.random.RandomState(0)
    for step in range(4):  # move the centroids a little, as iterations do, and compare each pass
        moved = (centroids + rng.normal(0, 0.3 / (step + 1), centroids.shape)).astype(dtype)
        labels, upper, lower, sum_changes, count_changes, member_changes, changed, skipped = (
            t.numpy()
            for t in kernel.nearest_centroid_changes_bounded(
                samples, moved, centroids, *state, norms, norm_bound, weights
            )
        )
        plain = [t.numpy() for t in kernel.nearest_centroid_changes(samples, moved, state[0], weights)]
        for got, expected in zip((labels, sum_changes, count_changes, member_changes, changed), plain):
            np.testing.assert_array_equal(got, expected)
        assert 0 < skipped <= len(samples) - changed  # a row the bounds proved keeps its label
        distances = np.sqrt(((samples[:, None, :].astype(np.float64) - moved[None]) ** 2).sum(axis=2))
        own = distances[np.arange(len(samples)), labels]
        others = np.where(np.arange(moved.shape[0]) == labels[:, None], np.inf, distances).min(axis=1)
        assert np.all(upper >= own) and np.all(lower <= others * (1 + 1e-12))
        state, centroids = (labels, upper, lower), moved


@pytest.mark.parametrize("layout", ["dense", "sparse"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_a_centroid_that_swings_costs_its_own_distances_not_every_rows_bound(native_kernel, dtype, layout):
    samples, centroids = random_case(7, 4000, 5, 30, dtype=dtype)
    rows = tf.constant(samples) if layout == "dense" else sparse.to_tensor(scipy.sparse.csr_matrix(samples))
    norms = (samples.astype(np.float64) ** 2).sum(axis=1)
    norm_bound = tf.constant(4 * max(norms.max(), (centroids.astype(np.float64) ** 2).sum(axis=1).max()), tf.float64)
    unknown = (-np.ones(len(samples), np.int64), np.full(len(samples), np.inf), np.zeros(len(samples)))
    bounded = native_kernel.nearest_centroid_changes_bounded
    labels, upper, lower = (t.numpy() for t in bounded(rows, centroids, centroids, *unknown, norms, norm_bound)[:3])
    # Every centroid moves a little, one far: Hamerly's one lower bound per row would fall by the far move.
    moved = (centroids + np.random.RandomState(1).normal(0, 1e-4, centroids.shape)).astype(dtype)
    moved[3] += 10.0
    got = [t.numpy() for t in bounded(rows, moved, centroids, labels, upper, lower, norms, norm_bound)]
    plain = [t.numpy() for t in native_kernel.nearest_centroid_changes(rows, moved, labels)]
    for got_one, expected in zip([got[0], *got[3:7]], plain):
        np.testing.assert_array_equal(got_one, expected)
    new_labels, new_upper, new_lower, skipped = got[0], got[1], got[2], got[-1]
    distances = np.sqrt(((samples[:, None, :].astype(np.float64) - moved[None]) ** 2).sum(axis=2))
    own = distances[np.arange(len(samples)), new_labels]
    others = np.where(np.arange(len(moved)) == new_labels[:, None], np.inf, distances).min(axis=1)
    assert np.all(new_upper >= own) and np.all(new_lower <= others * (1 + 1e-12))
    moves = np.sqrt(((moved.astype(np.float64) - centroids) ** 2).sum(axis=1))
    by_one_bound = np.mean(upper + moves[labels] <= lower - moves.max())
    assert by_one_bound < 0.01 and skipped >= 0.9 * len(samples), (by_one_bound, skipped)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("n_samples", [1, 7, 70001])
def test_inertia_op_sums_exact_squared_distances(native_kernel, dtype, n_samples):
    rng = np.random.RandomState(n_samples)
    samples = (rng.normal(size=(n_samples, 5)) + 1000).astype(dtype)  # far from the origin: no expansion here
    centroids = (rng.normal(size=(4, 5)) + 1000).astype(dtype)
    labels = rng.randint(4, size=n_samples)
    total = native_kernel.sum_squared_distances(samples, centroids, labels).numpy()
    expected = ((samples.astype(np.float64) - centroids[labels]) ** 2).sum()
    assert total == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", ODD_SHAPES, ids=lambda s: "n{}-d{}-k{}".format(*s))
def test_weighted_sums_counts_and_members_equal_numpy(native_kernel, shape, dtype):
    n_samples, n_features, n_clusters = shape
    rng = np.random.RandomState(n_samples + n_clusters)
    samples = rng.normal(size=(n_samples, n_features)).astype(dtype)
    centroids = rng.normal(size=(n_clusters, n_features)).astype(dtype)
    weights = some_weights(n_samples, n_features)
    labels, sums, counts, members = (
        t.numpy() for t in native_kernel.nearest_centroid_sums(samples, centroids, weights)
    )
    np.testing.assert_array_equal(labels, run(native_kernel.nearest_centroid_sums, samples, centroids)[0])
    expected = change_sums(samples, labels, -np.ones(n_samples, np.int64), n_clusters, weights)
    np.testing.assert_allclose(sums, expected[0], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(counts, expected[1], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(members, expected[2])  # samples of weight > 0, exactly

    old_labels = np.where(rng.rand(n_samples) < 0.5, labels, rng.randint(-1, n_clusters, n_samples))
    new_labels, *changes = (
        t.numpy() for t in native_kernel.nearest_centroid_changes(samples, centroids, old_labels, weights)
    )
    expected = change_sums(samples, labels, old_labels, n_clusters, weights)
    np.testing.assert_array_equal(new_labels, labels)
    np.testing.assert_allclose(changes[0], expected[0], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(changes[1], expected[1], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(changes[2], expected[2])
    assert changes[3] == np.count_nonzero(labels != old_labels)  # a changed label counts whatever its weight


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_weights_of_one_give_the_unweighted_pass_bit_for_bit(native_kernel, dtype):
    samples, centroids = random_case(4, 9000, 6, 20, dtype=dtype)
    plain = native_kernel.nearest_centroid_sums(samples, centroids)
    ones = native_kernel.nearest_centroid_sums(samples, centroids, np.ones(len(samples)))
    for got, expected in zip(ones, plain):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    labels = plain[0]
    assert (
        native_kernel.sum_squared_distances(samples, centroids, labels, np.ones(len(samples))).numpy()
        == native_kernel.sum_squared_distances(samples, centroids, labels).numpy()
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("n_samples", [1, 7, 70001])
def test_inertia_op_weighs_each_squared_distance(native_kernel, dtype, n_samples):
    rng = np.random.RandomState(n_samples)
    samples = rng.normal(size=(n_samples, 5)).astype(dtype)
    centroids = rng.normal(size=(4, 5)).astype(dtype)
    labels, weights = rng.randint(4, size=n_samples), some_weights(n_samples, n_samples)
    total = native_kernel.sum_squared_distances(samples, centroids, labels, weights).numpy()
    expected = (((samples.astype(np.float64) - centroids[labels]) ** 2).sum(axis=1) * weights).sum()
    assert total == pytest.approx(expected, rel=1e-12, abs=1e-12)

"""The C kernel's sparse ops (``KmeansTf>Sparse...``) against its dense ops on the same samples made dense.

Each sparse op reads compressed sparse rows (``CsrRows``) by their non-zeros alone; on the
matrix made dense the dense op of the same name gives the same labels, the same sums, counts
and members to float64 rounding, and the same inertia to it. The sparse changes passes give
no sums: ``cluster_sums`` gives them whole, bit for bit the dense ops' exact sums' values, and
``cluster_means`` those values over a divisor per cluster in the samples' dtype, bit for bit
TensorFlow's float64 division and cast.
"""

import os

import numpy as np
import pytest

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import exact, kernels
from kmeans_tf.engine.csr_rows import CsrRows, from_sparse, spec
from tests.cases import DTYPE_IDS, DTYPES, squared_distances
from tests.test_native import WEIGHTING_IDS, WEIGHTINGS, some_weights

# (n_samples, n_features, n_clusters): one cluster; clusters that fill none, one or several
# whole chunks of centroid vectors (8 vectors: 64 floats or 32 doubles) with remainders;
# several blocks of rows (2048 rows or more each); rows so wide and sparse (40 non-zeros of
# 6,000) that the bounded pass leaves the centroids' half gaps unmeasured.
SPARSE_SHAPES = [(1, 1, 1), (7, 3, 5), (100, 7, 1), (300, 12, 33), (2500, 40, 70), (9000, 30, 9), (400, 6000, 30)]
NON_ZEROS_A_ROW = 40  # at most, on average: the density of a wide case
SHAPE_IDS = ["n{}-d{}-k{}".format(*shape) for shape in SPARSE_SHAPES]
N_LLOYD_STEPS = 6


def sparse_case(seed, n_samples, n_features, n_clusters, dtype, density=0.3):
    """Return samples (a dense matrix, mostly zeros), the same as ``CsrRows``, and centroids.

    Every fifth row has no non-zeros and the one after it a single one; every fourth column
    from the fourth has none.
    """
    rng = np.random.RandomState(seed)
    samples = rng.normal(size=(n_samples, n_features)) * (rng.rand(n_samples, n_features) < density)
    samples[:, 3::4] = 0
    samples[::5] = 0
    samples[1::5] = 0
    samples[1::5, rng.randint(min(n_features, 3))] = rng.normal(size=len(samples[1::5]))
    samples = samples.astype(dtype)
    centroids = rng.normal(size=(n_clusters, n_features)).astype(dtype)
    return samples, from_sparse(tf.sparse.from_dense(samples)), centroids


def csr(row_starts, columns, values, n_columns):
    """``CsrRows`` of the four parts given as lists or arrays."""
    values = tf.constant(values)
    return CsrRows(
        tf.constant(row_starts, tf.int64), tf.constant(columns, tf.int32), values, tf.constant(n_columns, tf.int64)
    )


def dense(sparse):
    """The ``CsrRows`` made dense: what the dense ops take."""
    return tf.sparse.to_dense(sparse.to_sparse())


def numpy(outputs):
    return [t.numpy() for t in outputs]


def assert_same_pass(got, expected):
    """Labels, members and changed exactly; sums and counts to float64 rounding."""
    for a, b in zip(got, expected):
        if a.dtype == np.int64:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_a_case_worked_by_hand(native_kernel):
    # Rows [0, 0], [1, 0], [9, 9], [10, 10], [0, 1]: the first has no non-zeros.
    samples = csr([0, 0, 1, 3, 5, 6], [0, 0, 1, 0, 1, 1], np.array([1.0, 9, 9, 10, 10, 1], np.float32), 2)
    centroids = np.array([[0, 0], [10, 10]], np.float32)
    labels, sums, counts, members = numpy(native_kernel.nearest_centroid_sums(samples, centroids))
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(sums, [[1, 1], [19, 19]])
    np.testing.assert_array_equal(counts, [3, 2])
    np.testing.assert_array_equal(members, [3, 2])
    total = native_kernel.sum_squared_distances(samples, centroids, labels).numpy()
    assert total == pytest.approx(1 + 1 + 2 + 0 + 0)


@pytest.fixture(params=SPARSE_SHAPES, ids=SHAPE_IDS)
def shape(request):
    return request.param


@pytest.fixture(params=DTYPES, ids=DTYPE_IDS)
def dtype(request):
    return request.param


@pytest.fixture(params=WEIGHTINGS, ids=WEIGHTING_IDS)
def weights(request, shape):
    """Random weights (some 0) for the case's rows, or None: every weight 1."""
    return some_weights(shape[0], sum(shape)) if request.param else None


@pytest.fixture
def case(shape, dtype):
    """A random sparse case of `shape` and `dtype`: samples (dense), the same as ``CsrRows``, centroids."""
    return sparse_case(sum(shape), *shape, dtype, density=min(0.3, NON_ZEROS_A_ROW / shape[1]))


def test_the_sums_equal_the_dense_ops(native_kernel, case, weights):
    _, sparse, centroids = case
    got = numpy(native_kernel.nearest_centroid_sums(sparse, centroids, weights))
    expected = numpy(native_kernel.nearest_centroid_sums(dense(sparse), centroids, weights))
    assert_same_pass(got, expected)


def test_the_changes_equal_the_dense_ops_but_give_no_sums(native_kernel, shape, case, weights):
    (n_samples, _, n_clusters), (_, sparse, centroids) = shape, case
    old_labels = np.random.RandomState(n_samples).randint(-1, n_clusters, n_samples)  # -1: no label yet
    got = numpy(native_kernel.nearest_centroid_changes(sparse, centroids, old_labels, weights))
    expected = numpy(native_kernel.nearest_centroid_changes(dense(sparse), centroids, old_labels, weights))
    assert got[1].shape == (n_clusters, 0)
    assert_same_pass(got[:1] + got[2:], expected[:1] + expected[2:])


def exponents_of(samples, weights):
    """The units of the case's exact sums: one per column, for its largest value, and the weights'."""
    largest = float(np.abs(samples).max()) or 1.0
    return tf.constant(
        exact.sum_exponents(np.full(samples.shape[1], largest), 1.0 if weights is None else max(weights.max(), 1.0))
    )


@pytest.mark.parametrize("cpus", [1, None], ids=["one CPU", "every CPU"])
def test_the_exact_sums_equal_the_dense_ops_bit_for_bit(native_kernel, case, weights, cpus):
    samples, sparse, centroids = case
    exponents = exponents_of(samples, weights)
    with only_cpus(cpus):  # one part of columns, or several
        got = numpy(native_kernel.nearest_centroid_sums(sparse, centroids, weights, exponents))
    expected = numpy(native_kernel.nearest_centroid_sums(dense(sparse), centroids, weights, exponents))
    for one, other in zip(got, expected):
        assert one.tobytes() == other.tobytes()


@pytest.mark.parametrize("cpus", [1, None], ids=["one CPU", "every CPU"])
@pytest.mark.parametrize("units", ["one bound", "a bound per column"])
def test_cluster_sums_are_the_values_of_the_dense_ops_exact_sums_bit_for_bit(native_kernel, case, weights, cpus, units):
    samples, sparse, centroids = case
    if units == "one bound":  # as sparse rows are prepared: every column's units the same
        exponents = exponents_of(samples, weights)
    else:
        exponents = exact.tf_exponents_of(sparse, kernels.no_weights() if weights is None else tf.constant(weights))
    labels, limbs, *_ = native_kernel.nearest_centroid_sums(dense(sparse), centroids, weights, exponents)
    expected = native_kernel.exact_add(limbs, tf.zeros_like(limbs), exponents[:-1])[1].numpy()
    with only_cpus(cpus):  # one part of clusters, or several
        found = {
            "sparse": native_kernel.cluster_sums(sparse, centroids, labels, weights, exponents),
            "dense": native_kernel.cluster_sums(dense(sparse), centroids, labels, weights, exponents),
            "TensorFlow's ops, sparse": kernels.TensorFlowKernel().cluster_sums(
                sparse, centroids, labels, weights, exponents
            ),
        }
    for name, sums in found.items():
        assert sums.numpy().tobytes() == expected.tobytes(), name


@pytest.mark.parametrize("cpus", [1, None], ids=["one CPU", "every CPU"])
def test_cluster_means_are_the_sums_values_over_the_divisors_bit_for_bit(native_kernel, case, weights, cpus):
    samples, sparse, centroids = case
    exponents = exponents_of(samples, weights)
    labels = native_kernel.nearest_centroid_sums(sparse, centroids, weights, exponents)[0]
    values = native_kernel.cluster_sums(sparse, centroids, labels, weights, exponents)
    n_clusters = len(centroids)
    divisors = tf.constant(np.random.RandomState(n_clusters).uniform(0.1, 1000, n_clusters))  # not whole numbers
    expected = tf.cast(values / divisors[:, None], centroids.dtype).numpy()
    with only_cpus(cpus):
        found = {
            "sparse": native_kernel.cluster_means(sparse, centroids, labels, divisors, weights, exponents),
            "dense": native_kernel.cluster_means(dense(sparse), centroids, labels, divisors, weights, exponents),
            "TensorFlow's ops, sparse": kernels.TensorFlowKernel().cluster_means(
                sparse, centroids, labels, divisors, weights, exponents
            ),
        }
    for name, means in found.items():
        assert means.dtype == centroids.dtype and means.numpy().tobytes() == expected.tobytes(), name


def test_cluster_means_take_one_divisor_per_centroid(native_kernel):
    sparse, centroids, labels = CsrRows(*bad_parts([])), np.ones((2, 3)), np.array([0, 1, 1])
    means = native_kernel.cluster_means(sparse, centroids, labels, np.array([2.0, 0.5])).numpy()
    np.testing.assert_array_equal(means, [[0.5, 0, 1.0], [0, 6.0, 0]])  # GOOD's rows: [1, 0, 2], [0, 0, 0], [0, 3, 0]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"divisors must have one entry per centroid, shape \[2\]"):
        native_kernel.cluster_means(sparse, centroids, labels, np.array([1.0, 2.0, 3.0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels\[2\] = 2 is outside \[0, 2\)"):
        native_kernel.cluster_means(sparse, centroids, np.array([0, 1, 2]), np.array([1.0, 1.0]))


class only_cpus:
    """Within it, this process runs on one of its CPUs (``cpus`` 1), or on all of them (None)."""

    def __init__(self, cpus):
        self.cpus, self.allowed = cpus, os.sched_getaffinity(0)

    def __enter__(self):
        os.sched_setaffinity(0, sorted(self.allowed)[:1] if self.cpus == 1 else self.allowed)

    def __exit__(self, *exception):
        os.sched_setaffinity(0, self.allowed)


def test_a_value_that_is_not_finite_makes_the_sums_nan(native_kernel):
    sparse = csr([0, 2, 3], [0, 2, 1], np.array([1.0, np.nan, 2.0]), 3)
    centroids = np.array([[1.0, 0, 0], [0, 2.0, 0]])
    exponents = tf.constant(exact.sum_exponents(np.full(3, 2.0)))
    sums = native_kernel.nearest_centroid_sums(sparse, centroids, None, exponents)[1].numpy()
    assert np.isnan(sums).all()
    whole = native_kernel.cluster_sums(sparse, centroids, np.array([0, 1]), None, exponents).numpy()
    assert np.isnan(whole).all()
    divisors = np.array([1.0, 2.0])
    assert np.isnan(native_kernel.cluster_means(sparse, centroids, np.array([0, 1]), divisors, None, exponents)).all()


def test_cluster_sums_name_a_bad_label_or_weight(native_kernel):
    sparse, centroids = CsrRows(*bad_parts([])), np.ones((2, 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels\[2\] = 2 is outside \[0, 2\)"):
        native_kernel.cluster_sums(sparse, centroids, np.array([0, 1, 2]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must have one entry per sample, shape \[3\]"):
        native_kernel.cluster_sums(sparse, centroids, np.array([0, 1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"weights\[1\] = -1 should be finite and >= 0"):
        native_kernel.cluster_sums(sparse, centroids, np.array([0, 1, 1]), np.array([1.0, -1.0, 2.0]))


def test_the_inertia_equals_the_dense_ops(native_kernel, shape, case, weights):
    (n_samples, _, n_clusters), (_, sparse, centroids) = shape, case
    labels = np.random.RandomState(n_samples).randint(n_clusters, size=n_samples)
    got = native_kernel.sum_squared_distances(sparse, centroids, labels, weights).numpy()
    expected = native_kernel.sum_squared_distances(dense(sparse), centroids, labels, weights).numpy()
    # The sparse op expands ||x - c||^2 over the non-zeros: float64 rounding relative to the norms.
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_lloyd_steps_with_the_bounded_sparse_op_label_as_the_plain_dense_op(native_kernel, shape, case, weights):
    (n_samples, _, n_clusters), (samples, sparse, _) = shape, case
    centroids = samples[np.random.RandomState(0).choice(n_samples, n_clusters, replace=False)]
    norms = (samples.astype(np.float64) ** 2).sum(axis=1)
    norm_bound = tf.constant(norms.max(), tf.float64)  # means of the samples have no larger norm
    labels = -np.ones(n_samples, np.int64)
    upper, lower = np.full(n_samples, np.inf), np.zeros(n_samples)
    previous = centroids
    counts = np.zeros(n_clusters)
    for step in range(N_LLOYD_STEPS):
        labels_before = labels
        labels, upper, lower, no_sums, count_changes, _, changed, skipped = numpy(
            native_kernel.nearest_centroid_changes_bounded(
                sparse, centroids, previous, labels, upper, lower, norms, norm_bound, weights
            )
        )
        expected = numpy(native_kernel.nearest_centroid_changes(dense(sparse), centroids, labels_before, weights))
        np.testing.assert_array_equal(labels, expected[0], err_msg=f"step {step}")
        assert changed == expected[-1] and no_sums.shape == (n_clusters, 0)
        assert skipped <= n_samples - changed and (skipped == 0 if step == 0 else skipped >= 0)
        sums = native_kernel.cluster_sums(sparse, centroids, labels, weights).numpy()
        np.testing.assert_allclose(sums, native_kernel.cluster_sums(dense(sparse), centroids, labels, weights))
        distances = np.sqrt(squared_distances(samples, centroids))
        own = distances[np.arange(n_samples), labels]
        others = np.where(np.arange(n_clusters) == labels[:, None], np.inf, distances).min(axis=1)
        assert np.all(upper >= own) and np.all(lower <= others * (1 + 1e-12))
        counts = counts + count_changes
        means = sums / np.maximum(counts, 1e-300)[:, None]
        previous, centroids = centroids, np.where(counts[:, None] > 0, means, centroids).astype(samples.dtype)


def test_every_op_takes_a_matrix_without_non_zeros(native_kernel):
    sparse = csr(np.zeros(5), [], np.zeros(0), 3)
    centroids = np.array([[1.0, 1, 1], [0.5, 0, 0]])
    labels, sums, counts, members = numpy(native_kernel.nearest_centroid_sums(sparse, centroids))
    np.testing.assert_array_equal(labels, [1, 1, 1, 1])
    np.testing.assert_array_equal(sums, np.zeros((2, 3)))
    np.testing.assert_array_equal(counts, [0, 4])
    assert native_kernel.sum_squared_distances(sparse, centroids, labels).numpy() == pytest.approx(4 * 0.25)


@pytest.mark.parametrize("dtype", [np.int32, np.float32, np.float64], ids=["int32", "float32", "float64"])
def test_an_aligned_copy_is_a_copy(native_kernel, dtype):
    given = np.arange(-3, 9, dtype=dtype).reshape(3, 4)
    copy = native_kernel.library.kmeans_tf_aligned_copy(given)
    assert copy.dtype == tf.as_dtype(dtype) and copy.numpy().tobytes() == given.tobytes()
    assert native_kernel.library.kmeans_tf_aligned_copy(np.zeros((0, 2), dtype)).shape == (0, 2)


def test_output_shapes_are_known_inside_a_graph(native_kernel):
    @tf.function(input_signature=[spec(tf.float32), tf.TensorSpec([4, 3], tf.float32)])
    def shapes(samples, centroids):
        labels, sums, counts, members = native_kernel.nearest_centroid_sums(samples, centroids)
        assert (labels.shape.as_list(), sums.shape.as_list(), counts.shape.as_list()) == ([None], [4, 3], [4])
        assert members.shape.as_list() == [4]
        no_sums = native_kernel.nearest_centroid_changes(samples, centroids, labels)[1]
        assert no_sums.shape.as_list() == [4, 0]
        assert native_kernel.cluster_sums(samples, centroids, labels).shape.as_list() == [4, 3]
        means = native_kernel.cluster_means(samples, centroids, labels, tf.ones([4], tf.float64))
        assert means.shape.as_list() == [4, 3] and means.dtype == tf.float32
        assert native_kernel.readable(samples).values.shape.as_list() == [None]
        return labels

    assert shapes(from_sparse(tf.sparse.from_dense(tf.eye(10, 3))), tf.ones([4, 3])).shape == (10,)


# Bad sparse samples (row_starts, columns, values, n_columns) against 3 centroids of 3 features,
# and what the op says: every one is refused before a row is read.
GOOD = ([0, 2, 2, 3], [0, 2, 1], [1.0, 2.0, 3.0], 3)  # rows [1, 0, 2], [0, 0, 0], [0, 3, 0]
UNSORTED = "an unsorted or duplicate column; each row's columns must increase"
BAD_SAMPLES = {
    "duplicate column": (([0, 3, 3, 3], [0, 2, 2], ...), r"columns\[2\] = 2 follows 2 in row 0: " + UNSORTED),
    "unsorted column": (([0, 2, 2, 3], [2, 0, 1], ...), r"columns\[1\] = 0 follows 2 in row 0: " + UNSORTED),
    "column out of range": (([0, 2, 2, 3], [0, 3, 1], ...), r"columns\[1\] = 3 \(row 0\) is outside \[0, 3\)"),
    "negative column": (([0, 2, 2, 3], [-1, 2, 1], ...), r"columns\[0\] = -1 \(row 0\) is outside \[0, 3\)"),
    "decreasing row_starts": (([0, 2, 1, 3], ...), r"row_starts\[2\] = 1 follows 2: they must not decrease"),
    "row_starts past nnz": (([0, 5, 2, 3], ...), r"row_starts\[1\] = 5 follows 0: they must not decrease, up to nnz"),
    "row_starts not from 0": (([1, 2, 2, 3], ...), r"row_starts must run from 0 to nnz = 3, not from 1 to 3"),
    "row_starts short of nnz": (([0, 2, 2, 2], ...), r"row_starts must run from 0 to nnz = 3, not from 0 to 2"),
    "no row_starts": (([],), r"row_starts must be of shape \[n_samples \+ 1\], not \[0\]"),
    "wrong width": ((..., ..., ..., 4), r"same columns, not of 4 columns \(n_columns\) and shape \[3, 3\]"),
    "n_columns a vector": ((..., ..., ..., [3]), r"n_columns must be a scalar, not of shape \[1\]"),
    "too few values": ((..., ..., [1.0, 2.0]), r"values must have one entry per column, shape \[3\], not \[2\]"),
}


def bad_parts(changed):
    """GOOD's four parts as tensors, with the parts ``changed`` gives (... keeps GOOD's)."""
    parts = [GOOD[i] if i >= len(changed) or changed[i] is ... else changed[i] for i in range(4)]
    types = (tf.int64, tf.int32, tf.float64, tf.int64)
    return [tf.constant(part, kind) for part, kind in zip(parts, types)]


@pytest.mark.parametrize("changed, message", BAD_SAMPLES.values(), ids=BAD_SAMPLES.keys())
@pytest.mark.parametrize("op", ["sums", "changes", "bounded", "inertia", "cluster sums", "cluster means"])
def test_bad_sparse_samples_are_refused_with_a_clear_message(native_kernel, op, changed, message):
    library, centroids, weights = native_kernel.library, tf.ones([3, 3], tf.float64), tf.zeros([0], tf.float64)
    samples = bad_parts(changed)
    labels, inf, zeros = tf.zeros([3], tf.int64), tf.constant(np.full(3, np.inf)), tf.zeros([3], tf.float64)
    norm_bound, exponents = tf.constant(1e3, tf.float64), tf.fill([4], tf.constant(40.0, tf.float64))
    calls = {
        "sums": lambda: library.kmeans_tf_sparse_nearest_centroid_sums(*samples, centroids, exponents, weights),
        "changes": lambda: library.kmeans_tf_sparse_nearest_centroid_changes(
            *samples, centroids, labels, exponents, weights
        ),
        "bounded": lambda: library.kmeans_tf_sparse_nearest_centroid_changes_bounded(
            *samples, centroids, centroids, labels, inf, zeros, zeros, norm_bound, exponents, weights
        ),
        "inertia": lambda: library.kmeans_tf_sparse_sum_squared_distances(*samples, centroids, labels, weights),
        "cluster sums": lambda: library.kmeans_tf_sparse_cluster_sums(*samples, centroids, labels, exponents, weights),
        "cluster means": lambda: library.kmeans_tf_sparse_cluster_means(
            *samples, centroids, labels, exponents, tf.ones([3], tf.float64), weights
        ),
    }
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        calls[op]()


def test_the_csr_rows_are_the_sparse_tensors():
    sparse = tf.sparse.from_dense(np.array([[1.0, 0, 2], [0, 0, 0], [0, 3, 0]]))
    rows = from_sparse(sparse)
    np.testing.assert_array_equal(rows.row_starts, GOOD[0])
    np.testing.assert_array_equal(rows.columns, GOOD[1])
    np.testing.assert_array_equal(tf.sparse.to_dense(rows.to_sparse()), tf.sparse.to_dense(sparse))
    tail = rows.rows(1, 5)  # rows 1 and 2: fewer at the end
    np.testing.assert_array_equal(tf.sparse.to_dense(tail.to_sparse()), [[0, 0, 0], [0, 3, 0]])


@pytest.mark.parametrize("name, length", [("weights", 2), ("weights", 4), ("labels", 2), ("norms", 4)])
def test_per_sample_inputs_have_one_entry_per_row_of_dense_shape(native_kernel, name, length):
    sparse = CsrRows(*bad_parts([]))
    centroids = np.ones((2, 3))
    inputs = {
        "labels": -np.ones(3, np.int64),
        "upper": np.full(3, np.inf),
        "lower": np.zeros(3),
        "norms": np.array([5.0, 0, 9]),
        "norm_bound": tf.constant(100.0, tf.float64),
        "weights": np.ones(3),
    }
    inputs[name] = np.resize(inputs[name], length)
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"{name} must have one entry per sample, shape \[3\]"):
        native_kernel.nearest_centroid_changes_bounded(sparse, centroids, centroids, **inputs)


def test_a_label_out_of_range_is_named_with_its_row(native_kernel):
    sparse = CsrRows(*bad_parts([]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels\[1\] = 7 is outside \[0, 2\)"):
        native_kernel.sum_squared_distances(sparse, np.ones((2, 3)), np.array([0, 7, 1]))

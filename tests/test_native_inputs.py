"""The C kernel's ops refuse bad input with InvalidArgumentError naming it, never read or write out of bounds."""

import numpy as np
import pytest

from kmeans_tf._tensorflow import tf
from tests.cases import random_case

N_SAMPLES, N_FEATURES, N_CLUSTERS = 10, 3, 4
BAD_LABELS = [N_CLUSTERS, 10**9, 10**12, -2, -(10**12)]


@pytest.fixture
def case():
    """Samples, centroids and their labels, with unknown bounds (a label of -1 and an infinite upper bound)."""
    samples, centroids = random_case(0, N_SAMPLES, N_FEATURES, N_CLUSTERS, dtype=np.float64)
    norms = (samples**2).sum(axis=1)
    return {
        "samples": samples,
        "centroids": centroids,
        "previous_centroids": centroids,
        "labels": -np.ones(N_SAMPLES, np.int64),
        "upper": np.full(N_SAMPLES, np.inf),
        "lower": np.zeros(N_SAMPLES),
        "norms": norms,
        "norm_bound": tf.constant(max(norms.max(), (centroids**2).sum(axis=1).max()), tf.float64),
    }


def bounded(kernel, case):
    return kernel.nearest_centroid_changes_bounded(**case)


def a_bounded_state(kernel, case):
    """The case with the labels and bounds of one bounded pass: every upper bound finite."""
    labels, upper, lower = (t.numpy() for t in bounded(kernel, case)[:3])
    assert np.isfinite(upper).all()
    return dict(case, labels=labels, upper=upper, lower=lower)


@pytest.mark.parametrize(
    "op, lowest, label",
    [("nearest_centroid_changes", -1, label) for label in BAD_LABELS]
    + [("sum_squared_distances", 0, label) for label in BAD_LABELS + [-1]],
)
def test_a_label_out_of_range_is_named_with_its_row(native_kernel, case, op, lowest, label):
    labels = np.zeros(N_SAMPLES, np.int64)
    labels[3] = label
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"labels\[3\] = {label} is outside \[{lowest}, 4\)"):
        getattr(native_kernel, op)(case["samples"], case["centroids"], labels)


def test_a_bad_label_in_a_late_block_of_rows_is_named(native_kernel):
    samples, centroids = random_case(1, 70001, 3, 9)
    labels = native_kernel.nearest_centroid_sums(samples, centroids)[0].numpy()
    labels[[60000, 65000]] = 10**12  # rows in late blocks (of 2048 rows or more): the first is named
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels\[60000\] = 1000000000000 is outside \[-1, 9\)"):
        native_kernel.nearest_centroid_changes(samples, centroids, labels)


@pytest.mark.parametrize("label", BAD_LABELS + [-1])
def test_the_bounded_pass_names_a_label_out_of_range_where_its_bound_is_finite(native_kernel, case, label):
    state = a_bounded_state(native_kernel, case)
    state["labels"][3] = label
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"labels\[3\] = {label} is outside \[0, 4\)"):
        bounded(native_kernel, state)


@pytest.mark.parametrize("label", [-2, N_CLUSTERS, 10**12])
def test_the_bounded_pass_names_a_label_out_of_range_where_its_bound_is_infinite(native_kernel, case, label):
    case["labels"][3] = label
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"labels\[3\] = {label} is outside \[-1, 4\)"):
        bounded(native_kernel, case)


@pytest.mark.parametrize("shape", [(0,), (1,), (5,), (1, 1)])
def test_the_norm_bound_must_be_a_scalar(native_kernel, case, shape):
    case["norm_bound"] = np.full(shape, 1e9)
    with pytest.raises(tf.errors.InvalidArgumentError, match="norm_bound must be a scalar"):
        bounded(native_kernel, case)


@pytest.mark.parametrize("name", ["labels", "upper", "lower", "norms"])
@pytest.mark.parametrize("length", [0, N_SAMPLES - 1, N_SAMPLES + 1])
def test_every_per_sample_input_of_the_bounded_pass_has_one_entry_per_sample(native_kernel, case, name, length):
    case[name] = case[name][:length] if length < N_SAMPLES else np.concatenate([case[name], case[name][:1]])
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"{name} must have one entry per sample, shape \[10\]"):
        bounded(native_kernel, case)


@pytest.mark.parametrize(
    "shape", [(N_CLUSTERS - 1, N_FEATURES), (N_CLUSTERS, N_FEATURES + 1), (N_CLUSTERS * N_FEATURES,)]
)
def test_the_previous_centroids_have_the_centroids_shape(native_kernel, case, shape):
    case["previous_centroids"] = np.zeros(shape)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"previous_centroids must have the centroids' shape"):
        bounded(native_kernel, case)


@pytest.mark.parametrize(
    "op",
    ["nearest_centroid_sums", "nearest_centroid_changes", "nearest_centroid_changes_bounded", "sum_squared_distances"],
)
def test_every_op_needs_a_centroid(native_kernel, case, op):
    case["centroids"] = case["previous_centroids"] = np.zeros((0, N_FEATURES))
    case["labels"] = np.zeros(N_SAMPLES, np.int64) if op == "sum_squared_distances" else case["labels"]
    arguments = {
        "nearest_centroid_sums": ["samples", "centroids"],
        "nearest_centroid_changes": ["samples", "centroids", "labels"],
        "sum_squared_distances": ["samples", "centroids", "labels"],
    }.get(op, list(case))
    with pytest.raises(tf.errors.InvalidArgumentError, match="centroids must have at least one row"):
        getattr(native_kernel, op)(*(case[name] for name in arguments))


def test_inertia_op_refuses_a_label_out_of_range(native_kernel):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels\[1\] = 2 is outside \[0, 2\)"):
        native_kernel.sum_squared_distances(tf.zeros([3, 2]), tf.zeros([2, 2]), tf.constant([0, 2, 1], tf.int64))


def test_float32_centroids_are_at_most_2_to_the_24(native_kernel):
    # The float pass counts centroid indices in float lanes: beyond 2**24 they would round.
    with pytest.raises(tf.errors.InvalidArgumentError, match="float32 centroids must have at most 16777216 rows"):
        native_kernel.nearest_centroid_sums(tf.zeros([1, 1]), tf.zeros([2**24 + 1, 1]))


PASS_OPS = [
    "nearest_centroid_sums",
    "nearest_centroid_changes",
    "nearest_centroid_changes_bounded",
    "sum_squared_distances",
]


def call_with_weights(kernel, op, case, weights):
    """Call ``op`` on the case with ``weights``: every op takes them last."""
    if op == "nearest_centroid_changes_bounded":
        return bounded(kernel, dict(case, weights=weights))
    labels = np.zeros(N_SAMPLES, np.int64) if op == "sum_squared_distances" else case["labels"]
    inputs = [case["samples"], case["centroids"]] + ([] if op == "nearest_centroid_sums" else [labels])
    return getattr(kernel, op)(*inputs, weights)


@pytest.mark.parametrize("op", PASS_OPS)
@pytest.mark.parametrize("weight", [-1.0, -1e-300, np.nan, np.inf, -np.inf], ids=str)
def test_a_bad_weight_is_named_with_its_row(native_kernel, case, op, weight):
    weights = np.ones(N_SAMPLES)
    weights[3] = weight
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"weights\[3\] = \S+ should be finite and >= 0"):
        call_with_weights(native_kernel, op, case, weights)


@pytest.mark.parametrize("op", PASS_OPS)
@pytest.mark.parametrize("shape", [(N_SAMPLES - 1,), (N_SAMPLES + 1,), (1,), (1, N_SAMPLES), ()])
def test_the_weights_have_one_entry_per_sample_or_none(native_kernel, case, op, shape):
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"weights must have one entry per sample, shape \[10\], or shape \[0\]"
    ):
        call_with_weights(native_kernel, op, case, np.ones(shape))


@pytest.mark.parametrize("op", PASS_OPS)
def test_zero_weights_count_for_nothing_and_an_empty_vector_means_every_weight_is_1(native_kernel, case, op):
    unweighted = tf.nest.flatten(call_with_weights(native_kernel, op, case, None))
    ones = tf.nest.flatten(call_with_weights(native_kernel, op, case, np.zeros(0)))
    zeros = tf.nest.flatten(call_with_weights(native_kernel, op, case, np.zeros(N_SAMPLES)))
    for got, expected in zip(ones, unweighted):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    if op == "sum_squared_distances":
        assert zeros[0].numpy() == 0
        return
    np.testing.assert_array_equal(zeros[0].numpy(), unweighted[0].numpy())  # the same labels
    first = 3 if op == "nearest_centroid_changes_bounded" else 1  # after the labels (and the bounds)
    sums, counts, members = (t.numpy() for t in zeros[first : first + 3])
    assert not sums.any() and not counts.any() and not members.any()


def test_a_bad_weight_in_a_late_block_of_rows_is_named(native_kernel):
    samples, centroids = random_case(1, 70001, 3, 9)
    weights = np.ones(len(samples))
    weights[[60000, 65000]] = -2.5  # rows in late blocks (of 2048 rows or more): the first is named
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"weights\[60000\] = -2.5 should be finite and >= 0"):
        native_kernel.nearest_centroid_sums(samples, centroids, weights)

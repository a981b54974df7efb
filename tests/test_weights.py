"""Sample weights: their meaning (repeated rows, scikit-learn's weighted k-means), the door's checks, and the CLI.

The kernel's own weighted tests are in test_native.py and test_native_inputs.py.
"""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn import datasets
from sklearn.cluster import KMeans

from compat import eager
from kmeans_tf import cli
from kmeans_tf.engine import seeding
from tests.cases import DTYPE_IDS, DTYPES, random_case, shipped, squared_distances

PATHS = ["native_kernel", "without_native_kernel"]
PATH_IDS = ["C-kernel", "TF-ops"]
SHIPPED = [("iris", 3), ("wine", 3), ("breast_cancer", 2), ("diabetes", 6)]


@pytest.fixture(params=PATHS, ids=PATH_IDS)
def path(request):
    """Run the test once on the fused C kernel (skipped where it is not available) and once on TensorFlow's ops."""
    request.getfixturevalue(request.param)
    return request.param


def random_weights(n_samples, seed, zeros=0.0):
    """Weights in [0.5, 2), a fraction ``zeros`` of them 0."""
    rng = np.random.RandomState(seed)
    weights = rng.uniform(0.5, 2, n_samples)
    weights[rng.rand(n_samples) < zeros] = 0
    return weights


# ---------------------------------------------------------------------------
# Integer weights are repeated rows
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("seed", range(4), ids=lambda s: f"seed{s}")
def test_integer_weights_give_the_answer_of_repeated_rows(path, dtype, seed):
    samples, initial = random_case(seed, 300, 3, 5, dtype=dtype)
    counts = np.random.RandomState(seed).randint(1, 4, len(samples))
    # tol=0: the run stops when the labels stop changing, as it does on the repeated rows. With
    # tol > 0 the two could stop at different iterations: the tolerance is relative to the
    # variance of the rows as given (unweighted, as in scikit-learn), which repeating changes.
    weighted = eager.kmeans(samples, 5, init=initial, tol=0, sample_weight=counts)
    repeated = eager.kmeans(np.repeat(samples, counts, axis=0), 5, init=initial, tol=0)
    first_copies = np.cumsum(counts) - counts
    np.testing.assert_array_equal(weighted.labels, repeated.labels[first_copies])
    assert (weighted.n_iter, weighted.converged) == (repeated.n_iter, repeated.converged)
    # w * x once or x added w times: sums that differ in the last bits of the dtype.
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(weighted.centroids, repeated.centroids, rtol=rtol, atol=rtol)
    assert weighted.inertia == pytest.approx(repeated.inertia, rel=rtol)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_integer_weights_at_a_fixed_iteration_count_with_the_default_tol(path, dtype):
    samples, initial = random_case(7, 400, 4, 6, dtype=dtype)
    counts = np.random.RandomState(7).randint(1, 5, len(samples))
    # A fixed iteration count (max_iter, never reached by tol here) leaves the tolerance out of it.
    for max_iter in (1, 2, 3):
        weighted = eager.kmeans(samples, 6, init=initial, max_iter=max_iter, sample_weight=counts)
        repeated = eager.kmeans(np.repeat(samples, counts, axis=0), 6, init=initial, max_iter=max_iter)
        assert weighted.n_iter == repeated.n_iter == max_iter
        np.testing.assert_array_equal(weighted.labels, repeated.labels[np.cumsum(counts) - counts])
        np.testing.assert_allclose(weighted.centroids, repeated.centroids, rtol=1e-5, atol=1e-5)


def test_weights_of_one_give_the_unweighted_answer_bit_for_bit(path):
    samples, initial = random_case(3, 500, 5, 7, dtype=np.float64)
    plain = eager.kmeans(samples, 7, init=initial)
    ones = eager.kmeans(samples, 7, init=initial, sample_weight=np.ones(len(samples), np.int32))
    np.testing.assert_array_equal(ones.centroids, plain.centroids)
    np.testing.assert_array_equal(ones.labels, plain.labels)
    assert (ones.n_iter, ones.inertia) == (plain.n_iter, plain.inertia)


# ---------------------------------------------------------------------------
# The same answer as scikit-learn's weighted k-means
# ---------------------------------------------------------------------------


def assert_matches_sklearn(samples, initial, weights, tol=1e-4, same_path=True):
    ours = eager.kmeans(samples, len(initial), init=initial, tol=tol, sample_weight=weights)
    theirs = KMeans(len(initial), init=initial, n_init=1, algorithm="lloyd", tol=tol).fit(
        samples, sample_weight=weights
    )
    np.testing.assert_array_equal(ours.labels, theirs.labels_)
    assert ours.n_iter == theirs.n_iter_ or not same_path
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=1e-5)
    np.testing.assert_allclose(ours.centroids, theirs.cluster_centers_, rtol=1e-4, atol=1e-4)
    return ours


@pytest.mark.parametrize("zeros", [0.0, 0.2], ids=["positive", "some-zero"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name, k", SHIPPED, ids=[name for name, _ in SHIPPED])
def test_weighted_kmeans_equals_sklearn_on_shipped_data(path, name, k, dtype, zeros):
    samples = shipped(name).astype(dtype)
    initial = samples[np.random.RandomState(0).choice(len(samples), k, replace=False)]
    assert_matches_sklearn(samples, initial, random_weights(len(samples), k, zeros))


@pytest.mark.parametrize("zeros", [0.0, 0.2], ids=["positive", "some-zero"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("seed", range(4), ids=lambda s: f"seed{s}")
def test_weighted_kmeans_equals_sklearn_on_random_blobs(path, seed, dtype, zeros):
    samples, initial = random_case(seed, 400, 4, 6, dtype=dtype)
    assert_matches_sklearn(samples, initial, random_weights(len(samples), seed, zeros))


@pytest.mark.parametrize("farthest_weight", [1.7, 0.0], ids=["weighted", "weight-0"])
def test_an_empty_cluster_is_relocated_with_its_new_samples_weight_as_sklearn_does(path, farthest_weight):
    samples = shipped("iris")
    # The third centroid is far from everything: it is empty after the first E-step, and takes
    # the sample farthest from its centroid, with that sample's weight (0: it sits at the mean).
    initial = np.vstack([samples[[0, 60]], np.full((1, 4), 100.0)])
    weights = random_weights(len(samples), 1)
    labels = squared_distances(samples, initial).argmin(axis=1)
    farthest = squared_distances(samples, initial)[np.arange(len(samples)), labels].argmax()
    weights[farthest] = farthest_weight
    # Relocated to a sample of weight 0, the cluster sits on the heaviest cluster's centroid,
    # and the next pass's distances to the two tie exactly: the C kernel gives every such
    # tie to the first centroid, as argmin and scikit-learn do, but TensorFlow's matmul may
    # round two equal columns differently, and go on to another local optimum. There the
    # relocation itself is checked: after one iteration the cluster sits on the heaviest one.
    if path == "native_kernel" or farthest_weight > 0:
        ours = assert_matches_sklearn(samples, initial, weights)
        assert np.isfinite(ours.centroids).all()
        return
    first = eager.kmeans(samples, 3, init=initial, max_iter=1, sample_weight=weights)
    theirs = KMeans(3, init=initial, n_init=1, algorithm="lloyd", max_iter=1).fit(samples, sample_weight=weights)
    np.testing.assert_allclose(first.centroids, theirs.cluster_centers_, rtol=1e-12)
    heaviest = np.bincount(first.labels, weights, minlength=3).argmax()
    np.testing.assert_array_equal(first.centroids[2], first.centroids[heaviest])


def test_a_cluster_of_zero_weights_only_is_empty(path):
    samples, initial = random_case(2, 300, 2, 4, dtype=np.float64)
    weights = random_weights(len(samples), 2)
    labels = squared_distances(samples, initial).argmin(axis=1)
    weights[labels == 3] = 0  # cluster 3 has samples, but no weight: scikit-learn relocates it
    assert_matches_sklearn(samples, initial, weights)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_weighted_inertia_equals_sklearns_score(path, dtype):
    samples, centroids = random_case(5, 1000, 3, 8, dtype=dtype)
    weights = random_weights(len(samples), 5, zeros=0.1)
    model = KMeans(8, init=centroids, n_init=1, max_iter=1).fit(samples)
    expected = -model.score(samples, sample_weight=weights)
    got = eager.inertia(samples, model.cluster_centers_, sample_weight=weights)
    assert got == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------------------
# Weighted initialisation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("init", [eager.RANDOM_INIT, eager.KMEANS_PLUSPLUS_INIT])
@pytest.mark.parametrize("seed", range(5), ids=lambda s: f"seed{s}")
def test_initial_centroids_are_samples_of_weight_above_0(init, seed):
    samples, _ = random_case(seed, 200, 2, 6, dtype=np.float64)
    weights = random_weights(len(samples), seed, zeros=0.7)
    chosen = seeding.initial_centroids(samples, 6, init, np.random.RandomState(seed), weights)
    positive = samples[weights > 0]
    assert all((positive == centroid).all(axis=1).any() for centroid in chosen)


def test_weighted_kmeans_plusplus_as_good_as_sklearns_on_average():
    samples, _ = datasets.make_blobs(1000, n_features=2, centers=15, cluster_std=1.5, random_state=4)
    weights = random_weights(len(samples), 4)
    seeds = range(20)
    ours = np.mean([eager.kmeans(samples, 15, seed=s, sample_weight=weights).inertia for s in seeds])
    theirs = np.mean(
        [
            KMeans(15, n_init=1, random_state=s, algorithm="lloyd").fit(samples, sample_weight=weights).inertia_
            for s in seeds
        ]
    )
    # Both are random: a mean over 20 seeds varies by a few percent, so allow 3%.
    assert ours <= theirs * 1.03


def test_n_init_keeps_the_lowest_weighted_inertia():
    samples, _ = random_case(6, 300, 2, 5, dtype=np.float64)
    weights = random_weights(len(samples), 6, zeros=0.2)
    states = []
    best = eager.kmeans(samples, 5, n_init=4, seed=6, tol=0, sample_weight=weights, callback=states.append)
    last = {state.run: state for state in states}  # tol=0: the last iteration changed no label, its inertia is final
    assert len(last) == 4 and all(state.changed == 0 for state in last.values())
    assert best.inertia == min(state.inertia for state in last.values())
    assert best.inertia == pytest.approx(eager.inertia(samples, best.centroids, sample_weight=weights), rel=1e-9)


# ---------------------------------------------------------------------------
# The door
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1, 2, 3, -1.0, 1, 1], r"sample_weight\[3\] = -1.0 should be >= 0 and finite"),
        ([1, 2, np.nan, 1, 1, 1], r"sample_weight\[2\] = nan should be >= 0 and finite"),
        ([1, 2, 1, 1, 1, np.inf], r"sample_weight\[5\] = inf should be >= 0 and finite"),
        ([0, 0, 0, 0, 0, 0], r"should have a weight > 0: all 6 are 0"),
        ([1, 1, 1], r"should have shape \(n_samples,\) = \(6,\), got shape \(3,\)"),
        ([[1, 1, 1, 1, 1, 1]], r"should have shape \(n_samples,\) = \(6,\), got shape \(1, 6\)"),
        (["a"] * 6, r"sample_weight should hold real numbers, got dtype <U1"),
        ([1e308] * 6, r"sample_weight sums to inf"),
    ],
    ids=["negative", "nan", "inf", "all-zero", "short", "2-D", "text", "overflowing-sum"],
)
def test_bad_weights_are_named_at_the_door(weights, message):
    samples = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ValueError, match=message):
        eager.kmeans(samples, 2, sample_weight=np.array(weights))
    with pytest.raises(ValueError, match=message):
        eager.inertia(samples, samples[:2], sample_weight=np.array(weights))


def test_random_init_needs_n_clusters_samples_of_weight_above_0():
    samples = np.arange(12.0).reshape(6, 2)
    weights = [0, 1, 0, 2, 0, 0]
    with pytest.raises(
        ValueError,
        match=r"init='random' draws n_clusters=3 distinct samples of weight > 0, "
        r"but sample_weight has 2",
    ):
        eager.kmeans(samples, 3, init="random", sample_weight=weights)
    assert eager.kmeans(samples, 3, sample_weight=weights, seed=0).inertia == 0  # k-means++ may repeat a sample


def test_zero_weights_and_any_real_dtype_are_accepted():
    samples, initial = random_case(0, 60, 2, 3, dtype=np.float64)
    weights = np.where(np.arange(60) % 3 == 0, 0, 2).astype(np.uint8)
    result = eager.kmeans(samples, 3, init=initial, sample_weight=weights)
    same = eager.kmeans(samples, 3, init=initial, sample_weight=weights.astype(np.float32))
    np.testing.assert_array_equal(result.labels, same.labels)


# ---------------------------------------------------------------------------
# The command line: --weights
# ---------------------------------------------------------------------------

WEIGHTED_CSV = "x,w,y\n0,1,0\n0.5,2,0.2\n0.2,1,0.4\n9,3,9\n9.4,1,9.1\n9.1,0,8.8\n"


def run(*args):
    return CliRunner().invoke(cli.main, [str(arg) for arg in args])


def fit_json(*args):
    result = run("fit", *args, "-k", 2, "--init-seed", 0, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def weighted_csv(tmp_path):
    """Six rows of x, y and a weight w (0 for the last row)."""
    (tmp_path / "points.csv").write_text(WEIGHTED_CSV)
    return tmp_path / "points.csv"


def expected_fit(weights):
    samples = np.array([[0, 0], [0.5, 0.2], [0.2, 0.4], [9, 9], [9.4, 9.1], [9.1, 8.8]])
    return eager.kmeans(samples, 2, seed=0, sample_weight=weights)


@pytest.mark.parametrize("column", ["w", "1", "index:1", "name:w"])
def test_fit_weights_from_a_column_of_the_data_which_is_not_a_feature(weighted_csv, column):
    summary = fit_json(weighted_csv, "--weights", column)
    assert summary["columns"] == ["x", "y"] and summary["n_features"] == 2
    assert summary["weighted"] is True and summary["total_weight"] == 8
    expected = expected_fit([1, 2, 1, 3, 1, 0])
    assert summary["inertia"] == pytest.approx(expected.inertia)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".npy"])
def test_fit_weights_from_a_file(tmp_path, weighted_csv, suffix):
    weights = np.array([1, 2, 1, 3, 1, 0.5])
    path = tmp_path / f"weights{suffix}"
    if suffix == ".npy":
        np.save(path, weights)
    else:
        path.write_text(("weight\n" if suffix == ".csv" else "") + "".join(f"{w}\n" for w in weights))
    summary = fit_json(weighted_csv, "--columns", "x,y", "--weights", path)
    assert summary["weighted"] is True and summary["total_weight"] == 8.5
    assert summary["inertia"] == pytest.approx(expected_fit(weights).inertia)


def test_fit_without_weights_says_so(weighted_csv):
    summary = fit_json(weighted_csv, "--columns", "x,y")
    assert summary["weighted"] is False and summary["total_weight"] == 6


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("x,w,y\n0,1,0\n1,-2,1\n5,1,5\n", ["points.csv: row 3, column 2 ('w')", "weight -2.0 should be >= 0"]),
        ("x,w,y\n0,1,0\n1,nan,1\n5,1,5\n", ["points.csv: row 3, column 2 ('w')", "'nan'", "not finite"]),
        ("x,w,y\n0,0,0\n1,0,1\n5,0,5\n", ["points.csv", "column 2 ('w')", "every weight is 0"]),
    ],
)
def test_fit_bad_weights_in_a_column_are_one_line_naming_file_row_and_value(tmp_path, text, fragments):
    path = tmp_path / "points.csv"
    path.write_text(text)
    result = run("fit", path, "-k", 2, "--weights", "w")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    for fragment in fragments:
        assert fragment in result.stderr


def test_fit_bad_weights_files(tmp_path, weighted_csv):
    negative = tmp_path / "negative.csv"
    negative.write_text("w\n1\n1\n-0.5\n1\n1\n1\n")
    result = run("fit", weighted_csv, "-k", 2, "--weights", negative)
    assert result.exit_code == 1 and "negative.csv: row 4, column 1 ('w')" in result.stderr and "-0.5" in result.stderr
    short = tmp_path / "short.csv"
    short.write_text("1\n2\n")
    result = run("fit", weighted_csv, "-k", 2, "--weights", short)
    assert result.exit_code == 1 and "short.csv has 2 weights but" in result.stderr
    wide = tmp_path / "wide.csv"
    wide.write_text("1,2\n" * 6)
    result = run("fit", weighted_csv, "-k", 2, "--weights", wide)
    assert result.exit_code == 1 and "wide.csv has 2 columns; a weights file has one" in result.stderr
    npy = tmp_path / "negative.npy"
    np.save(npy, np.array([1, 1, 1, 1, -3.0, 1]))
    result = run("fit", weighted_csv, "-k", 2, "--weights", npy)
    assert result.exit_code == 1 and "negative.npy: row 5" in result.stderr and "-3.0" in result.stderr


def test_fit_weights_column_problems(weighted_csv):
    result = run("fit", weighted_csv, "-k", 2, "--weights", "v")
    assert result.exit_code == 1 and "no column named 'v'" in result.stderr
    result = run("fit", weighted_csv, "-k", 2, "--weights", "w", "--columns", "x,w")
    assert result.exit_code == 1 and "--weights column 'w' is also in --columns" in result.stderr
    result = run("fit", weighted_csv, "-k", 2, "--weights", "x,y")
    assert result.exit_code == 2 and "one column" in result.stderr
    result = run("fit", weighted_csv, "-k", 2, "--weights", "missing.csv")
    assert result.exit_code == 2 and "missing.csv" in result.stderr


def test_fit_help_says_the_weights_rule():
    text = " ".join(run("fit", "--help").stdout.split())
    assert "--weights" in text and "excluded from the features" in text and "one weight per row" in text


def test_weighted_k_means_parallel_never_seeds_on_a_zero_weight_sample():
    samples, _ = random_case(1, 300, 2, 4, dtype=np.float64)
    weights = np.ones(len(samples))
    weights[:150] = 0
    for seed in range(5):
        initial = eager.kmeans(
            samples, 4, init="k-means||", seed=seed, max_iter=1, keep_history=True, sample_weight=weights
        ).centroid_history[0]
        rows = squared_distances(samples, initial).argmin(axis=0)  # the sample each centroid sits on
        assert (rows >= 150).all(), rows

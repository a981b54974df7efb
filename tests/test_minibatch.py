"""kmeans_tf.MiniBatchKMeans: scikit-learn's estimator checks, steps by hand, quality beside scikit-learn's, door."""

import json
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import MiniBatchKMeans as SklearnMiniBatchKMeans
from sklearn.cluster import kmeans_plusplus
from sklearn.datasets import make_blobs
from sklearn.utils.estimator_checks import parametrize_with_checks

from compat.eager import MiniBatchKMeans, minibatch_kmeans
from tests.cases import DTYPE_IDS, DTYPES, fit_outputs, native_switched_off, run, shipped

# Each entry: a check that cannot pass, and why (scikit-learn's own MiniBatchKMeans lists the same ones).
WEIGHTS_ARE_NOT_REPEATS = (
    "fit draws its batches and seeding rows at random, so a data set with repeated rows draws other batches "
    "than the weighted one; where nothing is drawn (partial_fit from an init array) integer weights equal "
    "repeated rows (test_integer_weights_are_repeated_rows_in_partial_fit)"
)
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": WEIGHTS_ARE_NOT_REPEATS,
    "check_sample_weight_equivalence_on_sparse_data": WEIGHTS_ARE_NOT_REPEATS,
}

SHIPPED = [("iris", 3), ("wine", 3), ("breast_cancer", 2), ("diabetes", 6)]
# Mini-batch runs from the same centroids still draw different batches, so single runs differ by a few
# percent; means over this many seeds are compared, from k-means++ centroids (runs from a poor start
# fall into different local minima, which would swamp the comparison).
QUALITY_SEEDS = range(10)
QUALITY_RTOL = 0.03


def blobs(n_samples=4000, n_features=6, centers=12, seed=0):
    return make_blobs(n_samples, n_features=n_features, centers=centers, cluster_std=2.0, random_state=seed)[0]


@parametrize_with_checks(
    [MiniBatchKMeans(n_clusters=2, n_init=2, max_iter=5, batch_size=10)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_scikit_learns_estimator_checks(estimator, check, either_path):
    check(estimator)


# ---------------------------------------------------------------------------
# Steps worked by hand
# ---------------------------------------------------------------------------


def test_each_step_moves_a_centroid_to_the_weighted_mean_of_all_its_rows(either_path):
    model = MiniBatchKMeans(2, init=np.array([[0.0, 0.0], [10.0, 10.0]]), reassignment_ratio=0)
    # Cluster 0 gets (1, 0) and (0, 1): its mean (0.5, 0.5), count 2; cluster 1 gets (9, 10) of weight 2.
    model.partial_fit(np.array([[1.0, 0.0], [0.0, 1.0], [9.0, 10.0]]), sample_weight=[1, 1, 2])
    np.testing.assert_allclose(model.cluster_centers_, [[0.5, 0.5], [9.0, 10.0]])
    # (2, 2) of weight 2 joins count 2: (0.5 * 2 + 2 * 2) / 4 = 1.25; cluster 1 gets nothing and stays.
    model.partial_fit(np.array([[2.0, 2.0]]), sample_weight=[2])
    np.testing.assert_allclose(model.cluster_centers_, [[1.25, 1.25], [9.0, 10.0]])
    np.testing.assert_array_equal(model.labels_, [0])
    assert model.inertia_ == pytest.approx(2 * 2 * 0.75**2)  # of the rows just given
    assert model.n_steps_ == 2


def test_a_cluster_left_behind_moves_to_a_row_of_the_batch():
    # Cluster 1 starts far from every row: it never gets one, and at the first look at small
    # clusters (a cluster with no rows is always looked at) it moves to one of the batch's rows.
    rows = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = MiniBatchKMeans(2, init=np.array([[1.5], [100.0]]), random_state=0).partial_fit(rows)
    assert model.cluster_centers_[0, 0] == pytest.approx(1.5)
    assert model.cluster_centers_[1, 0] in rows[:, 0]
    # Its count became the smallest other count (scikit-learn's rule), so it is not moved again at once.
    np.testing.assert_array_equal(model._state.counts, [4, 4])


def test_integer_weights_are_repeated_rows_in_partial_fit(either_path):
    samples = blobs(600, n_features=3, centers=4)
    counts = np.random.RandomState(0).randint(1, 4, len(samples))
    initial = samples[:4]
    weighted = MiniBatchKMeans(4, init=initial, reassignment_ratio=0)
    repeated = MiniBatchKMeans(4, init=initial, reassignment_ratio=0)
    for rows in np.array_split(np.arange(len(samples)), 6):
        weighted.partial_fit(samples[rows], sample_weight=counts[rows])
        repeated.partial_fit(np.repeat(samples[rows], counts[rows], axis=0))
    # w * x once or x added w times: float64 sums that differ in the last bits.
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_the_kernel_and_tensorflows_ops_make_the_same_steps(native_kernel, dtype):
    samples = blobs(2000, n_features=5, centers=8).astype(dtype)
    initial = samples[:8]

    def steps():
        model = MiniBatchKMeans(8, init=initial, reassignment_ratio=0)
        for chunk in np.array_split(samples, 10):
            model.partial_fit(chunk)
        return model

    on_kernel = steps()
    with native_switched_off():
        on_ops = steps()
    models = [on_kernel, on_ops]
    # Both sum each cluster in float64; the labels agree, so the centroids agree to float32's rounding.
    np.testing.assert_allclose(models[0].cluster_centers_, models[1].cluster_centers_, rtol=1e-5)
    np.testing.assert_array_equal(models[0].labels_, models[1].labels_)


# ---------------------------------------------------------------------------
# Quality beside scikit-learn's MiniBatchKMeans
# ---------------------------------------------------------------------------


def mean_inertias(samples, n_clusters, batch_size, sample_weight=None, **options):
    """Mean final inertia of ours and scikit-learn's fit over QUALITY_SEEDS, from the same k-means++ centroids."""
    initial = kmeans_plusplus(samples, n_clusters, random_state=0)[0]
    ours, theirs = [], []
    for seed in QUALITY_SEEDS:
        ours.append(
            MiniBatchKMeans(n_clusters, init=initial, batch_size=batch_size, random_state=seed, **options)
            .fit(samples, sample_weight=sample_weight)
            .inertia_
        )
        theirs.append(
            SklearnMiniBatchKMeans(
                n_clusters, init=initial, n_init=1, batch_size=batch_size, random_state=seed, **options
            )
            .fit(samples, sample_weight=sample_weight)
            .inertia_
        )
    return np.mean(ours), np.mean(theirs)


@pytest.mark.slow
def test_fit_reaches_scikit_learns_inertia_on_blobs(either_path):
    ours, theirs = mean_inertias(blobs(), 12, batch_size=256)
    assert ours == pytest.approx(theirs, rel=QUALITY_RTOL)


@pytest.mark.parametrize("name, k", SHIPPED, ids=[name for name, _ in SHIPPED])
def test_fit_reaches_scikit_learns_inertia_on_the_shipped_data_sets(name, k):
    ours, theirs = mean_inertias(shipped(name), k, batch_size=32)
    assert ours == pytest.approx(theirs, rel=QUALITY_RTOL)


def test_weighted_fit_reaches_scikit_learns_weighted_inertia():
    samples = blobs()
    weights = np.random.RandomState(1).uniform(0.5, 2, len(samples))
    ours, theirs = mean_inertias(samples, 12, batch_size=256, sample_weight=weights)
    assert ours == pytest.approx(theirs, rel=QUALITY_RTOL)


@pytest.mark.parametrize(
    "name, k",
    [
        pytest.param(name, k, id=name, marks=[] if name == "iris" else pytest.mark.slow)
        for name, k in [("blobs", 12), *SHIPPED]
    ],
)
def test_partial_fit_over_chunks_reaches_scikit_learns_inertia(name, k):
    samples = blobs() if name == "blobs" else shipped(name)
    initial = kmeans_plusplus(samples, k, random_state=0)[0]
    ours, theirs = [], []
    for seed in QUALITY_SEEDS:
        chunks = np.array_split(samples[np.random.RandomState(seed).permutation(len(samples))], 20)
        mine = MiniBatchKMeans(k, init=initial, random_state=seed)
        reference = SklearnMiniBatchKMeans(k, init=initial, n_init=1, random_state=seed)
        for chunk in chunks:
            mine.partial_fit(chunk)
            reference.partial_fit(chunk)
        ours.append(-mine.score(samples))
        theirs.append(-reference.score(samples))
    assert np.mean(ours) == pytest.approx(np.mean(theirs), rel=QUALITY_RTOL)


@pytest.mark.slow
@pytest.mark.parametrize(
    "init, theirs_init", [("k-means++", "k-means++"), ("random", "random"), ("k-means||", "k-means++")]
)
def test_fit_seeded_by_the_engine_reaches_scikit_learns_inertia(init, theirs_init):
    # Seeding draws differ too here, so the runs spread more: means over 5 seeds, within 10%.
    samples = blobs(20000, n_features=8, centers=20)
    ours = np.mean(
        [MiniBatchKMeans(20, init=init, n_init=3, random_state=seed).fit(samples).inertia_ for seed in range(5)]
    )
    theirs = np.mean(
        [
            SklearnMiniBatchKMeans(20, init=theirs_init, n_init=3, random_state=seed).fit(samples).inertia_
            for seed in range(5)
        ]
    )
    assert ours < 1.1 * theirs


# ---------------------------------------------------------------------------
# The estimator's behaviour
# ---------------------------------------------------------------------------


def test_the_same_random_state_gives_the_same_fit_and_the_fit_pickles():
    samples = blobs()
    first, second = (MiniBatchKMeans(12, n_init=3, batch_size=200, random_state=7).fit(samples) for _ in range(2))
    np.testing.assert_array_equal(first.labels_, second.labels_)
    assert first.inertia_ == second.inertia_ and first.n_steps_ == second.n_steps_
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.predict(samples), first.predict(samples))
    assert clone(first).get_params() == first.get_params() and not hasattr(clone(first), "labels_")


def test_fit_reports_its_steps_and_stops_by_the_inertias_average():
    samples = blobs()
    model = MiniBatchKMeans(12, batch_size=100, max_iter=50, random_state=0).fit(samples)
    assert model.n_steps_ < 50 * len(samples) // 100  # the average stopped improving first
    assert model.n_iter_ == -(-model.n_steps_ * 100 // len(samples))
    everything = MiniBatchKMeans(12, batch_size=100, max_iter=2, max_no_improvement=None, random_state=0).fit(samples)
    assert everything.n_steps_ == 2 * len(samples) // 100 and everything.n_iter_ == 2


def test_tol_stops_when_the_centroids_barely_move():
    samples = blobs()
    loose = MiniBatchKMeans(12, batch_size=100, tol=1e-2, max_no_improvement=None, random_state=0).fit(samples)
    assert loose.n_steps_ < 100 * len(samples) // 100


def test_without_compute_labels_the_inertia_is_the_batches_estimate():
    samples = blobs()
    model = MiniBatchKMeans(12, batch_size=256, compute_labels=False, random_state=0).fit(samples)
    assert not hasattr(model, "labels_")
    exact = -model.score(samples)
    assert 0.5 * exact < model.inertia_ < 2 * exact


def test_partial_fit_goes_on_from_fit_and_keeps_its_features():
    samples = blobs()
    model = MiniBatchKMeans(12, batch_size=256, random_state=0).fit(samples)
    steps, counts = model.n_steps_, model._state.counts.sum()
    model.partial_fit(samples[:300])
    assert model.n_steps_ == steps + 1 and model._state.counts.sum() == counts + 300
    assert model.labels_.shape == (300,)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(samples[:10, :3])


def test_minibatch_kmeans_is_the_fit_as_a_function():
    samples = blobs()
    result = minibatch_kmeans(samples, 12, batch_size=256, seed=3)
    model = MiniBatchKMeans(12, batch_size=256, random_state=3).fit(samples)
    np.testing.assert_array_equal(result.centroids, model.cluster_centers_)
    assert result.inertia == model.inertia_ and result.labels.dtype == np.int64


def test_float32_data_give_float32_centroids_far_from_the_origin():
    # Rows around 1e4 with a spread of 1: the steps work on rows minus a sample's mean, so float32 holds them.
    samples = (blobs(2000, n_features=3, centers=3) + 1e4).astype(np.float32)
    initial = kmeans_plusplus(samples.astype(np.float64), 3, random_state=0)[0]
    model = MiniBatchKMeans(3, init=initial, batch_size=256, random_state=0).fit(samples)
    reference = SklearnMiniBatchKMeans(3, init=initial, n_init=1, batch_size=256, random_state=0).fit(
        samples.astype(np.float64)
    )
    assert model.cluster_centers_.dtype == np.float32
    assert model.inertia_ == pytest.approx(reference.inertia_, rel=QUALITY_RTOL)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"batch_size": 0}, "batch_size=0 should be an integer >= 1"),
        ({"max_iter": 0}, "max_iter=0 should be"),
        ({"tol": -1.0}, "tol=-1.0 should be"),
        ({"reassignment_ratio": -0.5}, "reassignment_ratio=-0.5 should be"),
        ({"max_no_improvement": -1}, "max_no_improvement=-1 should be"),
        ({"init": "kmeans"}, "init='kmeans' should be one of"),
        ({"init_size": 0}, "init_size=0 should be"),
        ({"n_clusters": 50}, "n_samples=40 should be >= n_clusters=50"),
    ],
    ids=[
        "batch_size",
        "max_iter",
        "tol",
        "reassignment_ratio",
        "max_no_improvement",
        "init",
        "init_size",
        "n_clusters",
    ],
)
def test_bad_options_are_refused_at_the_door(options, message):
    samples = blobs(40, n_features=2, centers=3)
    with pytest.raises(ValueError, match=message):
        MiniBatchKMeans(**{"n_clusters": 3, **options}).fit(samples)


def test_an_init_array_with_n_init_warns_and_runs_once():
    samples = blobs(200, n_features=2, centers=3)
    with pytest.warns(RuntimeWarning, match="performing only one init"):
        MiniBatchKMeans(3, init=samples[:3], n_init=3).fit(samples)
    with pytest.warns(RuntimeWarning, match="init_size=2 should be larger than n_clusters=3"):
        MiniBatchKMeans(3, init_size=2).fit(samples)


def counted_init(calls):
    """An init callable that draws distinct rows by the random_state it is given, and counts its calls."""

    def init(rows, n_clusters, random_state):
        calls.append(random_state)
        return rows[random_state.choice(len(rows), n_clusters, replace=False)]

    return init


@pytest.mark.parametrize(
    "kind, runs",
    [("k-means++", 1), ("k-means||", 1), ("array", 1), ("random", 3), ("callable", 3)],
    ids=["kmeans++", "kmeans-parallel", "array", "random", "callable"],
)
def test_n_init_auto_resolves_as_scikit_learns(kind, runs):
    samples = blobs(300, n_features=2, centers=3)

    def init():
        return {"array": samples[:3], "callable": counted_init([])}.get(kind, kind)

    ours = MiniBatchKMeans(3, init=init(), batch_size=64, random_state=0).fit(samples)
    assert ours.n_init == "auto" and ours._n_init == runs
    if kind != "k-means||":  # scikit-learn has no k-means||
        theirs = SklearnMiniBatchKMeans(3, init=init(), batch_size=64, random_state=0).fit(samples)
        assert theirs._n_init == runs


def test_the_default_n_init_is_auto():
    assert MiniBatchKMeans().get_params()["n_init"] == SklearnMiniBatchKMeans().get_params()["n_init"] == "auto"


@pytest.mark.parametrize("n_init", ["auto", 4], ids=["auto", "n_init4"])
def test_a_callable_init_is_called_once_a_run(n_init):
    samples = blobs(300, n_features=2, centers=3)
    calls = []
    model = MiniBatchKMeans(3, init=counted_init(calls), n_init=n_init, batch_size=64, random_state=0).fit(samples)
    assert len(calls) == model._n_init == (3 if n_init == "auto" else n_init)


def test_partial_fit_resolves_n_init_and_warns_for_an_init_array():
    samples = blobs(200, n_features=2, centers=3)
    assert MiniBatchKMeans(3, init=samples[:3]).partial_fit(samples)._n_init == 1
    with pytest.warns(RuntimeWarning, match="performing only one init in MiniBatchKMeans instead of n_init=2"):
        MiniBatchKMeans(3, init=samples[:3], n_init=2).partial_fit(samples)


@pytest.mark.parametrize("n_init", [0, "many"], ids=["zero", "word"])
def test_a_bad_n_init_is_refused_at_the_door(n_init):
    with pytest.raises(ValueError, match=f"n_init={n_init!r} should be 'auto' or an integer >= 1"):
        MiniBatchKMeans(3, n_init=n_init).fit(blobs(40, n_features=2, centers=3))


# ---------------------------------------------------------------------------
# kmeans-tf fit --mini-batch
# ---------------------------------------------------------------------------


def test_fit_mini_batch_runs_minibatch_kmeans_with_fits_options(tmp_path):
    samples = blobs(3000, n_features=3, centers=5)
    np.save(tmp_path / "blobs.npy", samples)
    weights = np.random.RandomState(0).uniform(0.5, 2, len(samples))
    np.save(tmp_path / "weights.npy", weights)
    result = run(
        "fit",
        tmp_path / "blobs.npy",
        "-k",
        5,
        "--mini-batch",
        256,
        "--init-seed",
        4,
        "--max-iter",
        20,
        "--weights",
        tmp_path / "weights.npy",
        *fit_outputs(tmp_path),
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    expected = minibatch_kmeans(
        samples, 5, batch_size=256, seed=4, max_iter=20, max_no_improvement=10, sample_weight=weights
    )
    assert summary["inertia"] == pytest.approx(expected.inertia, rel=1e-12) and summary["weighted"] is True
    np.testing.assert_array_equal(np.load(tmp_path / "centroids.npy"), expected.centroids)
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "labels.txt", dtype=int), expected.labels)
    assert f"after {expected.n_iter} passes" in result.stderr


def test_fit_mini_batch_refuses_the_options_of_lloyds_iterations(tmp_path):
    np.save(tmp_path / "blobs.npy", blobs(100, n_features=2, centers=2))
    for option, value in [
        ("--tol", "0.1"),
        ("--algorithm", "hamerly"),
        ("--batch-size", "10"),
        ("--trajectory", tmp_path / "path.png"),
    ]:
        result = run("fit", tmp_path / "blobs.npy", "-k", 2, "--mini-batch", 32, option, value)
        assert result.exit_code == 2 and f"{option} does not apply to --mini-batch" in result.stderr
    assert "for an inertia a little higher" in " ".join(run("fit", "--help").stdout.split())

"""kmeans_tf.KMeans: scikit-learn's estimator checks, parity with sklearn.cluster.KMeans, use in pipelines.

And scikit-learn's functions on it: ``k_means`` and ``kmeans_plusplus``.
"""

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from compat.eager import KMeans, k_means, kmeans_plusplus
from tests.cases import DTYPE_IDS, DTYPES, SEEDS, random_case, shipped

# Each entry: a check that cannot pass, and why (scikit-learn's own KMeans lists the same ones).
WEIGHTS_ARE_NOT_REPEATS = (
    "the seeding draws rows at random, so repeated rows draw other initial centroids; "
    "from the same initial centroids integer weights equal repeated rows (tests/test_weights.py)"
)
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": WEIGHTS_ARE_NOT_REPEATS,
    "check_sample_weight_equivalence_on_sparse_data": WEIGHTS_ARE_NOT_REPEATS,
}


@parametrize_with_checks(
    [KMeans(n_clusters=2, n_init=2, max_iter=5)], expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS
)
def test_scikit_learns_estimator_checks(estimator, check, either_path):
    check(estimator)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name, k", [("iris", 3), ("wine", 3), ("breast_cancer", 2), ("diabetes", 6)])
def test_same_answer_as_scikit_learn_from_the_same_init(name, k, dtype, either_path):
    samples = shipped(name).astype(dtype)
    initial = samples[np.random.RandomState(k).choice(len(samples), k, replace=False)]
    ours = KMeans(k, init=initial, n_init=1).fit(samples)
    theirs = SklearnKMeans(k, init=initial, n_init=1, algorithm="lloyd").fit(samples)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-5)
    assert ours.cluster_centers_.dtype == dtype and ours.labels_.dtype == theirs.labels_.dtype
    np.testing.assert_array_equal(ours.predict(samples), theirs.predict(samples))
    np.testing.assert_allclose(ours.transform(samples), theirs.transform(samples), rtol=1e-4, atol=1e-3)
    assert ours.score(samples) == pytest.approx(theirs.score(samples), rel=1e-5)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_same_answer_as_scikit_learn_with_weights(seed, either_path):
    samples, initial = random_case(seed, 400, 4, 6, dtype=np.float64)
    weights = np.random.RandomState(seed).uniform(0, 3, len(samples))
    weights[::7] = 0
    ours = KMeans(6, init=initial, n_init=1).fit(samples, sample_weight=weights)
    theirs = SklearnKMeans(6, init=initial, n_init=1, algorithm="lloyd").fit(samples, sample_weight=weights)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-5)
    assert ours.score(samples, sample_weight=weights) == pytest.approx(
        theirs.score(samples, sample_weight=weights), rel=1e-5
    )


def test_in_a_pipeline_and_a_search_over_n_clusters():
    samples, _ = make_blobs(600, n_features=3, centers=4, cluster_std=0.5, random_state=1)
    pipeline = make_pipeline(StandardScaler(), KMeans(4, random_state=0))
    labels = pipeline.fit_predict(samples)
    assert len(np.unique(labels)) == 4
    search = GridSearchCV(KMeans(random_state=0), {"n_clusters": [2, 3, 4, 5]}, cv=3).fit(samples)
    assert search.best_params_["n_clusters"] in (4, 5)  # the score is -inertia, which more clusters lower


def test_pickles_clones_and_names_its_outputs():
    import pandas as pd

    frame = pd.DataFrame(make_blobs(200, n_features=2, centers=3, random_state=2)[0], columns=["x", "y"])
    fitted = KMeans(3, random_state=0).fit(frame)
    np.testing.assert_array_equal(fitted.feature_names_in_, ["x", "y"])
    assert list(fitted.get_feature_names_out()) == ["kmeans0", "kmeans1", "kmeans2"]
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(frame), fitted.predict(frame))
    assert clone(fitted).get_params() == fitted.get_params() and not hasattr(clone(fitted), "labels_")


def test_transform_honours_set_output_alone_and_in_a_pipeline():
    samples, _ = make_blobs(200, n_features=3, centers=3, random_state=4)
    model = KMeans(3, random_state=0).set_output(transform="pandas").fit(samples)
    frame = model.transform(samples)
    assert list(frame.columns) == ["kmeans0", "kmeans1", "kmeans2"]
    np.testing.assert_allclose(frame.to_numpy(), KMeans(3, random_state=0).fit(samples).transform(samples))
    pipeline = make_pipeline(StandardScaler(), KMeans(3, random_state=0)).set_output(transform="pandas")
    assert list(pipeline.fit_transform(samples).columns) == ["kmeans0", "kmeans1", "kmeans2"]


def test_the_same_random_state_gives_the_same_fit():
    samples, _ = make_blobs(300, centers=5, random_state=3)
    first, second = (KMeans(5, n_init=3, random_state=7).fit(samples) for _ in range(2))
    np.testing.assert_array_equal(first.labels_, second.labels_)
    assert first.inertia_ == second.inertia_


# ---------------------------------------------------------------------------
# n_init and init
# ---------------------------------------------------------------------------


def counted_init(calls):
    """An init callable that draws distinct rows by the random_state it is given, and keeps what it returned."""

    def init(X, n_clusters, random_state):
        calls.append(X[random_state.choice(len(X), n_clusters, replace=False)])
        return calls[-1]

    return init


def init_of_kind(kind, initial):
    return {"array": initial, "callable": counted_init([])}.get(kind, kind)


@pytest.mark.parametrize(
    "kind, runs",
    [("k-means++", 1), ("k-means||", 1), ("array", 1), ("random", 10), ("callable", 10)],
    ids=["kmeans++", "kmeans-parallel", "array", "random", "callable"],
)
def test_n_init_auto_resolves_as_scikit_learns(kind, runs):
    samples, initial = random_case(0, 200, 2, 3, dtype=np.float64)
    ours = KMeans(3, init=init_of_kind(kind, initial), random_state=0).fit(samples)
    assert ours.n_init == "auto" and ours._n_init == runs
    if kind != "k-means||":  # scikit-learn has no k-means||
        theirs = SklearnKMeans(3, init=init_of_kind(kind, initial), random_state=0).fit(samples)
        assert theirs._n_init == runs


def test_the_default_n_init_is_auto():
    assert KMeans().get_params()["n_init"] == SklearnKMeans().get_params()["n_init"] == "auto"


@pytest.mark.parametrize("n_init", ["auto", 4], ids=["auto", "n_init4"])
def test_a_callable_init_is_called_once_a_run_and_the_lowest_inertia_wins(n_init):
    samples, _ = make_blobs(300, centers=4, random_state=5)
    calls = []
    model = KMeans(4, init=counted_init(calls), n_init=n_init, random_state=0).fit(samples)
    assert len(calls) == model._n_init == (10 if n_init == "auto" else n_init)
    assert len({start.tobytes() for start in calls}) > 1  # each run draws with its own random state
    runs = [KMeans(4, init=start, n_init=1).fit(samples) for start in calls]
    best = min(runs, key=lambda run: run.inertia_)
    assert model.inertia_ == best.inertia_
    np.testing.assert_array_equal(model.labels_, best.labels_)


def test_an_init_array_with_n_init_warns_and_runs_once():
    samples, initial = random_case(1, 200, 2, 3, dtype=np.float64)
    with pytest.warns(RuntimeWarning, match="performing only one init in KMeans instead of n_init=3"):
        model = KMeans(3, init=initial, n_init=3).fit(samples)
    assert model._n_init == 1


@pytest.mark.parametrize("n_init", [0, "many", 2.5], ids=["zero", "word", "float"])
def test_a_bad_n_init_is_refused_at_the_door(n_init):
    samples, _ = random_case(2, 50, 2, 3, dtype=np.float64)
    with pytest.raises(ValueError, match=f"n_init={n_init!r} should be 'auto' or an integer >= 1"):
        KMeans(3, n_init=n_init).fit(samples)


# ---------------------------------------------------------------------------
# verbose, algorithm="elkan", and scikit-learn's functions
# ---------------------------------------------------------------------------

NUMBER = r"-?\d+(\.\d+)?(e[-+]\d+)?"


@pytest.mark.parametrize("tol", [1e-2, 0], ids=["tol", "strict"])
def test_verbose_prints_the_lines_of_scikit_learns_kmeans(tol, capsys, either_path):
    samples, initial = random_case(3, 3000, 4, 6, dtype=np.float64)
    weights = np.random.RandomState(3).uniform(0, 2, len(samples))
    KMeans(6, init=initial, n_init=1, tol=tol, verbose=1).fit(samples, sample_weight=weights)
    ours = capsys.readouterr().out.splitlines()
    SklearnKMeans(6, init=initial, n_init=1, tol=tol, verbose=1).fit(samples, sample_weight=weights)
    theirs = capsys.readouterr().out.splitlines()
    assert [re.sub(NUMBER, "#", line) for line in ours] == [re.sub(NUMBER, "#", line) for line in theirs]
    assert ours[0] == "Initialization complete" and ("strict convergence" in ours[-1]) == (tol == 0)
    # The inertias, shift and tolerance equal scikit-learn's to float64 rounding (sums in another order).
    numbers = [[float(found.group()) for found in re.finditer(NUMBER, "\n".join(lines))] for lines in (ours, theirs)]
    np.testing.assert_allclose(*numbers, rtol=1e-9)


def test_elkan_runs_the_bounded_algorithm_and_warns_for_one_cluster_as_scikit_learn(either_path):
    samples, initial = random_case(4, 500, 3, 5, dtype=np.float64)
    elkan, lloyd = (KMeans(5, init=initial, n_init=1, algorithm=name).fit(samples) for name in ("elkan", "lloyd"))
    np.testing.assert_array_equal(elkan.labels_, lloyd.labels_)
    np.testing.assert_array_equal(elkan.cluster_centers_, lloyd.cluster_centers_)
    message = "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead."
    with pytest.warns(RuntimeWarning, match=re.escape(message)):
        KMeans(1, algorithm="elkan").fit(samples)


def test_k_means_returns_the_fit_of_kmeans_with_its_parameters():
    samples, _ = make_blobs(300, centers=4, random_state=6)
    weights = np.random.RandomState(6).uniform(0, 2, len(samples))
    model = KMeans(4, init="random", n_init=3, random_state=2, algorithm="lloyd").fit(samples, sample_weight=weights)
    centroid, label, inertia, best_n_iter = k_means(
        samples, 4, sample_weight=weights, init="random", n_init=3, random_state=2, return_n_iter=True
    )
    np.testing.assert_array_equal(centroid, model.cluster_centers_)
    np.testing.assert_array_equal(label, model.labels_)
    assert (inertia, best_n_iter) == (model.inertia_, model.n_iter_)
    assert len(k_means(samples, 4, random_state=2)) == 3


@pytest.mark.parametrize("n_local_trials", [None, 1], ids=["greedy", "plain"])
def test_kmeans_plusplus_picks_rows_of_weight_above_zero_and_says_which(n_local_trials):
    samples, _ = make_blobs(200, centers=5, random_state=7)
    samples = samples.astype(np.float32)
    weights = np.random.RandomState(7).uniform(size=len(samples))
    weights[::2] = 0
    centers, indices = kmeans_plusplus(
        samples, 10, sample_weight=weights, random_state=7, n_local_trials=n_local_trials
    )
    assert centers.dtype == np.float32 and len(set(indices)) == 10
    np.testing.assert_array_equal(centers, samples[indices])
    assert np.all(indices % 2 == 1)
    again, _ = kmeans_plusplus(samples, 10, sample_weight=weights, random_state=7, n_local_trials=n_local_trials)
    np.testing.assert_array_equal(again, centers)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"n_clusters": 300}, "n_samples=200 should be >= n_clusters=300"),
        ({"n_local_trials": 0}, "n_local_trials=0 should be an integer >= 1"),
        ({"x_squared_norms": np.ones(3)}, r"The length of x_squared_norms \(shape \(3,\)\) should be equal"),
    ],
    ids=["n_clusters", "n_local_trials", "x_squared_norms"],
)
def test_kmeans_plusplus_refuses_bad_options_at_the_door(options, message):
    samples, _ = make_blobs(200, centers=5, random_state=8)
    with pytest.raises(ValueError, match=message):
        kmeans_plusplus(samples, **{"n_clusters": 3, **options})

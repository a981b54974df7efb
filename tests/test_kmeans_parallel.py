"""k-means|| seeding (``init="k-means||"``): a case by hand, its candidates, its quality against k-means++, the door."""

import numpy as np
import pytest
from sklearn import datasets

from compat import eager
from kmeans_tf.engine import seeding
from kmeans_tf.stream import streamed as streaming
from tests.cases import SEEDS, native_switched_off, shipped

PARALLEL = eager.KMEANS_PARALLEL_INIT


def outlier_case():
    """100 samples in the unit square, and one a million away: the first round finds only the outlier."""
    samples = np.random.RandomState(0).uniform(size=(101, 2))
    samples[0] = 1e6
    return samples


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_weighted_kmeans_plusplus_by_hand_never_picks_a_weightless_point(seed):
    points = np.array([[0.0], [1.0], [10.0]])
    # The first pick goes by weight (0 or 2), the second by weight times squared distance: the other one.
    chosen, cost = seeding.weighted_kmeans_plusplus(points, np.array([1.0, 0.0, 1.0]), 2, np.random.RandomState(seed))
    assert sorted(chosen) == [0, 2] and cost == 0.0
    # Three points of weight 1 at 0, 1 and 10, two chosen: the cost of the best pair {0 or 1, 10} is 1.
    _, cost = min(
        (seeding.weighted_kmeans_plusplus(points, np.ones(3), 2, np.random.RandomState(seed)) for _ in range(5)),
        key=lambda each: each[1],
    )
    assert cost == 1.0


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_one_round_past_an_outlier_leaves_fewer_candidates_than_k_and_still_k_distinct_centroids(seed):
    samples = outlier_case()
    candidates, _ = seeding.parallel_candidates(seeding.RowsInMemory(samples), 5, np.random.RandomState(seed), 1)
    if candidates[0] != 0:  # the first pick is not the outlier: the round finds the outlier alone
        assert sorted(candidates) == sorted([candidates[0], 0])
    result = eager.kmeans(samples, 5, init=PARALLEL, init_rounds=1, seed=seed, keep_history=True)
    assert len(np.unique(result.centroid_history[0], axis=0)) == 5


def test_each_round_adds_about_l_candidates():
    samples, _ = datasets.make_blobs(5000, n_features=3, centers=20, random_state=1)
    rows = seeding.RowsInMemory(samples)
    counts = [len(seeding.parallel_candidates(rows, 20, np.random.RandomState(seed), 3)[0]) for seed in range(10)]
    # 1 + 3 rounds of at most l = 2k = 40 each on average (fewer when a probability is capped at 1); a
    # round's count varies by about sqrt(40), so the mean of 10 runs by about 3.5.
    assert 60 < np.mean(counts) < 121 + 4 * 3.5


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_a_round_keeps_the_same_rows_whether_the_distances_are_kept_or_measured_in_its_pass(seed):
    samples, _ = datasets.make_blobs(3000, n_features=3, centers=10, random_state=seed)
    weights = np.random.RandomState(seed).uniform(0, 2, len(samples))
    rows = seeding.RowsInMemory(samples, weights)
    candidates = samples[[seed, 10 * seed + 1]]
    closest = rows.new_distances()
    total = rows.nearest_distances(candidates, closest)
    kept = rows.oversample(candidates, 20, np.random.RandomState([seed, 1]), closest, total)
    measured = rows.oversample(candidates, 20, np.random.RandomState([seed, 1]))
    assert 0 < len(kept) < len(samples)
    np.testing.assert_array_equal(kept, measured)


@pytest.mark.parametrize("where", ["in memory", "streamed"])
@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_fewer_weighted_rows_than_clusters_are_all_seeded_and_distinct_rows_of_weight_0_fill_up(
    tmp_path, monkeypatch, where, seed
):
    samples = np.arange(10.0)[:, None]
    weights = np.zeros(len(samples))
    weights[[3, 7]] = [1.0, 2.0]
    if where == "streamed":
        monkeypatch.setattr(streaming, "SEEDING_SAMPLE_ROWS", 5)  # 10 rows count as large: k-means|| over passes
        np.save(tmp_path / "data.npy", samples)
        samples = np.load(tmp_path / "data.npy", mmap_mode="r")
    result = eager.kmeans(samples, 4, init=PARALLEL, seed=seed, sample_weight=weights, max_iter=1, keep_history=True)
    # the first pick is row 3 or 7 and the first round keeps the other for sure (l = 8 > 1); then every cost is 0
    rows = np.rint(result.centroid_history[0][:, 0]).astype(int)
    assert len(set(rows)) == 4 and {3, 7} <= set(rows)
    np.testing.assert_allclose(result.centroid_history[0][:, 0], rows, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"seed{s}")
def test_same_seed_same_centroids_on_either_path(seed, either_path):
    samples, _ = datasets.make_blobs(2000, n_features=4, centers=12, random_state=seed)
    first = eager.kmeans(samples, 12, init=PARALLEL, seed=seed, keep_history=True)
    again = eager.kmeans(samples, 12, init=PARALLEL, seed=seed, keep_history=True)
    np.testing.assert_array_equal(first.centroid_history[0], again.centroid_history[0])
    np.testing.assert_array_equal(first.labels, again.labels)
    # The initial centroids are samples, k of them, distinct.
    start = first.centroid_history[0]
    assert len(np.unique(start, axis=0)) == 12
    assert np.abs(start[:, None, :] - samples[None, :, :]).sum(axis=2).min(axis=1).max() < 1e-9


def test_the_c_kernel_and_tensorflows_ops_choose_the_same_centroids(native_kernel):
    samples, _ = datasets.make_blobs(3000, n_features=5, centers=10, random_state=7)
    fused = eager.kmeans(samples, 10, init=PARALLEL, seed=3, max_iter=1, keep_history=True).centroid_history[0]
    with native_switched_off():
        ops = eager.kmeans(samples, 10, init=PARALLEL, seed=3, max_iter=1, keep_history=True).centroid_history[0]
    np.testing.assert_array_equal(fused, ops)


def test_more_rounds_change_the_candidates_not_the_door():
    samples = outlier_case()
    for rounds in (1, 2, 5):
        assert eager.kmeans(samples, 3, init=PARALLEL, init_rounds=rounds, seed=0).centroids.shape == (3, 2)


@pytest.mark.parametrize(
    "value, message",
    [
        (0, r"init_rounds=0 should be an integer >= 1"),
        (1.5, r"init_rounds=1.5 should be an integer >= 1"),
        (True, r"init_rounds=True should be an integer >= 1"),
    ],
)
def test_init_rounds_is_checked_at_the_door(value, message):
    with pytest.raises(ValueError, match=message):
        eager.kmeans(np.zeros((5, 2)), 2, init=PARALLEL, init_rounds=value)


QUALITY_CASES = [("iris", 3), ("wine", 3), ("breast_cancer", 2), ("diabetes", 6), ("blobs", 15)]
# 40 fits a data set: iris in make test-fast, the others slow
QUALITY_PARAMS = [QUALITY_CASES[0], *(pytest.param(*case, marks=pytest.mark.slow) for case in QUALITY_CASES[1:])]


@pytest.mark.parametrize("name, k", QUALITY_PARAMS, ids=[name for name, _ in QUALITY_CASES])
def test_kmeans_parallel_as_good_as_kmeans_plusplus_on_average(name, k):
    if name == "blobs":  # test_parity's k-means++ case
        samples, _ = datasets.make_blobs(1000, n_features=2, centers=15, cluster_std=1.5, random_state=4)
    else:
        samples = shipped(name)
    seeds = range(20)
    parallel = np.mean([eager.kmeans(samples, k, init=PARALLEL, seed=s).inertia for s in seeds])
    plusplus = np.mean([eager.kmeans(samples, k, init=eager.KMEANS_PLUSPLUS_INIT, seed=s).inertia for s in seeds])
    # A mean over 20 seeds: within 2% (a run that lands in a poor local minimum moves it by a few percent).
    assert parallel <= plusplus * 1.02


def test_fit_takes_kmeans_parallel_and_its_rounds(tmp_path):
    from tests.cases import BLOBS_CSV, run

    data = tmp_path / "blobs.csv"
    data.write_text(BLOBS_CSV)
    result = run("fit", data, "-k", 2, "--init", PARALLEL, "--init-rounds", 3, "--init-seed", 0)
    assert result.exit_code == 0, result.output
    assert result.stdout == "0\n0\n0\n1\n1\n1\n" or result.stdout == "1\n1\n1\n0\n0\n0\n"
    assert PARALLEL in run("fit", "--help").output

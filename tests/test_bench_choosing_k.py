"""The benchmark of the rules that suggest k: its data sets are what its docstring says, and a ``--quick`` run."""

import collections

import numpy as np
import pytest

from benchmarks import bench_choosing_k as bench
from kmeans_tf.engine.options import RULES


@pytest.mark.parametrize("n_clusters, n_features", [(2, 2), (5, 10), (12, 2), (12, 50)], ids=str)
@pytest.mark.parametrize("closest", [bench.SEPARATED_DISTANCE, bench.LESS_SEPARATED_DISTANCE])
def test_the_closest_two_centres_are_the_asked_distance_apart(n_clusters, n_features, closest):
    middles = bench.centres(n_clusters, n_features, closest, np.random.RandomState(0))
    assert middles.shape == (n_clusters, n_features)
    assert bench.closest_distance(middles) == pytest.approx(closest * np.sqrt(2 * n_features))


def test_the_row_distance_is_the_root_mean_square_distance_within_a_blob():
    rows = np.random.RandomState(0).normal(scale=0.7, size=(20000, 10))
    squared = ((rows[:10000] - rows[10000:]) ** 2).sum(axis=1)
    assert np.sqrt(squared.mean()) == pytest.approx(bench.row_distance(10, 0.7), rel=0.01)


def test_the_data_sets_cover_every_group_with_their_k():
    data_sets = list(bench.data_sets())
    groups = collections.Counter(data_set.group for data_set in data_sets)
    assert set(groups) == set(bench.GROUPS) and groups[bench.NO_STRUCTURE] == 18
    assert {data_set.k for data_set in data_sets if data_set.group != bench.NO_STRUCTURE} == {2, 3, 4, 5, 6, 8, 10, 12}
    assert all(data_set.k is None for data_set in data_sets if data_set.group == bench.NO_STRUCTURE)
    assert {data_set.rows.shape[1] for data_set in data_sets} == {2, 3, 10, 50}
    assert all(300 <= len(data_set.rows) <= 2000 for data_set in data_sets)
    five = next(data_set for data_set in data_sets if data_set.name.startswith("make_blobs(1500, centers=5"))
    assert five.group == bench.SEPARATED and five.k == 5
    # Every set draws from a seed of its own: no two sets hold the same rows.
    assert len({data_set.rows[:3].tobytes() for data_set in data_sets}) == len(data_sets)


def test_uneven_sizes_run_from_one_to_five():
    sizes = bench.uneven_sizes(8, 1200)
    assert sizes.max() / sizes.min() == pytest.approx(bench.UNEVEN_RATIO, rel=0.05)
    assert abs(sizes.sum() - 1200) <= 8 and (np.diff(sizes) > 0).all()


def test_no_k_and_one_are_right_where_there_is_no_structure():
    assert bench.right(None, None) and bench.right(1, None) and not bench.right(2, None)
    assert bench.right(4, 4) and not bench.right(None, 4) and not bench.right(5, 4)


@pytest.mark.slow
def test_quick_run_scores_every_rule(capsys):
    answers = bench.main(["--quick"])
    output = capsys.readouterr().out
    assert all(set(found) == set(RULES) for _, found in answers)
    rows = [line for line in output.splitlines() if line.startswith("| ") and not line.startswith("| rule")]
    assert [row.split(" | ")[0][2:] for row in rows] == list(RULES)
    assert f"{len(answers)} data sets (" in output

"""functions.py: each lesson function on tiny cases worked out by hand, shapes, dtypes, seeding."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import functions
from compat import v1 as tf

# Four points, two obvious pairs; worked out by hand below.
POINTS = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0], [11.0, 10.0]], dtype=np.float32)
START = np.array([[0.0, 0.0], [10.0, 10.0]], dtype=np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_assign_to_nearest_by_hand(graph_run, dtype):
    labels = graph_run(lambda: functions.assign_to_nearest(POINTS.astype(dtype), START.astype(dtype)))
    np.testing.assert_array_equal(labels, [0, 0, 1, 1])
    assert labels.dtype == np.int64


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_update_centroids_by_hand(graph_run, dtype):
    centroids = graph_run(lambda: functions.update_centroids(POINTS.astype(dtype), [0, 0, 1, 1], 2))
    np.testing.assert_array_equal(centroids, [[0.5, 0.0], [10.5, 10.0]])
    assert centroids.dtype == dtype


def test_total_squared_distance_by_hand(graph_run):
    # (0,0)->0, (1,0)->1, (10,10)->0, (11,10)->1
    assert graph_run(lambda: functions.total_squared_distance(POINTS, START)) == pytest.approx(2.0)


def test_empty_cluster_keeps_previous_centroid(graph_run):
    previous = np.array([[0.0, 0.0], [10.0, 10.0], [-7.0, 3.0]], dtype=np.float32)
    centroids = graph_run(lambda: functions.update_centroids(POINTS, [0, 0, 1, 1], 3, previous_centroids=previous))
    np.testing.assert_array_equal(centroids, [[0.5, 0.0], [10.5, 10.0], [-7.0, 3.0]])
    assert np.isfinite(centroids).all()


def test_empty_cluster_without_previous_centroids_names_the_cluster(graph_run):
    with pytest.raises(tf.errors.InvalidArgumentError, match="cluster 2 has no samples"):
        graph_run(lambda: functions.update_centroids(POINTS, [0, 0, 1, 1], 3))


def test_iterate_kmeans_by_hand(graph_run):
    # Start both centroids on the left pair's side: the first update moves one to each pair.
    start = np.array([[0.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    history = graph_run(lambda: functions.iterate_kmeans(POINTS, start, 2, n_iterations=3))
    assert len(history) == 3
    # Iteration 1: (0,0) -> 0; (1,0), (10,10), (11,10) -> 1; means (0,0) and (22/3, 20/3).
    np.testing.assert_allclose(history[0], [[0.0, 0.0], [22 / 3, 20 / 3]], rtol=1e-6)
    # Iteration 2 finds the two pairs, and iteration 3 stays there.
    np.testing.assert_allclose(history[1], [[0.5, 0.0], [10.5, 10.0]], rtol=1e-6)
    np.testing.assert_allclose(history[2], history[1])


def test_create_samples_shapes_names_and_blobs(graph_run):
    graph = tf.Graph()
    with graph.as_default():
        centroids, samples = functions.create_samples(3, 200, 2, 70, 700)
    assert centroids.name == "create_samples/centroids:0"
    assert samples.name == "create_samples/samples:0"
    assert samples.shape.as_list() == [600, 2] and samples.dtype == tf.float32
    assert centroids.shape.as_list() == [3, 2] and centroids.dtype == tf.float32

    centroid_values, sample_values = graph_run(lambda: functions.create_samples(3, 200, 2, 70, 700))
    assert np.all(np.abs(centroid_values) <= 35)
    for i, centroid in enumerate(centroid_values):
        blob = sample_values[i * 200 : (i + 1) * 200]
        # stddev 5 over 200 points: the blob's mean is within ~0.35 of its centroid.
        np.testing.assert_allclose(blob.mean(axis=0), centroid, atol=1.5)
        assert 3.5 < blob.std(axis=0).mean() < 6.5


def test_create_samples_op_seed_gives_every_blob_the_same_noise(graph_run):
    centroid_values, sample_values = graph_run(lambda: functions.create_samples(3, 50, 2, 70, 700))
    noise = sample_values.reshape(3, 50, 2) - centroid_values[:, None, :]
    np.testing.assert_allclose(noise[1], noise[0], atol=1e-4)
    np.testing.assert_allclose(noise[2], noise[0], atol=1e-4)


@pytest.mark.parametrize("seed", [0, 700, 2**20], ids=lambda s: f"seed{s}")
def test_create_samples_same_seed_same_data_other_seed_other_data(graph_run, seed):
    first = graph_run(lambda: functions.create_samples(3, 20, 2, 70, seed))
    again = graph_run(lambda: functions.create_samples(3, 20, 2, 70, seed))
    other = graph_run(lambda: functions.create_samples(3, 20, 2, 70, seed + 1))
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.allclose(first[0], other[0])
    assert not np.allclose(first[1], other[1])


@pytest.mark.parametrize("seed", [1, 7, 12345], ids=lambda s: f"seed{s}")
def test_choose_random_centroids_distinct_samples_and_seeded(graph_run, seed):
    samples = np.arange(200, dtype=np.float32).reshape(100, 2)
    chosen = graph_run(lambda: functions.choose_random_centroids(samples, 5, seed=seed))
    again = graph_run(lambda: functions.choose_random_centroids(samples, 5, seed=seed))
    others = [
        graph_run(lambda s=s: functions.choose_random_centroids(samples, 5, seed=s)) for s in (seed + 1, seed + 2)
    ]
    assert chosen.shape == (5, 2) and chosen.dtype == np.float32
    rows = {tuple(row) for row in chosen}
    assert len(rows) == 5 and rows <= {tuple(row) for row in samples}
    np.testing.assert_array_equal(chosen, again)
    # Two other seeds both picking the same 5 of 100 rows in order would be a broken seed.
    assert any(not np.array_equal(chosen, other) for other in others)


def test_plot_clusters_draws_tutorial_figure():
    samples = np.concatenate([POINTS[:2], POINTS[2:]])
    figure = functions.plot_clusters(samples, START, 2)
    assert isinstance(figure, Figure)
    (ax,) = figure.axes
    assert len(ax.collections) == 2  # one scatter per cluster
    assert len(ax.lines) == 4  # the black and the magenta X on each centroid
    assert [line.get_color() for line in ax.lines[1::2]] == ["m", "m"]


def test_plot_clusters_on_given_axes_with_labels():
    ax = Figure().subplots()
    figure = functions.plot_clusters(POINTS, START, None, labels=[1, 1, 0, 0], ax=ax)
    assert figure is ax.figure
    offsets = [collection.get_offsets() for collection in ax.collections]
    np.testing.assert_array_equal(offsets[0], POINTS[2:])
    np.testing.assert_array_equal(offsets[1], POINTS[:2])

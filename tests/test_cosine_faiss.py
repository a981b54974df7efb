"""``metric="cosine"`` against faiss's spherical k-means (``faiss.Kmeans(..., spherical=True)``).

Both start from the same initial centroids, scaled to unit length, on the same rows scaled to
unit length. Ours runs until no label changes; faiss, which has no stopping rule of that kind,
runs as many iterations (after convergence, more would change nothing). The cases leave no
cluster empty on the way (faiss splits a large cluster where ours relocates a far row: the
runs would part there), and no row within float32 rounding of a tie at the end (else which
centroid wins would be rounding's choice, not the algorithm's): both are asserted.
"""

import numpy as np
import pytest

import kmeans_tf
from tests.cases import DTYPE_IDS, DTYPES, SEEDS, first_fast, shipped

faiss = pytest.importorskip("faiss", reason="faiss is not installed (pip install faiss-cpu, or the test extra)")

# The smallest gap allowed between a row's best and second-best cosine similarity at the final
# centroids: two float32 computations of a similarity of unit rows in at most 64 dimensions
# differ by a few 1e-6 at most, so a row 1e-5 from a tie goes to the same centroid in both.
TIE_MARGIN = 1e-5
# Centroids are of unit length (coordinates at most 1 in size). faiss works in float32 (it
# rounds float64 rows to float32, and adds a cluster's rows in float32, one at a time); ours
# adds in float64 and rounds once into the rows' dtype. Within 1e-5 in either dtype (seen: 4e-7).
CENTROID_TOL = 1e-5
# Each row's float32 similarity to its centroid is good to a few 1e-6: the inertia, a sum of
# n_samples terms 1 - cos, to n_samples times that.
ROW_SIMILARITY_TOL = 1e-5
MAX_ITER = 300

# (n_samples, n_features, n_clusters)
BLOB_SHAPES = [(200, 2, 3), (300, 3, 12), (500, 5, 7), (1000, 16, 10), (2000, 32, 20)]
BLOB_IDS = [f"n{n}-d{d}-k{k}" for n, d, k in BLOB_SHAPES]
# (data set, n_clusters), started from rows spread evenly through the file
SHIPPED_CASES = [("iris", 3), ("wine", 3), ("breast_cancer", 2), ("digits", 10), ("diabetes", 3)]


def direction_blobs(seed, n_samples, n_features, n_clusters, dtype):
    """Rows around ``n_clusters`` random directions, of lengths from 0.1 to 100, and ``n_clusters``
    distinct rows as initial centroids."""
    rng = np.random.RandomState(seed)
    directions = rng.normal(size=(n_clusters, n_features))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    rows = directions[rng.randint(n_clusters, size=n_samples)] + rng.normal(0, 0.3, (n_samples, n_features))
    rows *= rng.uniform(0.1, 100, n_samples)[:, None]
    initial = rows[rng.choice(n_samples, n_clusters, replace=False)]
    return rows.astype(dtype), initial.astype(dtype)


def unit_float32(points):
    """Return a float32 copy of ``points``, each row scaled to unit length by faiss."""
    copy = np.array(points, dtype=np.float32)
    faiss.normalize_L2(copy)
    return copy


def similarity_gaps(samples, centroids):
    """Return each row's best less its second-best cosine similarity to ``centroids``, in float64."""
    rows = samples / np.linalg.norm(samples.astype(np.float64), axis=1, keepdims=True)
    directions = centroids / np.linalg.norm(centroids.astype(np.float64), axis=1, keepdims=True)
    similarities = np.sort(rows @ directions.T, axis=1)
    return similarities[:, -1] - similarities[:, -2]


def assert_matches_faiss(samples, initial):
    n_samples, n_features = samples.shape
    n_clusters = len(initial)
    ours = kmeans_tf.kmeans(samples, n_clusters, metric="cosine", init=initial, tol=0, max_iter=MAX_ITER)
    assert ours.converged and ours.n_iter < MAX_ITER

    rows = unit_float32(samples)
    # max_points_per_centroid: train on every row (faiss subsamples beyond it); min_points_per_centroid: no warning;
    # early_stop_threshold: faiss stops when its objective, a float sum, stops changing, which a few rows that
    # change label near a tie need not move: below 0, it runs every iteration asked.
    theirs = faiss.Kmeans(
        n_features,
        n_clusters,
        niter=ours.n_iter,
        spherical=True,
        max_points_per_centroid=n_samples,
        min_points_per_centroid=1,
        early_stop_threshold=-1.0,
    )
    theirs.train(rows, init_centroids=unit_float32(initial))
    _, their_labels = theirs.index.search(rows, 1)

    assert len(theirs.iteration_stats) == ours.n_iter
    assert [stats["nsplit"] for stats in theirs.iteration_stats] == [0] * ours.n_iter, "faiss split a cluster"
    assert np.bincount(ours.labels, minlength=n_clusters).min() > 0
    assert similarity_gaps(samples, ours.centroids).min() > TIE_MARGIN

    np.testing.assert_array_equal(ours.labels, their_labels[:, 0])
    np.testing.assert_allclose(ours.centroids, theirs.centroids, rtol=CENTROID_TOL, atol=CENTROID_TOL)
    np.testing.assert_allclose(np.linalg.norm(ours.centroids.astype(np.float64), axis=1), 1, rtol=CENTROID_TOL)
    # faiss's objective: the sum of the similarities of its last assignment (made to the final centroids)
    assert ours.inertia == pytest.approx(n_samples - theirs.obj[-1], abs=n_samples * ROW_SIMILARITY_TOL)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", BLOB_SHAPES, ids=BLOB_IDS)
@pytest.mark.parametrize("seed", first_fast(SEEDS), ids=lambda s: f"seed{s}")
def test_cosine_kmeans_equals_faiss_spherical_on_blobs(seed, shape, dtype, either_path):
    assert_matches_faiss(*direction_blobs(seed, *shape, dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name, k", SHIPPED_CASES, ids=[f"{name}-k{k}" for name, k in SHIPPED_CASES])
def test_cosine_kmeans_equals_faiss_spherical_on_shipped_data(name, k, dtype, either_path):
    samples = shipped(name).astype(dtype)
    assert_matches_faiss(samples, samples[np.linspace(0, len(samples) - 1, k).astype(int)])

"""The lesson's algorithms the TensorFlow 2 way (eager tensors, no Session), and the engine's public API.

The lesson's functions mirror ``functions.py`` name for name and take the same arguments:
``create_samples``, ``choose_random_centroids``, ``assign_to_nearest``,
``update_centroids``, ``iterate_kmeans``, ``total_squared_distance``. The engine that the
command line runs on users' data is the ``kmeans_tf`` package; its public API is re-exported here:

- ``kmeans``: Lloyd's algorithm with scikit-learn's stopping rule, ``n_init`` restarts,
  "random", "k-means++" or "k-means||" initialisation, and scikit-learn's relocation of
  empty clusters; it returns a ``KMeansResult``;
- ``predict`` and ``inertia`` for given centroids;
- ``elbow``: k-means for several k, each fit scored, and a k suggested by a rule (by default the
  gap statistic; ``kneedle`` is the kneedle rule alone); it returns an ``ElbowResult``;
- data larger than memory: a memory map (``np.load(path, mmap_mode="r")``) or ``load_shards(folder)``
  (a folder of ``.npy`` files, as one ``Shards``) is streamed from disk by ``kmeans``, ``predict`` and ``inertia``;
- ``gd_kmeans``: k-means by gradient descent, as the post does it;
- ``KMeans``: the engine as a scikit-learn estimator (``fit``, ``predict``, ``transform``, ...), and
  scikit-learn's functions ``k_means`` (a ``KMeans`` fit) and ``kmeans_plusplus`` (the seeding);
- ``MiniBatchKMeans`` (and ``minibatch_kmeans``, its ``fit``): mini-batch k-means, with
  ``partial_fit`` for data arriving over time.
"""

import numpy as np

from functions import DEFAULT_ITERATIONS
from kmeans_tf import (
    ElbowResult,
    KMeans,
    KMeansResult,
    MiniBatchKMeans,
    MiniBatchResult,
    Shards,
    elbow,
    gd_kmeans,
    inertia,
    k_means,
    kmeans,
    kmeans_plusplus,
    kneedle,
    load_shards,
    minibatch_kmeans,
    predict,
)
from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import tf_ops
from kmeans_tf.engine.options import (
    ALGORITHMS,
    AUTO,
    ELKAN,
    HAMERLY,
    INIT_STRATEGIES,
    KMEANS_PARALLEL_INIT,
    KMEANS_PLUSPLUS_INIT,
    LLOYD,
    RANDOM_INIT,
)

__all__ = [
    "create_samples",
    "choose_random_centroids",
    "assign_to_nearest",
    "update_centroids",
    "iterate_kmeans",
    "total_squared_distance",
    "kmeans",
    "predict",
    "inertia",
    "KMeansResult",
    "gd_kmeans",
    "KMeans",
    "k_means",
    "kmeans_plusplus",
    "elbow",
    "kneedle",
    "ElbowResult",
    "Shards",
    "load_shards",
    "MiniBatchKMeans",
    "minibatch_kmeans",
    "MiniBatchResult",
    "RANDOM_INIT",
    "KMEANS_PLUSPLUS_INIT",
    "KMEANS_PARALLEL_INIT",
    "INIT_STRATEGIES",
    "AUTO",
    "LLOYD",
    "HAMERLY",
    "ELKAN",
    "ALGORITHMS",
]


def create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed):
    """Make the lesson's data: a blob of normal noise (stddev 5) around each random centroid.

    The centroids are those of ``functions.create_samples`` for the same seed. The noise
    differs: here each blob draws its own (``stateless_normal`` seeded by ``(seed, i)``),
    where the graph version's op-level seed gives every blob the same pattern.

    Returns
    -------
    centroids : float32 tensor of shape (n_clusters, n_features)
    samples : float32 tensor of shape (n_clusters * n_samples_per_cluster, n_features)
    """
    rng = np.random.RandomState(seed)
    centroids = []
    slices = []
    for i in range(n_clusters):
        centroid = (rng.random_sample((1, n_features)) * embiggen_factor) - (embiggen_factor / 2)
        centroid = tf.constant(centroid, tf.float32)
        noise = tf.random.stateless_normal(
            (n_samples_per_cluster, n_features), seed=[seed, i], stddev=5.0, dtype=tf.float32
        )
        centroids.append(centroid)
        slices.append(noise + centroid)
    return tf.concat(centroids, 0), tf.concat(slices, 0)


def choose_random_centroids(samples, n_clusters, seed=None):
    """Pick ``n_clusters`` distinct samples at random (without replacement) as initial centroids."""
    samples = tf.convert_to_tensor(samples)
    n_samples = tf.shape(samples)[0]
    if seed is None:
        keys = tf.random.uniform([n_samples])
    else:
        keys = tf.random.stateless_uniform([n_samples], seed=[seed, 0])
    return tf.gather(samples, tf.argsort(keys)[:n_clusters])


def assign_to_nearest(samples, centroids):
    """Return the index (int64) of the nearest centroid for each sample."""
    samples, centroids = _as_float_tensors(samples, centroids)
    return tf_ops.nearest(samples, centroids)


def update_centroids(samples, nearest_indices, n_clusters, previous_centroids=None):
    """Move each centroid to the mean of its samples.

    An empty cluster keeps its row of ``previous_centroids`` when given; otherwise this
    raises ``ValueError`` naming the empty cluster.
    """
    samples = tf.convert_to_tensor(samples)
    labels = tf.cast(nearest_indices, tf.int32)
    sums = tf.math.unsorted_segment_sum(samples, labels, n_clusters)
    counts = tf.math.unsorted_segment_sum(tf.ones_like(samples[:, :1]), labels, n_clusters)
    if previous_centroids is None:
        empty = np.flatnonzero(counts.numpy()[:, 0] == 0)
        if empty.size:
            raise ValueError(
                f"update_centroids: cluster {empty[0]} has no samples (pass previous_centroids to keep its centroid)"
            )
        return sums / counts
    previous_centroids = tf.cast(previous_centroids, samples.dtype)
    return tf.where(counts > 0, sums / tf.maximum(counts, 1), previous_centroids)


def iterate_kmeans(samples, initial_centroids, n_clusters, n_iterations=DEFAULT_ITERATIONS):
    """Alternate ``assign_to_nearest`` and ``update_centroids`` ``n_iterations`` times.

    Returns a tensor of shape (n_iterations, n_clusters, n_features): the centroids after
    each iteration. An empty cluster keeps its previous centroid, as in ``functions.py``.
    """
    centroids = tf.convert_to_tensor(initial_centroids)
    history = []
    for _ in range(n_iterations):
        labels = assign_to_nearest(samples, centroids)
        centroids = update_centroids(samples, labels, n_clusters, previous_centroids=centroids)
        history.append(centroids)
    return tf.stack(history)


def total_squared_distance(samples, centroids):
    """Return the k-means cost: the sum over samples of the squared distance to the nearest centroid."""
    samples, centroids = _as_float_tensors(samples, centroids)
    return tf_ops.sum_squared_distance(samples, centroids, tf_ops.nearest(samples, centroids))


def _as_float_tensors(samples, centroids):
    samples = tf.convert_to_tensor(samples)
    return samples, tf.cast(centroids, samples.dtype)

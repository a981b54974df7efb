"""A fitted model's distance math in TensorFlow's ops, for the SavedModel (``serving``) and the Keras layer (``keras``).

Everything starts from ``costs(samples, centroids, metric)``: one cost per row and centroid,
the squared Euclidean distance (``metric="euclidean"``) or the cosine distance ``1 - cos``
(``metric="cosine"``). A row's label is the centroid of least cost; ``distances`` are what
scikit-learn's ``KMeans.transform`` gives (Euclidean distances, not squared; cosine
distances as they are); the score is minus the sum of each row's least cost, as
scikit-learn's ``KMeans.score``.

A row that has no answer gets label -1 and a NaN cost to every centroid, so that it is never
taken for a row of cluster 0: a row holding a NaN or an infinity, and, for the cosine
metric, a row of zeros (it has no direction). A score over such a row is NaN.

Squared Euclidean distances are summed from the differences, not expanded by a matmul, so
that they are exact to float32 rounding however far the rows lie from the origin: a batch of
n rows holds n * n_clusters * n_features values at once. Cosine similarities are dot products
of rows and centroids scaled to unit length. These ops assume centroids checked at the door
(``check_centroids``) and a float batch of rows of their width.
"""

import numpy as np

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import validation
from kmeans_tf.engine.options import COSINE, EUCLIDEAN

NO_LABEL = -1  # the label of a row that has no answer


def costs(samples, centroids, metric):
    """Return the cost of each row for each centroid, shape (n_rows, n_clusters): NaN for every centroid of a row
    that has no answer.

    Parameters
    ----------
    samples : float tensor of shape (n_rows, n_features)
    centroids : tensor of shape (n_clusters, n_features), the samples' dtype
    metric : {"euclidean", "cosine"}
    """
    answered = tf.reduce_all(tf.math.is_finite(samples), axis=1)
    if metric == EUCLIDEAN:
        every = tf.reduce_sum(tf.square(samples[:, None, :] - centroids[None, :, :]), axis=2)
    else:
        norms = tf.norm(samples, axis=1, keepdims=True)
        answered &= norms[:, 0] > 0
        unit_rows = samples / tf.where(norms > 0, norms, tf.ones_like(norms))
        unit_centroids = centroids / tf.norm(centroids, axis=1, keepdims=True)
        every = 1 - tf.clip_by_value(tf.matmul(unit_rows, unit_centroids, transpose_b=True), -1, 1)
    return tf.where(answered[:, None], every, tf.constant(float("nan"), every.dtype))


def labels(costs):
    """Return the label (int64) of the least cost of each row: the first of equal ones, -1 where the costs are NaN."""
    nearest = tf.argmin(costs, axis=1, output_type=tf.int64)
    return tf.where(tf.math.is_nan(costs[:, 0]), tf.constant(NO_LABEL, tf.int64), nearest)


def distances(costs, metric):
    """Return the distances ``costs`` measure: their square roots for the Euclidean metric, themselves for cosine."""
    return tf.sqrt(costs) if metric == EUCLIDEAN else costs


def nearest_cost(costs):
    """Return each row's least cost (NaN for a row that has no answer)."""
    return tf.where(tf.math.is_nan(costs[:, 0]), costs[:, 0], tf.reduce_min(costs, axis=1))


def score(costs):
    """Return minus the sum of each row's least cost, in float64 (NaN if a row has no answer)."""
    return -tf.reduce_sum(tf.cast(nearest_cost(costs), tf.float64))


def soft_assignments(costs, temperature):
    """Return the softmax over centroids of ``-costs / temperature``: each row's weights, summing to 1."""
    return tf.nn.softmax(-costs / temperature, axis=1)


def check_centroids(centroids, metric):
    """Return ``centroids`` as a float32 array for ``metric``, or raise ValueError naming what is wrong.

    A 2-D array of finite numbers (in float32 too), at least one row and one column; for the
    cosine metric, no row of length 0 (it has no direction to compare with).
    """
    metric = validation.check_metric(metric)
    centroids = validation.check_samples(centroids, "centroids")
    with np.errstate(over="ignore"):  # too large for float32: refused below, by its row and column
        single = centroids.astype(np.float32)
    if not np.isfinite(single).all():
        row, column = np.argwhere(~np.isfinite(single))[0]
        raise ValueError(
            f"centroids should be finite in float32, got {centroids[row, column]} at row {row}, column {column}"
        )
    if metric == COSINE:
        zero = np.flatnonzero(np.sqrt(np.square(single).sum(axis=1)) == 0)  # in float32, as the ops measure it
        if len(zero):
            raise ValueError(
                f"centroids row {zero[0]} has length 0 in float32: metric={metric!r} needs a direction for each"
            )
    return single

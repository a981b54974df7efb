"""The rules of a Lloyd iteration after its pass, written once for every fit: the M-step and when to stop.

- ``tolerance``: scikit-learn's ``tol`` as a total squared shift of the centroids;
- ``converged``: the stopping rule (no label changed, or the shift is within the tolerance);
- ``relocate_empty_clusters``: an empty cluster takes the row farthest from its centroid;
- ``centroids_from_sums``: each cluster's (weighted) mean from its running sums, and the shift.

They are written in TensorFlow's ops on small (n_clusters, n_features) arrays: the loop in
memory (``loops``) runs them inside its ``tf.function``, the loop over passes (``lloyd``)
runs them eagerly. Where the farthest rows come from is the caller's: ``farthest_rows`` for
rows in memory, a pass over the disk or the workers' gathered proposals otherwise.
"""

import typing

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import exact, tf_ops
from kmeans_tf.engine.tracing import matrix, traced_per_dtype, vector

# The squared shift sums its float64 squares this many cells at a time (``squared_shift``).
SHIFT_CELLS = 2**18


def tolerance(tol, squared_norm_sum, n_values):
    """``tol`` times the mean per-feature variance, as scikit-learn scales it (unweighted).

    ``squared_norm_sum``: the sum of the centred rows' squared norms; ``n_values``: rows times columns.
    """
    return squared_norm_sum / n_values * tol


def converged(changed, shift, tol):
    """Whether a run stops: no label changed in the pass, or the total squared ``shift`` is within ``tol``."""
    return (changed == 0) | (shift <= tol)


class Farthest(typing.NamedTuple):
    """Rows farthest from their own centroid, the farthest first (ties: the lower row first).

    At least as many as the clusters that may be empty; float64 ``distances`` (squared),
    ``values`` (in the loops' coordinates) and ``weights``, and the rows' int64 ``labels``.
    """

    distances: object
    values: object
    weights: object
    labels: object


def farthest_rows(samples, centroids, labels, weights=None):
    """``Farthest`` of rows in memory: the ``n_clusters`` rows farthest from their labelled centroid."""
    distances = tf_ops.squared_distance_to_own(samples, centroids, labels)
    top, rows = tf.math.top_k(distances, k=tf.shape(centroids)[0])
    row_weights = tf.ones_like(top, tf.float64) if weights is None else tf.gather(weights, rows)
    values = tf_ops.rows_at(samples, rows)
    return Farthest(tf.cast(top, tf.float64), values, row_weights, tf.gather(labels, rows))


def relocate_empty_clusters(sums, counts, members, farthest, exponents):
    """Give each empty cluster a row farthest from its centroid, as scikit-learn does.

    A cluster is empty when it has no member of weight > 0 (``members``: exact counts of
    them; running sums of weights need not come back to 0 exactly). ``farthest()`` returns
    the ``Farthest`` rows; it is called only when a cluster is empty. The j-th empty cluster
    takes the j-th farthest row; the row leaves its old cluster's sums as its weight times
    its values and its weight (scikit-learn's ``_relocate_empty_clusters_dense``: the
    distances are not weighted; a row of weight 0 leaves the cluster empty). Nothing moves
    when every row sits on its centroid (more clusters than distinct rows). Works on the
    exact sums and counts (limbs in the units of ``exponents``, ``exact``), before dividing by the
    counts: a moved row leaves its cluster as the units it brought; returns new sums, counts and members.
    """
    sums, counts, members = (tf.convert_to_tensor(value, tf.float64) for value in (sums, counts, members))
    empty = members == 0

    def unchanged():
        return sums, counts, members

    def relocate():
        rows = Farthest(*(tf.convert_to_tensor(value) for value in farthest()))

        def move():
            n_clusters = tf.shape(counts)[0]
            rank = tf.maximum(tf.cumsum(tf.cast(empty, tf.int32)) - 1, 0)
            weight = tf.where(empty, tf.gather(rows.weights, rank), 0)
            values = tf.gather(tf.cast(rows.values, tf.float64), rank) * weight[:, None]
            moved = exact.tf_normalized(exact.tf_limbs(values, exponents[:-1]))
            moved_count = exact.tf_normalized(exact.tf_limbs(weight, exponents[-1]))
            member = tf.cast(weight > 0, tf.float64)
            old = tf.gather(rows.labels, rank)
            new_sums = exact.tf_normalized(sums - tf.math.unsorted_segment_sum(moved, old, n_clusters))
            new_counts = exact.tf_normalized(counts - tf.math.unsorted_segment_sum(moved_count, old, n_clusters))
            new_members = members - tf.math.unsorted_segment_sum(member, old, n_clusters)
            return (
                tf.where(empty[:, None, None], moved, new_sums),
                tf.where(empty[:, None], moved_count, new_counts),
                tf.where(empty, member, new_members),
            )

        return tf.cond(rows.distances[0] > 0, move, unchanged)

    return tf.cond(tf.reduce_any(empty), relocate, unchanged)


def centroids_from_sums(sums, counts, members, centroids, farthest, exponents, unit=False, values=None, means=None):
    """The M-step: each cluster's (weighted) mean, empty ones relocated, and the total squared shift (float64).

    ``sums`` (n_clusters, n_features, LIMBS) and ``counts`` (n_clusters, LIMBS) are exact
    running sums in the units of ``exponents`` (``exact``; ``sums`` may be a function that
    returns them, called only where a cluster is empty), ``members`` (n_clusters,) float64
    counts; ``farthest`` as in ``relocate_empty_clusters``. The means are of the exact sums,
    so they are the same however the rows were split. ``values``: the float64 values of
    ``sums`` and ``counts`` where the caller has them (``kernel.exact_add``), else None; with ``means``, ``values``
    may hold None for the sums'. ``means``: None, or a function of the clusters' float64 weights (the values of
    ``counts``) that returns the means in the dtype of ``centroids`` (``kernel.cluster_means``), used where no
    cluster is empty and the rows are not of unit length: the same means, without float64 sums. A cluster still empty
    (relocated to a row of weight 0, or none moved) sits at the mean of the cluster of
    largest weight, where scikit-learn's ``_average_centers`` puts it. With ``unit`` (rows of
    unit length: spherical k-means), each mean is scaled to unit length, its mean direction; a
    mean of length 0 (rows that cancel out) keeps its centroid. The new centroids have the
    dtype of ``centroids``.
    """
    exponents = tf.convert_to_tensor(exponents, tf.float64)
    members = tf.convert_to_tensor(members, tf.float64)

    def values_of(sums, counts):
        return exact.tf_value(sums, exponents[:-1]), exact.tf_value(counts, exponents[-1])

    def relocated():
        whole = sums() if callable(sums) else sums
        new_sums, new_counts, new_members = relocate_empty_clusters(whole, counts, members, farthest, exponents)
        return (*values_of(new_sums, new_counts), new_members)

    centroids = tf.convert_to_tensor(centroids)
    # Eagerly, one traced call; inside a graph (the loop in memory), the ops themselves.
    means_and_shift = _means_and_shift if tf.executing_eagerly() else _means_and_shift.python_function

    def relocated_means():
        return means_and_shift(centroids, *relocated(), unit=unit)

    def means_as_they_are():
        if means is not None and not unit:
            new_centroids = means(exact.tf_value(counts, exponents[-1]) if values is None else values[1])
            return new_centroids, squared_shift(new_centroids, centroids)
        return means_and_shift(centroids, *(values_of(sums, counts) if values is None else values), members, unit=unit)

    return tf.cond(tf.reduce_any(members == 0), relocated_means, means_as_they_are)


@traced_per_dtype(lambda dtype: [matrix(dtype), matrix(tf.float64), vector(tf.float64), vector(tf.float64)])
def _means_and_shift(centroids, sums, counts, members, unit=False):
    occupied = members > 0
    means = sums / tf.where(occupied, counts, 1)[:, None]
    means = tf.cond(  # a full-matrix select only where a cluster is still empty
        tf.reduce_all(occupied),
        lambda: means,
        lambda: tf.where(occupied[:, None], means, means[tf.argmax(counts)][None, :]),
    )
    if unit:
        lengths = tf.norm(means, axis=1, keepdims=True)
        means = tf.where(lengths > 0, means / tf.where(lengths > 0, lengths, 1), tf.cast(centroids, tf.float64))
    new_centroids = tf.cast(means, centroids.dtype)
    return new_centroids, squared_shift(new_centroids, centroids)


def squared_shift(new, old):
    """The total squared shift of the centroids: their differences in their own dtype, squared and summed in float64.

    ``SHIFT_CELLS`` cells' worth of rows at a time (one sum where they fit): a few MiB of float64
    squares, never a float64 copy of every centroid.
    """
    n_rows = tf.shape(new)[0]
    rows = tf.maximum(1, SHIFT_CELLS // tf.maximum(tf.shape(new)[1], 1))

    def add_rows(start, total):
        stop = tf.minimum(start + rows, n_rows)
        difference = tf.cast(new[start:stop] - old[start:stop], tf.float64)
        return stop, total + tf.reduce_sum(tf.square(difference))

    start = (tf.constant(0), tf.constant(0.0, tf.float64))
    return tf.while_loop(lambda start, _: start < n_rows, add_rows, start)[1]

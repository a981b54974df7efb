"""The Lloyd iteration's TensorFlow kernels, for ``compat.eager``; they assume validated input.

Distances are ``||x||^2 - 2 x.c + ||c||^2`` by matmul, ``rows`` samples at a time, so
the full (n_samples, n_clusters) matrix is never held at once; ``fused_loop`` makes each
pass in the fused C kernel instead (``compat/native``), which holds no such block at
all. The loops give the same labels: ``lloyd_loop`` measures every sample against every
centroid each iteration; ``hamerly_loop`` (TensorFlow's ops) and ``fused_loop`` (the C
kernel, when asked) keep distance bounds and measure only the samples whose label may
change. The loops are written with ``tf.while_loop`` and ``tf.cond`` rather than
autograph: tracing them then takes a fraction of the time, which every new data shape pays.
"""
import numpy as np

from compat import native
from compat._tensorflow import tf

# Bytes for one chunk's (rows, n_clusters) distance block; sets the rows per chunk.
DEFAULT_MEMORY_BUDGET = 4 * 2**20


def nearest(samples, centroids):
    """Labels (int64) of the nearest centroid, by the matmul expansion of the squared distance."""
    return nearest_from(samples, -2 * tf.transpose(centroids), tf.reduce_sum(tf.square(centroids), axis=1))


def nearest_from(samples, minus_two_centroids_t, centroid_norms):
    """argmin over centroids of ``||c||^2 - 2 x.c``; ``||x||^2`` is the same for every centroid."""
    return tf.argmin(tf.matmul(samples, minus_two_centroids_t) + centroid_norms, axis=1)


def sum_squared_distance(samples, centroids, labels):
    """Sum ||x - c[label]||^2 exactly (no expansion), accumulated in float64."""
    return tf.reduce_sum(tf.cast(squared_distance_to_own(samples, centroids, labels), tf.float64))


def squared_distance_to_own(samples, centroids, labels):
    """Return each sample's squared distance to its labelled centroid, computed directly."""
    return tf.reduce_sum(tf.square(samples - tf.gather(centroids, labels)), axis=1)


def rows_per_chunk(n_clusters, itemsize, batch_size):
    """Rows per chunk: ``batch_size``, or as many as keep one (rows, n_clusters) block in the budget."""
    if batch_size is None:
        batch_size = max(1, DEFAULT_MEMORY_BUDGET // (n_clusters * itemsize))
    return tf.constant(batch_size)


def row_slice(samples, rows, i):
    """Return chunk ``i``: rows ``i * rows`` up to ``(i + 1) * rows`` (fewer in the last chunk)."""
    return samples[i * rows:(i + 1) * rows]


def count_chunks(samples, rows):
    """Return how many chunks of ``rows`` cover the samples."""
    return (tf.shape(samples)[0] + rows - 1) // rows


@tf.function(reduce_retracing=True, autograph=False)
def labels_chunked(samples, centroids, rows):
    """Labels of the nearest centroid for all samples, ``rows`` at a time."""
    minus_two_centroids_t = -2 * tf.transpose(centroids)
    centroid_norms = tf.reduce_sum(tf.square(centroids), axis=1)
    n_chunks = count_chunks(samples, rows)

    def label_chunk(i, labels):
        chunk_labels = nearest_from(row_slice(samples, rows, i), minus_two_centroids_t, centroid_norms)
        return i + 1, labels.write(i, chunk_labels)

    _, labels = tf.while_loop(lambda i, _: i < n_chunks, label_chunk,
                              (0, tf.TensorArray(tf.int64, size=n_chunks, infer_shape=False)))
    return labels.concat()


def labels_of(samples, centroids, rows, fused):
    """Labels of the nearest centroid, by the fused kernel or ``rows`` at a time by TensorFlow's ops."""
    if fused:
        return native.kernel().nearest_centroid_sums(samples, centroids)[0]
    return labels_chunked(samples, centroids, rows)


def inertia_of(samples, centroids, labels, rows, fused):
    """The exact sum of squared distances to the labelled centroids (float64), by the C kernel or TensorFlow's ops."""
    if fused:
        return native.kernel().sum_squared_distances(samples, centroids, labels)
    return inertia_chunked(samples, centroids, labels, rows)


@tf.function(reduce_retracing=True, autograph=False)
def inertia_chunked(samples, centroids, labels, rows):
    """The exact sum of squared distances of samples to their labelled centroid, ``rows`` at a time."""
    def add_chunk(i, total):
        chunk = sum_squared_distance(row_slice(samples, rows, i), centroids, row_slice(labels, rows, i))
        return i + 1, total + chunk

    _, total = tf.while_loop(lambda i, _: i < count_chunks(samples, rows), add_chunk,
                             (0, tf.constant(0.0, tf.float64)))
    return total


def relocate_empty_clusters(sums, counts, labels, samples, centroids):
    """Give each empty cluster the sample farthest from its centroid, as scikit-learn does.

    Works on the sums (before dividing by counts): the sample leaves its old cluster's
    sum and becomes the empty cluster's only member; the j-th empty cluster takes the
    j-th farthest sample. Nothing moves when every sample sits on its centroid (more
    clusters than distinct samples). Returns new sums and counts; ``labels`` is unchanged.
    """
    empty = counts == 0

    def relocate(distances):
        n_clusters = tf.shape(counts)[0]
        _, farthest = tf.math.top_k(distances, k=n_clusters)
        rank = tf.maximum(tf.cumsum(tf.cast(empty, tf.int32)) - 1, 0)
        chosen = tf.gather(farthest, rank)
        weight = tf.cast(empty, counts.dtype)
        moved = tf.cast(tf.gather(samples, chosen), sums.dtype) * weight[:, None]
        old = tf.gather(labels, chosen)
        new_sums = sums - tf.math.unsorted_segment_sum(moved, old, n_clusters)
        new_counts = counts - tf.math.unsorted_segment_sum(weight, old, n_clusters)
        return tf.where(empty[:, None], moved, new_sums), tf.where(empty, tf.ones_like(counts), new_counts)

    def relocate_if_any_sample_is_off_its_centroid():
        distances = squared_distance_to_own(samples, centroids, labels)
        return tf.cond(tf.reduce_max(distances) > 0, lambda: relocate(distances), lambda: (sums, counts))

    return tf.cond(tf.reduce_any(empty), relocate_if_any_sample_is_off_its_centroid, lambda: (sums, counts))


# Up to this many features, a sparse one-hot product sums clusters faster than a scatter-add
# (measured on 2 CPU cores: 17 ms against 87 ms at 1M x 16, k=100; 73 ms against 34 ms at d=128).
SPARSE_SUMS_MAX_FEATURES = 32


def cluster_sums(samples, labels, n_clusters, dtype):
    """Per-cluster sums of the samples, shape (n_clusters, n_features), and counts, in ``dtype``."""
    values = tf.cast(samples, dtype)

    def sparse_one_hot_product():
        one_hot = tf.sparse.SparseTensor(tf.stack([tf.range(tf.size(labels, out_type=tf.int64)), labels], 1),
                                         tf.ones_like(labels, dtype), tf.cast([tf.size(labels), n_clusters], tf.int64))
        return tf.sparse.sparse_dense_matmul(one_hot, values, adjoint_a=True)

    def scatter_add():  # several times faster on CPU than unsorted_segment_sum
        return tf.tensor_scatter_nd_add(tf.zeros([n_clusters, tf.shape(samples)[1]], dtype), labels[:, None], values)

    sums = tf.cond(tf.shape(samples)[1] <= SPARSE_SUMS_MAX_FEATURES, sparse_one_hot_product, scatter_add)
    counts = tf.math.bincount(tf.cast(labels, tf.int32), minlength=n_clusters, maxlength=n_clusters)
    return sums, tf.cast(counts, dtype)


def centroids_from_sums(sums, counts, labels, samples, centroids):
    """The M-step: each cluster's mean (empty ones relocated), and the total squared shift."""
    sums, counts = relocate_empty_clusters(sums, counts, labels, samples, centroids)
    means = tf.where(counts[:, None] > 0, sums / tf.maximum(counts, 1)[:, None], sums)
    new_centroids = tf.ensure_shape(tf.cast(means, centroids.dtype), centroids.shape)
    shift = tf.reduce_sum(tf.square(tf.cast(new_centroids - centroids, tf.float64)))
    return new_centroids, shift


def m_step(samples, labels, centroids):
    """The M-step from scratch: sum every cluster, then ``centroids_from_sums``."""
    sums, counts = cluster_sums(samples, labels, tf.shape(centroids)[0], samples.dtype)
    return centroids_from_sums(sums, counts, labels, samples, centroids)


@tf.function(reduce_retracing=True, autograph=False)
def lloyd_loop(samples, initial, rows, max_iter, tol):
    """Lloyd iterations with scikit-learn's stopping rule, all inside one graph, by TensorFlow's ops.

    Returns the final centroids, the labels for them, the iterations run, and whether the
    labels stopped changing (strict convergence) or the total squared shift fell to ``tol``.
    """
    def iterate(iteration, centroids, labels_old, converged):
        labels = tf.ensure_shape(labels_chunked(samples, centroids, rows), labels_old.shape)
        new_centroids, shift = m_step(samples, labels, centroids)
        converged = tf.reduce_all(tf.equal(labels, labels_old)) | (shift <= tol)
        return iteration + 1, new_centroids, labels, converged

    def keep_going(iteration, centroids, labels_old, converged):
        return (iteration < max_iter) & ~converged

    start = (tf.constant(0), initial, -tf.ones([tf.shape(samples)[0]], tf.int64), tf.constant(False))
    iteration, centroids, _, converged = tf.while_loop(keep_going, iterate, start)
    # The final E-step: labels that match the returned centroids.
    return centroids, labels_chunked(samples, centroids, rows), iteration, converged


# The hybrid loop turns Hamerly's bounds on once fewer than this fraction of labels changed in a pass.
BOUNDS_AFTER_CHANGED_FRACTION = 0.02

# When fused_loop keeps distance bounds: never (Lloyd), once few labels change, or from the first pass.
NO_BOUNDS, BOUNDS_WHEN_SETTLED, BOUNDS_FROM_START = "never", "settled", "start"


@tf.function(reduce_retracing=True, autograph=False)
def fused_loop(samples, initial, max_iter, tol, norms, norm_bound, bounds):
    """``lloyd_loop``'s iterations by the fused C kernel, optionally with Hamerly's bounds: the same labels.

    Each pass (``NearestCentroidChanges``, see ``compat/native/src/ops.c``) gives the new labels and
    the float64 sums and counts of the samples whose label changed, which update the
    running cluster sums: late passes, where few labels change, then need not add up
    every sample. A bounded pass (``NearestCentroidChangesBounded``) also keeps, per
    sample, an upper bound on the distance to its centroid and a lower bound on the
    distance to any other, widened by the kernel's rounding error, and measures only the
    samples whose bounds cannot prove their label, with the plain pass's kernel. ``bounds``
    (a Python str) says when bounds are kept: ``NO_BOUNDS``; ``BOUNDS_WHEN_SETTLED``, once
    fewer than ``BOUNDS_AFTER_CHANGED_FRACTION`` of the labels changed in a pass (while
    many change, bounds prove little); or ``BOUNDS_FROM_START``. ``norms`` holds each
    sample's squared norm and ``norm_bound`` (float64) bounds that of every sample and
    centroid: they size the rounding error the bounds allow for. Every choice measures the
    same labels, so the changes, sums and centroids are equal bit for bit. Returns what
    ``lloyd_loop`` returns.
    """
    kernel = native.kernel()
    n_samples, n_clusters = tf.shape(samples)[0], tf.shape(initial)[0]
    no_upper = tf.fill([n_samples], tf.constant(np.inf, tf.float64))  # an infinite bound: measure the sample
    no_lower = tf.zeros([n_samples], tf.float64)
    if bounds == NO_BOUNDS:
        switch_at = tf.constant(-1, tf.int64)
    else:
        switch_at = tf.cast(tf.cast(n_samples, tf.float64) * BOUNDS_AFTER_CHANGED_FRACTION, tf.int64)

    def measure(bounded, centroids, previous, labels, upper, lower):
        def plain():
            new_labels, sum_changes, count_changes, changed = kernel.nearest_centroid_changes(samples, centroids, labels)
            return new_labels, no_upper, no_lower, sum_changes, count_changes, changed

        def with_bounds():
            return tuple(kernel.nearest_centroid_changes_bounded(samples, centroids, previous, labels, upper, lower,
                                                                 norms, norm_bound))

        if bounds == NO_BOUNDS:
            return plain()
        return tf.cond(bounded, with_bounds, plain)

    def iterate(iteration, centroids, previous, labels, upper, lower, sums, counts, bounded, converged):
        new_labels, upper, lower, sum_changes, count_changes, changed = measure(
            bounded, centroids, previous, labels, upper, lower)
        sums, counts = sums + sum_changes, counts + count_changes  # the sums of the new labels' clusters
        new_centroids, shift = centroids_from_sums(sums, counts, new_labels, samples, centroids)
        converged = tf.equal(changed, 0) | (shift <= tol)
        bounded = bounded | (changed < switch_at)
        return iteration + 1, new_centroids, centroids, new_labels, upper, lower, sums, counts, bounded, converged

    def keep_going(iteration, *state):
        return (iteration < max_iter) & ~state[-1]

    start = (tf.constant(0), initial, initial, -tf.ones([n_samples], tf.int64), no_upper, no_lower,
             tf.zeros([n_clusters, tf.shape(samples)[1]], tf.float64), tf.zeros([n_clusters], tf.float64),
             tf.constant(bounds == BOUNDS_FROM_START), tf.constant(False))
    iteration, centroids, previous, labels, upper, lower, _, _, bounded, converged = tf.while_loop(
        keep_going, iterate, start)
    # The final E-step: labels that match the returned centroids.
    final_labels = measure(bounded, centroids, previous, labels, upper, lower)[0]
    return centroids, final_labels, iteration, converged


@tf.function(reduce_retracing=True, autograph=False)
def two_nearest_chunked(samples, centroids, rows):
    """For each sample: the nearest label, and the squared distances to the nearest and second-nearest centroid."""
    minus_two_centroids_t = -2 * tf.transpose(centroids)
    centroid_norms = tf.reduce_sum(tf.square(centroids), axis=1)
    n_clusters = tf.shape(centroids)[0]
    n_chunks = count_chunks(samples, rows)
    infinity = tf.constant(np.inf, samples.dtype)

    def measure_chunk(i, labels, first, second):
        chunk = row_slice(samples, rows, i)
        partial = tf.matmul(chunk, minus_two_centroids_t) + centroid_norms
        chunk_labels = tf.argmin(partial, axis=1)
        norms = tf.reduce_sum(tf.square(chunk), axis=1)
        others = tf.where(tf.one_hot(chunk_labels, n_clusters, on_value=True, off_value=False), infinity, partial)
        return (i + 1, labels.write(i, chunk_labels),
                first.write(i, tf.reduce_min(partial, axis=1) + norms),
                second.write(i, tf.reduce_min(others, axis=1) + norms))

    def array(dtype):
        return tf.TensorArray(dtype, size=n_chunks, infer_shape=False, element_shape=[None])

    _, labels, first, second = tf.while_loop(
        lambda i, *_: i < n_chunks, measure_chunk, (0, array(tf.int64), array(samples.dtype), array(samples.dtype)))
    return labels.concat(), first.concat(), second.concat()


def hamerly_assign(samples, centroids, labels, upper, lower, rows, slack):
    """Relabel the samples whose bounds cannot prove their label, and tighten their bounds.

    ``upper`` bounds the distance to the labelled centroid, ``lower`` the distance to any
    other. A label cannot change while ``upper`` is at most ``lower`` and at most half the
    distance from its centroid to the nearest other centroid. The suspects get the exact
    distance to their centroid; those still unproven are measured against every centroid.
    """
    between = tf.sqrt(tf.reduce_sum(tf.square(centroids[:, None, :] - centroids[None, :, :]), axis=2))
    between = tf.linalg.set_diag(between, tf.fill(tf.shape(centroids)[:1], tf.constant(np.inf, samples.dtype)))
    half_gap = 0.5 * tf.reduce_min(between, axis=1) * (1 - slack)
    bound = tf.maximum(tf.gather(half_gap, labels), lower)
    suspects = tf.where(upper > bound)[:, 0]
    own = tf.sqrt(squared_distance_to_own(tf.gather(samples, suspects), centroids,
                                           tf.gather(labels, suspects))) * (1 + slack)
    upper = tf.tensor_scatter_nd_update(upper, suspects[:, None], own)
    unproven = tf.boolean_mask(suspects, own > tf.gather(bound, suspects))
    new_labels, new_upper, new_lower = measured_bounds(tf.gather(samples, unproven), centroids, rows, slack)
    return (tf.tensor_scatter_nd_update(labels, unproven[:, None], new_labels),
            tf.tensor_scatter_nd_update(upper, unproven[:, None], new_upper),
            tf.tensor_scatter_nd_update(lower, unproven[:, None], new_lower))


def measured_bounds(samples, centroids, rows, slack):
    """Labels, and upper and lower bounds widened by the matmul expansion's rounding error."""
    labels, first, second = two_nearest_chunked(samples, centroids, rows)
    largest = tf.reduce_sum(tf.square(samples), axis=1) + tf.reduce_max(tf.reduce_sum(tf.square(centroids), 1))
    margin = slack * largest
    return labels, tf.sqrt(tf.maximum(first, 0) + margin), tf.sqrt(tf.maximum(second - margin, 0))


@tf.function(reduce_retracing=True, autograph=False)
def hamerly_loop(samples, initial, rows, max_iter, tol):
    """Lloyd's iterations computed with Hamerly's bounds (Hamerly 2010): same results, less distance work.

    Each sample keeps bounds on its distances to the centroids (``hamerly_assign``). They
    are widened by a few float rounding errors, so a sample near a tie is always measured,
    with the same kernel as ``lloyd_loop``. The cluster sums are kept from one iteration
    to the next and updated with the samples that changed cluster only. Returns the final
    centroids, the labels for them, the iterations run, and whether the run converged.
    """
    dtype = samples.dtype
    slack = tf.cast(8 * (tf.shape(samples)[1] + 2), dtype) * np.finfo(dtype.as_numpy_dtype).eps

    def iterate(iteration, centroids, labels, upper, lower, labels_old, sums, counts, converged):
        new_centroids, shift = centroids_from_sums(sums, counts, labels, samples, centroids)
        moves = tf.sqrt(tf.reduce_sum(tf.square(new_centroids - centroids), axis=1)) * (1 + slack)
        new_labels, upper, lower = hamerly_assign(samples, new_centroids, labels, upper + tf.gather(moves, labels),
                                                  lower - tf.reduce_max(moves), rows, slack)
        sums, counts = move_between_sums(sums, counts, labels, new_labels)
        converged = tf.reduce_all(tf.equal(labels, labels_old)) | (shift <= tol)
        return iteration + 1, new_centroids, new_labels, upper, lower, labels, sums, counts, converged

    def move_between_sums(sums, counts, labels, new_labels):
        """Update the float64 cluster sums with only the samples whose label changed."""
        changed = tf.where(tf.not_equal(labels, new_labels))
        moving = tf.cast(tf.gather_nd(samples, changed), tf.float64)
        to, away = tf.gather_nd(new_labels, changed)[:, None], tf.gather_nd(labels, changed)[:, None]
        ones = tf.ones_like(moving[:, 0])
        sums = tf.tensor_scatter_nd_sub(tf.tensor_scatter_nd_add(sums, to, moving), away, moving)
        counts = tf.tensor_scatter_nd_sub(tf.tensor_scatter_nd_add(counts, to, ones), away, ones)
        return sums, counts

    def keep_going(iteration, *state):
        return (iteration < max_iter) & ~state[-1]

    labels, upper, lower = measured_bounds(samples, initial, rows, slack)
    # Sums in float64, so that updating them sample by sample adds no visible rounding.
    sums, counts = cluster_sums(samples, labels, tf.shape(initial)[0], tf.float64)
    start = (tf.constant(0), initial, labels, upper, lower, -tf.ones_like(labels), sums, counts, tf.constant(False))
    iteration, centroids, labels, *_, converged = tf.while_loop(keep_going, iterate, start)
    return centroids, labels, iteration, converged

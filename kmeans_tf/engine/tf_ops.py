"""The Lloyd iteration's pieces in TensorFlow's own ops; they assume checked input.

Distances are ``||x||^2 - 2 x.c + ||c||^2`` by matmul, ``chunk_rows`` samples at a time,
so the full (n_samples, n_clusters) matrix is never held at once. These ops run the
lesson mirror in ``compat.eager`` and the engine's TensorFlow kernel (``kernels.TensorFlowKernel``),
and the M-step of every kernel. The loops are written with ``tf.while_loop`` and ``tf.cond`` rather
than autograph: tracing them then takes a fraction of the time, which every new data shape pays.

Sample weights, where given, are a float64 vector of one finite weight >= 0 per sample
(``weights``; None: every weight 1). A sample then counts as its weight, as in scikit-learn:
cluster sums of weight * sample, counts of the weights, inertia of weight * squared distance.
The graph functions take the weights as a tensor in every trace (an empty one when there
are none) and the Python option ``weighted`` says whether to use them.

Sparse samples are ``CsrRows`` (compressed sparse rows, ``csr_rows``): the functions that take
samples take either, and never make sparse rows dense (``rows_at`` makes the few rows it is asked for).
"""

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import exact
from kmeans_tf.engine.csr_rows import CsrRows
from kmeans_tf.engine.tracing import matrix, scalar, traced_per_dtype, vector


def nearest(samples, centroids):
    """Labels (int64) of the nearest centroid, by the matmul expansion of the squared distance."""
    return nearest_from(samples, -2 * tf.transpose(centroids), tf.reduce_sum(tf.square(centroids), axis=1))


def nearest_from(samples, minus_two_centroids_t, centroid_norms):
    """argmin over centroids of ``||c||^2 - 2 x.c``; ``||x||^2`` is the same for every centroid."""
    return tf.argmin(matmul_rows(samples, minus_two_centroids_t) + centroid_norms, axis=1)


def is_sparse(samples):
    """Whether ``samples`` are sparse rows (``CsrRows``)."""
    return isinstance(samples, CsrRows)


def n_rows(samples):
    """The number of samples (int32), dense or sparse."""
    return samples.n_rows() if is_sparse(samples) else tf.shape(samples)[0]


def n_columns(samples):
    """The number of features (int32), dense or sparse."""
    return tf.cast(samples.n_columns, tf.int32) if is_sparse(samples) else tf.shape(samples)[1]


def matmul_rows(samples, matrix):
    """``samples @ matrix`` for dense or sparse samples (a dense result)."""
    if is_sparse(samples):
        return tf.sparse.sparse_dense_matmul(samples.to_sparse(), matrix)
    return tf.matmul(samples, matrix)


def row_squared_norms(samples):
    """Each sample's squared norm, in the samples' dtype."""
    if is_sparse(samples):
        return tf.math.unsorted_segment_sum(tf.square(samples.values), samples.row_ids(), n_rows(samples))
    return tf.reduce_sum(tf.square(samples), axis=1)


def rows_at(samples, rows):
    """The samples at ``rows`` (int), as a dense float64 matrix of shape (len(rows), n_features)."""
    if not is_sparse(samples):
        return tf.cast(tf.gather(samples, rows), tf.float64)
    # each sample's place among ``rows`` (-1: not asked for), then the non-zeros of those samples set in place
    place = tf.tensor_scatter_nd_update(
        -tf.ones([n_rows(samples)], tf.int64), tf.cast(rows, tf.int64)[:, None], tf.range(tf.size(rows, tf.int64))
    )
    at = tf.gather(place, samples.row_ids())
    kept = tf.where(at >= 0)[:, 0]
    where = tf.stack([tf.gather(at, kept), tf.cast(tf.gather(samples.columns, kept), tf.int64)], axis=1)
    shape = tf.stack([tf.size(rows, tf.int64), samples.n_columns])
    return tf.scatter_nd(where, tf.cast(tf.gather(samples.values, kept), tf.float64), shape)


def sum_squared_distance(samples, centroids, labels, weights=None):
    """Sum ||x - c[label]||^2 exactly (no expansion), times the weights when given, accumulated in float64."""
    distances = tf.cast(squared_distance_to_own(samples, centroids, labels), tf.float64)
    return tf.reduce_sum(distances if weights is None else distances * weights)


def squared_distance_to_own(samples, centroids, labels):
    """Return each sample's squared distance to its labelled centroid, computed directly (sparse samples:
    ``||x||^2 - 2 x.c + ||c||^2`` over the non-zeros, at least 0)."""
    if not is_sparse(samples):
        return tf.reduce_sum(tf.square(samples - tf.gather(centroids, labels)), axis=1)
    rows = samples.row_ids()
    own = tf.gather_nd(centroids, tf.stack([tf.gather(labels, rows), tf.cast(samples.columns, tf.int64)], axis=1))
    products = tf.math.unsorted_segment_sum(samples.values * own, rows, n_rows(samples))
    centroid_norms = tf.gather(tf.reduce_sum(tf.square(centroids), axis=1), labels)
    return tf.maximum(row_squared_norms(samples) - 2 * products + centroid_norms, 0)


def row_slice(samples, chunk_rows, i):
    """Return chunk ``i``: rows ``i * chunk_rows`` up to ``(i + 1) * chunk_rows`` (fewer in the last chunk)."""
    if is_sparse(samples):
        return samples.rows(i * chunk_rows, chunk_rows)
    return samples[i * chunk_rows : (i + 1) * chunk_rows]


def count_chunks(samples, chunk_rows):
    """Return how many chunks of ``chunk_rows`` cover the samples."""
    return (n_rows(samples) + chunk_rows - 1) // chunk_rows


@traced_per_dtype(lambda dtype: [matrix(dtype), matrix(dtype), scalar(tf.int32)])
def labels_chunked(samples, centroids, chunk_rows):
    """Labels of the nearest centroid for all samples, ``chunk_rows`` at a time."""
    minus_two_centroids_t = -2 * tf.transpose(centroids)
    centroid_norms = tf.reduce_sum(tf.square(centroids), axis=1)
    n_chunks = count_chunks(samples, chunk_rows)

    def label_chunk(i, labels):
        chunk_labels = nearest_from(row_slice(samples, chunk_rows, i), minus_two_centroids_t, centroid_norms)
        return i + 1, labels.write(i, chunk_labels)

    _, labels = tf.while_loop(
        lambda i, _: i < n_chunks, label_chunk, (0, tf.TensorArray(tf.int64, size=n_chunks, infer_shape=False))
    )
    return labels.concat()


@traced_per_dtype(lambda dtype: [matrix(dtype), matrix(dtype), vector(tf.int64), scalar(tf.int32), vector(tf.float64)])
def inertia_chunked(samples, centroids, labels, chunk_rows, weights, weighted=False):
    """The exact (weighted) sum of squared distances of samples to their labelled centroid, ``chunk_rows`` at a time."""

    def add_chunk(i, total):
        chunk_weights = row_slice(weights, chunk_rows, i) if weighted else None
        chunk = sum_squared_distance(
            row_slice(samples, chunk_rows, i), centroids, row_slice(labels, chunk_rows, i), chunk_weights
        )
        return i + 1, total + chunk

    _, total = tf.while_loop(
        lambda i, _: i < count_chunks(samples, chunk_rows), add_chunk, (0, tf.constant(0.0, tf.float64))
    )
    return total


# Up to this many features, a sparse one-hot product sums clusters faster than a scatter-add
# (docs/performance.md has the measurement).
SPARSE_SUMS_MAX_FEATURES = 32


def cluster_sums(samples, labels, n_clusters, dtype, weights=None):
    """Per-cluster (weighted) sums of the samples, shape (n_clusters, n_features), and counts, in ``dtype``.

    Sparse samples: a label of -1 leaves its sample out.
    """
    if is_sparse(samples):
        return _sparse_cluster_sums(samples, labels, n_clusters, dtype, weights)
    values = tf.cast(samples, dtype)
    row_weights = tf.ones_like(labels, dtype) if weights is None else tf.cast(weights, dtype)

    def sparse_one_hot_product():  # the one-hot matrix holds the weights: weighted sums at no extra cost
        one_hot = tf.sparse.SparseTensor(
            tf.stack([tf.range(tf.size(labels, out_type=tf.int64)), labels], 1),
            row_weights,
            tf.cast([tf.size(labels), n_clusters], tf.int64),
        )
        return tf.sparse.sparse_dense_matmul(one_hot, values, adjoint_a=True)

    def scatter_add():  # several times faster on CPU than unsorted_segment_sum
        weighted_values = values if weights is None else values * row_weights[:, None]
        return tf.tensor_scatter_nd_add(
            tf.zeros([n_clusters, tf.shape(samples)[1]], dtype), labels[:, None], weighted_values
        )

    sums = tf.cond(tf.shape(samples)[1] <= SPARSE_SUMS_MAX_FEATURES, sparse_one_hot_product, scatter_add)
    counts = tf.math.bincount(
        tf.cast(labels, tf.int32),
        weights=None if weights is None else row_weights,
        minlength=n_clusters,
        maxlength=n_clusters,
    )
    return sums, tf.cast(counts, dtype)


def _sparse_cluster_sums(samples, labels, n_clusters, dtype, weights=None):
    """``cluster_sums`` of sparse samples: each non-zero added to its row's cluster, in one pass over them."""
    rows, columns = samples.row_ids(), tf.cast(samples.columns, tf.int64)
    n_features = samples.n_columns
    row_weights = tf.ones_like(labels, dtype) if weights is None else tf.cast(weights, dtype)
    values = tf.cast(samples.values, dtype) * tf.gather(row_weights, rows)
    row_labels = tf.gather(labels, rows)
    cells = tf.where(row_labels >= 0, row_labels * n_features + columns, -1)  # negative ids are dropped
    sums = tf.math.unsorted_segment_sum(values, cells, tf.cast(n_clusters, tf.int64) * n_features)
    counts = tf.math.unsorted_segment_sum(row_weights, labels, n_clusters)
    return tf.reshape(sums, [n_clusters, -1]), counts


# Rows per piece of ``exact_cluster_sums``: a limb's terms are below 2**28, so a float64 sum of this many stays exact.
EXACT_PIECE_ROWS = 2**24


def exact_cluster_sums(samples, labels, n_clusters, weights, exponents):
    """Per-cluster exact sums of weight x sample and of the weights, as limbs (``exact``).

    ``weights``: float64, one per sample; ``exponents``: the units (``exact.sum_exponents``, one per
    column and last the weights'). Returns sums (n_clusters, n_features, LIMBS) and counts
    (n_clusters, LIMBS), normalized. Dense samples' labels are in [0, n_clusters); a sparse
    sample's label of -1 leaves it out. Each term is a whole number of units, so any order of
    addition gives the same integers: the fast one is taken, EXACT_PIECE_ROWS rows at a time.
    """
    n_pieces = count_chunks(samples, EXACT_PIECE_ROWS)
    sums = tf.zeros([n_clusters, n_columns(samples), exact.LIMBS], tf.float64)
    counts = tf.zeros([n_clusters, exact.LIMBS], tf.float64)

    def add_piece(i, sums, counts):
        piece_sums, piece_counts = _exact_piece_sums(
            row_slice(samples, EXACT_PIECE_ROWS, i),
            row_slice(labels, EXACT_PIECE_ROWS, i),
            n_clusters,
            row_slice(weights, EXACT_PIECE_ROWS, i),
            exponents,
        )
        return i + 1, exact.tf_normalized(sums + piece_sums), exact.tf_normalized(counts + piece_counts)

    shapes = (tf.TensorShape([]), tf.TensorShape([None, None, exact.LIMBS]), counts.shape)  # sums of 0 columns too
    _, sums, counts = tf.while_loop(lambda i, *_: i < n_pieces, add_piece, (0, sums, counts), shape_invariants=shapes)
    return sums, counts


def _exact_piece_sums(samples, labels, n_clusters, weights, exponents):
    """``exact_cluster_sums`` of at most EXACT_PIECE_ROWS rows, unnormalized."""
    column_exponents, count_exponent = exponents[:-1], exponents[-1]
    counts = tf.math.unsorted_segment_sum(exact.tf_limbs(weights, count_exponent), labels, n_clusters)
    if is_sparse(samples):
        rows, columns = samples.row_ids(), tf.cast(samples.columns, tf.int64)
        n_features = samples.n_columns
        values = tf.cast(samples.values, tf.float64) * tf.gather(weights, rows)
        limbs = exact.tf_limbs(values, tf.gather(column_exponents, columns))
        row_labels = tf.gather(labels, rows)
        cells = tf.where(row_labels >= 0, row_labels * n_features + columns, -1)  # negative ids are dropped
        sums = tf.math.unsorted_segment_sum(limbs, cells, tf.cast(n_clusters, tf.int64) * n_features)
        return tf.reshape(sums, [n_clusters, -1, exact.LIMBS]), counts
    values = tf.cast(samples, tf.float64) * weights[:, None]
    limbs = exact.tf_limbs(values, column_exponents)
    zeros = tf.zeros([n_clusters, tf.shape(samples)[1], exact.LIMBS], tf.float64)
    return tf.tensor_scatter_nd_add(zeros, labels[:, None], limbs), counts

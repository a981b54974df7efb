"""The C kernel's ops under the names the engine calls (the Python wrapper of ``src/ops.c``).

TensorFlow generates a Python function per op of a loaded library, named after the op in
snake case: ``KmeansTf>NearestCentroidSums`` becomes ``kmeans_tf_nearest_centroid_sums``.
Each op has a sparse twin (``KmeansTf>SparseNearestCentroidSums``) that takes the samples as
compressed sparse rows: the four tensors of ``CsrRows``. ``Kernel`` calls them under the
engine's names, the sparse ones for samples given as ``CsrRows``; ``missing_ops``
says which ops a loaded library lacks. The ops check their inputs themselves (see
``src/ops.c``) and raise ``tf.errors.InvalidArgumentError`` for a bad one.
"""

import functools

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import exact
from kmeans_tf.engine.csr_rows import CsrRows

# Each op (src/ops.c) -> the function TensorFlow generates for it.
GENERATED_FUNCTIONS = {
    "KmeansTf>NearestCentroidSums": "kmeans_tf_nearest_centroid_sums",
    "KmeansTf>NearestCentroidChanges": "kmeans_tf_nearest_centroid_changes",
    "KmeansTf>NearestCentroidChangesBounded": "kmeans_tf_nearest_centroid_changes_bounded",
    "KmeansTf>SumSquaredDistances": "kmeans_tf_sum_squared_distances",
    "KmeansTf>ClusterSums": "kmeans_tf_cluster_sums",
    "KmeansTf>ClusterMeans": "kmeans_tf_cluster_means",
    "KmeansTf>ExactAdd": "kmeans_tf_exact_add",
    "KmeansTf>AlignedCopy": "kmeans_tf_aligned_copy",
    "KmeansTf>SparseNearestCentroidSums": "kmeans_tf_sparse_nearest_centroid_sums",
    "KmeansTf>SparseNearestCentroidChanges": "kmeans_tf_sparse_nearest_centroid_changes",
    "KmeansTf>SparseNearestCentroidChangesBounded": "kmeans_tf_sparse_nearest_centroid_changes_bounded",
    "KmeansTf>SparseSumSquaredDistances": "kmeans_tf_sparse_sum_squared_distances",
    "KmeansTf>SparseClusterSums": "kmeans_tf_sparse_cluster_sums",
    "KmeansTf>SparseClusterMeans": "kmeans_tf_sparse_cluster_means",
}


def missing_ops(library):
    """Return the ops (by name) whose generated function the loaded ``library`` lacks."""
    return [op for op, function in GENERATED_FUNCTIONS.items() if not callable(getattr(library, function, None))]


class Kernel:
    """The ops of the library loaded from ``path``, as the engine calls them.

    samples and centroids are float32 or float64 matrices with the same columns (at least
    one centroid); labels are int64, float64 everything else. Every method takes samples as
    ``CsrRows`` too (each row's columns increasing, no duplicates), and gives the answer of
    the same samples made dense, reading their non-zeros alone (the ``KmeansTf>Sparse...`` ops), but
    for the changes passes' sums: for ``CsrRows`` those are empty, (n_clusters, 0, LIMBS), and
    ``cluster_sums`` gives the sums whole.
    ``weights`` (n_samples,), each finite and >= 0, weigh the samples (None: every weight 1,
    the ops' input of shape [0]).
    The passes' ``members`` (or ``member_changes``) count, per cluster, the samples of weight
    > 0, exactly: a cluster is empty when it has none. Without weights they are the counts.
    """

    keeps_bounds = True  # the bounded pass measures only the samples whose bounds cannot prove their label
    takes_sparse = True  # sparse samples (CsrRows) take the sparse ops
    reads_in_place = True  # the ops read CsrRows over the caller's arrays, aligned or not (``csr_rows.in_place``)

    def __init__(self, library, path):
        self.library = library
        self.path = path

    def nearest_centroid_sums(self, samples, centroids, weights=None, exponents=None):
        """Return each sample's nearest centroid, and each cluster's exact (weighted) sum, count and members.

        Returns ``labels`` (n_samples,), ``sums`` (n_clusters, n_features, LIMBS) and ``counts``
        (n_clusters, LIMBS) as limbs in the units of ``exponents`` (``exact``; None: the samples' own,
        ``exact.tf_exponents_of``), and ``members`` (n_clusters,).
        """
        library = self.library
        op = _on(samples, library.kmeans_tf_nearest_centroid_sums, library.kmeans_tf_sparse_nearest_centroid_sums)
        given = exact.pass_exponents(exponents, samples, _weights(weights))
        return exact.pass_outputs(op(centroids, given, _weights(weights)), 1, exponents, given)

    def nearest_centroid_changes(self, samples, centroids, labels, weights=None, exponents=None):
        """Return the new labels, and the exact sums, counts and members of the samples whose label changed.

        ``labels`` (n_samples,) are the old ones, in [-1, n_clusters) (-1: none yet); a changed
        sample is added to its new cluster and taken from its old one. Returns ``new_labels``,
        ``sum_changes``, ``count_changes``, ``member_changes`` and ``changed`` (how many labels changed).
        """
        library = self.library
        op = _on(samples, library.kmeans_tf_nearest_centroid_changes, library.kmeans_tf_sparse_nearest_centroid_changes)
        given = exact.pass_exponents(exponents, samples, _weights(weights))
        return exact.pass_outputs(op(centroids, labels, given, _weights(weights)), 1, exponents, given)

    def nearest_centroid_changes_bounded(
        self,
        samples,
        centroids,
        previous_centroids,
        labels,
        upper,
        lower,
        norms,
        norm_bound,
        weights=None,
        exponents=None,
    ):
        """``nearest_centroid_changes``, measuring only the samples whose distance bounds cannot prove their label.

        ``upper`` and ``lower`` (n_samples,) bound each sample's distance to its centroid and
        to any other among ``previous_centroids``; an infinite ``upper`` (with a label of -1 or
        in [0, n_clusters)) has the sample measured. ``norms`` holds the samples' squared norms
        and the scalar ``norm_bound`` bounds every sample's and centroid's. Returns
        ``new_labels``, ``new_upper``, ``new_lower``, ``sum_changes``, ``count_changes``,
        ``member_changes``, ``changed`` and ``skipped`` (how many labels the bounds proved
        without measuring every centroid).
        """
        library = self.library
        op = _on(
            samples,
            library.kmeans_tf_nearest_centroid_changes_bounded,
            library.kmeans_tf_sparse_nearest_centroid_changes_bounded,
        )
        given = exact.pass_exponents(exponents, samples, _weights(weights))
        found = op(centroids, previous_centroids, labels, upper, lower, norms, norm_bound, given, _weights(weights))
        return exact.pass_outputs(found, 3, exponents, given)

    def sum_squared_distances(self, samples, centroids, labels, weights=None):
        """Return the float64 sum of the samples' squared distances to their labelled centroids, times their weights.

        ``labels`` (n_samples,) are in [0, n_clusters).
        """
        library = self.library
        op = _on(samples, library.kmeans_tf_sum_squared_distances, library.kmeans_tf_sparse_sum_squared_distances)
        return op(centroids, labels, _weights(weights))

    def cluster_sums(self, samples, centroids, labels, weights=None, exponents=None):
        """Return each cluster's exact (weighted) sum of its samples as float64 values, shaped like ``centroids``.

        ``labels`` (n_samples,) are in [0, n_clusters); ``centroids`` give the clusters' number
        and columns. The values are those of the exact sums (``exact``, in the units of
        ``exponents``; None: the samples' own), rounded once: what ``exact_add`` gives of them.
        """
        library = self.library
        op = _on(samples, library.kmeans_tf_cluster_sums, library.kmeans_tf_sparse_cluster_sums)
        return op(centroids, labels, exact.pass_exponents(exponents, samples, _weights(weights)), _weights(weights))

    def cluster_means(self, samples, centroids, labels, divisors, weights=None, exponents=None):
        """Return each cluster's ``cluster_sums`` value over its entry of ``divisors`` (n_clusters,) float64, rounded
        to the samples' dtype: the M-step's means, with no float64 sums held."""
        library = self.library
        op = _on(samples, library.kmeans_tf_cluster_means, library.kmeans_tf_sparse_cluster_means)
        weights = _weights(weights)
        return op(centroids, labels, exact.pass_exponents(exponents, samples, weights), divisors, weights)

    def readable(self, samples):
        """``samples`` that TensorFlow's own ops may read: ``CsrRows`` with their columns and values copied into
        TensorFlow's buffers (``KmeansTf>AlignedCopy``: rows read in place may be unaligned); dense ones as they
        are."""
        if not isinstance(samples, CsrRows):
            return samples
        copy = self.library.kmeans_tf_aligned_copy
        return CsrRows(samples.row_starts, copy(samples.columns), copy(samples.values), samples.n_columns)

    def exact_add(self, sums, changes, exponents):
        """Return ``sums + changes`` (exact sums' limbs, of one shape [n, m, LIMBS]) normalized, and their float64
        values, ``exponents`` (m,) giving each column's units: ``exact.tf_normalized`` and ``exact.tf_value`` in one
        sweep."""
        return self.library.kmeans_tf_exact_add(sums, changes, exponents)


def _on(samples, dense_op, sparse_op):
    """``dense_op`` with ``samples`` as its first input, or for ``CsrRows`` ``sparse_op`` with their four parts."""
    if isinstance(samples, CsrRows):
        return functools.partial(sparse_op, samples.row_starts, samples.columns, samples.values, samples.n_columns)
    return functools.partial(dense_op, samples)


def _weights(weights):
    """The ops' weights input: ``weights``, or for None the empty vector that means every weight is 1."""
    return tf.zeros([0], tf.float64) if weights is None else weights

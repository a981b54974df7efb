"""The kernel: one interface for the passes over the data, two implementations, chosen here and nowhere else.

Every pass of the engine (Lloyd's, in memory, streamed or on several workers; a mini-batch
step; the final labels and inertia) calls one of these operations on a kernel:

- ``nearest_centroid_sums(samples, centroids, weights, exponents)``: each sample's nearest
  centroid (int64 labels) and each cluster's exact (weighted) sum and count, and its members;
- ``nearest_centroid_changes(samples, centroids, labels, weights, exponents)``: the new labels,
  the exact sums and counts and the members of the samples whose label changed (added to
  the new cluster, taken from the old one; an old label of -1 means none yet), and how many
  changed. For sparse samples the sums are empty, (n_clusters, 0, LIMBS): ``cluster_sums``
  makes them whole, as ``(n_clusters, n_features, LIMBS)`` limbs kept from pass to pass would
  outweigh rows of many columns;
- ``nearest_centroid_changes_bounded(samples, centroids, previous_centroids, labels, upper,
  lower, norms, norm_bound, weights, exponents)``: the same, measuring only the samples whose distance
  bounds cannot prove their label; it also returns the new bounds, and last how many labels
  the bounds proved (int64);
- ``sum_squared_distances(samples, centroids, labels, weights)``: the exact float64
  (weighted) sum of squared distances to the labelled centroids;
- ``cluster_sums(samples, centroids, labels, weights, exponents)``: each labelled cluster's
  exact (weighted) sum as float64 values, shaped like ``centroids`` (the exact sum rounded
  once, as ``exact_add`` gives it);
- ``cluster_means(samples, centroids, labels, divisors, weights, exponents)``: those values
  over a float64 divisor per cluster (its weight), rounded to the centroids' dtype: the
  M-step's means, which the C kernel gives without holding the float64 sums;
- ``readable(samples)``: the samples as TensorFlow's own ops may read them. A kernel whose
  ops alone read the rows (``reads_in_place``: the C kernel) takes sparse rows over the
  caller's own arrays, with no copy (``csr_rows.in_place``), which TensorFlow's kernels refuse
  where they are not aligned: this copies them, where an op of TensorFlow's must read them (the
  relocation of an empty cluster);
- ``exact_add(sums, changes, exponents)``: two exact sums (limbs of shape [n, m, LIMBS]) added
  and normalized, and their float64 values, ``exponents`` (m,) per column: the running sums of
  the loop in memory and their values, for the M-step.

Samples and centroids are float32 or float64 tensors of the same columns; ``weights`` is a
float64 vector of one weight per sample, or the empty vector ``no_weights()`` (every weight 1).
Sums and counts are exact (``exact``): limbs, a last axis of ``exact.LIMBS``, of whole units
of ``exponents`` (``exact.sum_exponents``: one per column, and last the weights'; None: the
samples' own, for a pass on its own), so that they add up to the same integers however the
rows are split. Without ``exponents`` (a pass on its own) the sums and counts come as float64 values
instead, in the units of the samples' own. ``members`` count the samples of weight > 0 exactly: a cluster is empty when
it has none. Both implementations give the same labels and the same sums. They assume
checked input (the C kernel's ops check theirs anyway).

- the fused C kernel (``kmeans_tf.native``): one sweep over the data per pass, Hamerly's
  bounds in the bounded pass;
- ``TensorFlowKernel``: TensorFlow's own ops (distances by matmul, a chunk of rows at a
  time), usable inside a ``tf.function`` and on a GPU. Its bounded pass measures every
  sample (infinite bounds): on the devices where TensorFlow's ops run, bounds do not pay.

``kernel(batch_size)`` picks one: the C kernel when ``kmeans_tf.native`` loads it (it says
why not: ``use_native(False)``, ``KMEANS_TF_NATIVE=0``, a visible GPU, no compiler), else
TensorFlow's ops.
"""

import dataclasses
import functools

import numpy as np

from kmeans_tf import native
from kmeans_tf._tensorflow import quietly, tf
from kmeans_tf.engine import exact, tf_ops
from kmeans_tf.engine.csr_rows import CsrRows
from kmeans_tf.engine.options import CHUNK_BYTES
from kmeans_tf.engine.tracing import matrix, scalar, traced_per_dtype, vector


def kernel(batch_size=None, sparse=False):
    """Return the kernel for this process: the fused C kernel, or ``TensorFlowKernel(batch_size)``.

    ``batch_size``: rows per chunk of TensorFlow's distance blocks (None: blocks of about
    ``CHUNK_BYTES``); the C kernel works a few rows at a time anyway. ``sparse``: for sparse
    samples (``csr_rows.CsrRows``), which the C kernel takes through its sparse ops (``takes_sparse``).
    """
    loaded = native.kernel()
    if loaded is None or (sparse and not getattr(loaded, "takes_sparse", False)):
        return TensorFlowKernel(batch_size)
    return loaded


def column_sums(blocks, column_exponents, n_features):
    """The exact column sums (``exact``: limbs of shape (n_features, LIMBS)) of an iterable of 2-D blocks of rows.

    Each block goes through the kernel's pass with one centroid, at the origin: its sums are
    the block's column sums, the same integers as ``exact.column_sums`` makes in numpy, at the
    kernel's speed.
    """
    exponents = tf.constant(np.append(column_exponents, exact.exponents(1.0)), tf.float64)
    total, loaded = np.zeros((n_features, exact.LIMBS)), kernel()
    for block in blocks:
        origin = tf.zeros([1, n_features], block.dtype)
        sums = loaded.nearest_centroid_sums(tf.constant(block), origin, no_weights(), exponents)[1]
        total = exact.add(total, sums.numpy()[0])
    return total


def no_weights():
    """The weights tensor that means every weight is 1: an empty float64 vector (made once, outside a graph).

    A pass over a chunk costs tens of microseconds less than with a new one.
    """
    if not tf.executing_eagerly():
        return tf.zeros([0], tf.float64)
    return _eager_no_weights()


@functools.lru_cache(maxsize=1)
def _eager_no_weights():
    return tf.zeros([0], tf.float64)


@dataclasses.dataclass(frozen=True)
class TensorFlowKernel:
    """The kernel's operations in TensorFlow's ops (see the module's docstring), ``batch_size`` rows at a time.

    Equal for equal ``batch_size``: the loops' traces are kept per kernel.
    """

    batch_size: int | None = None
    keeps_bounds = False  # the bounded pass measures every sample
    reads_in_place = False  # TensorFlow's ops read aligned tensors only: sparse rows are copied for them

    def chunk_rows(self, samples, centroids):
        """Rows per chunk: ``batch_size``, or as many as keep one (rows, n_clusters) block within CHUNK_BYTES."""
        if self.batch_size is not None:
            return tf.constant(self.batch_size, tf.int32)
        return tf.maximum(1, CHUNK_BYTES // (tf.shape(centroids)[0] * samples.dtype.size))

    def nearest_centroid_sums(self, samples, centroids, weights=None, exponents=None):
        weights = _given(weights)
        with quietly():
            chunk_rows, given = self.chunk_rows(samples, centroids), exact.pass_exponents(exponents, samples, weights)
            return exact.pass_outputs(_sums(samples, centroids, chunk_rows, weights, given), 1, exponents, given)

    def nearest_centroid_changes(self, samples, centroids, labels, weights=None, exponents=None):
        weights = _given(weights)
        with quietly():
            chunk_rows, given = self.chunk_rows(samples, centroids), exact.pass_exponents(exponents, samples, weights)
            return exact.pass_outputs(
                _changes(samples, centroids, labels, chunk_rows, weights, given), 1, exponents, given
            )

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
        new_labels, *changes = self.nearest_centroid_changes(samples, centroids, labels, weights, exponents)
        n_samples = tf_ops.n_rows(samples)
        no_upper = tf.fill([n_samples], tf.constant(np.inf, tf.float64))
        return (new_labels, no_upper, tf.zeros([n_samples], tf.float64), *changes, tf.constant(0, tf.int64))

    def cluster_sums(self, samples, centroids, labels, weights=None, exponents=None):
        weights = _given(weights)
        with quietly():
            given = exact.pass_exponents(exponents, samples, weights)
            weights = _row_weights(weights, tf_ops.n_rows(samples))
            sums, _ = tf_ops.exact_cluster_sums(samples, labels, tf.shape(centroids)[0], weights, given)
            return exact.tf_value(sums, given[:-1])

    def cluster_means(self, samples, centroids, labels, divisors, weights=None, exponents=None):
        values = self.cluster_sums(samples, centroids, labels, weights, exponents)
        return tf.cast(values / divisors[:, None], centroids.dtype)

    def readable(self, samples):
        return samples

    def exact_add(self, sums, changes, exponents):
        total = exact.tf_normalized(sums + changes)
        return total, exact.tf_value(total, exponents)

    def sum_squared_distances(self, samples, centroids, labels, weights=None):
        with quietly():
            return _inertia(samples, centroids, labels, self.chunk_rows(samples, centroids), _given(weights))


def _given(weights):
    return no_weights() if weights is None else weights


def _row_weights(weights, n_samples):
    """One float64 weight per sample: ``weights``, or ones where it is empty."""
    return tf.cond(tf.size(weights) > 0, lambda: weights, lambda: tf.ones([n_samples], tf.float64))


def _without_columns(samples):
    """Sparse ``samples`` (``CsrRows``) of no columns: their clusters' sums are empty, their counts the same."""
    return CsrRows(tf.zeros_like(samples.row_starts), samples.columns[:0], samples.values[:0], tf.constant(0, tf.int64))


def _sums_of(samples, labels, weights, n_clusters, exponents):
    """Exact (weighted) sums and counts, and members (samples of weight > 0), of ``samples`` per cluster of
    ``labels`` (sparse samples: a label of -1 leaves its sample out)."""
    sums, counts = tf_ops.exact_cluster_sums(samples, labels, n_clusters, weights, exponents)
    member = tf.cast(weights > 0, tf.float64)
    members = tf.math.unsorted_segment_sum(member, labels, n_clusters)
    return sums, counts, members


@traced_per_dtype(
    lambda dtype: [matrix(dtype), matrix(dtype), scalar(tf.int32), vector(tf.float64), vector(tf.float64)]
)
def _sums(samples, centroids, chunk_rows, weights, exponents):
    labels = tf.ensure_shape(tf_ops.labels_chunked(samples, centroids, chunk_rows), [None])
    weights = _row_weights(weights, tf_ops.n_rows(samples))
    return (labels, *_sums_of(samples, labels, weights, tf.shape(centroids)[0], exponents))


@traced_per_dtype(
    lambda dtype: [
        matrix(dtype),
        matrix(dtype),
        vector(tf.int64),
        scalar(tf.int32),
        vector(tf.float64),
        vector(tf.float64),
    ]
)
def _changes(samples, centroids, labels, chunk_rows, weights, exponents):
    new_labels = tf.ensure_shape(tf_ops.labels_chunked(samples, centroids, chunk_rows), [None])
    weights = _row_weights(weights, tf_ops.n_rows(samples))
    n_clusters = tf.shape(centroids)[0]
    if tf_ops.is_sparse(samples):  # the rows that moved, added and taken, without their columns: no sums
        moved, rows = tf.not_equal(new_labels, labels), _without_columns(samples)
        added = _sums_of(rows, tf.where(moved, new_labels, -1), weights, n_clusters, exponents[-1:])
        taken = _sums_of(rows, tf.where(moved, labels, -1), weights, n_clusters, exponents[-1:])
        return (new_labels, *_differences(added, taken, n_clusters), tf.math.count_nonzero(moved))
    moved = tf.where(tf.not_equal(new_labels, labels))[:, 0]
    rows, moved_weights = tf.gather(samples, moved), tf.gather(weights, moved)
    added = _sums_of(rows, tf.gather(new_labels, moved), moved_weights, n_clusters, exponents)
    # A sample leaves its old cluster unless it had none (-1): those go to a cluster past the last, dropped.
    old = tf.gather(labels, moved)
    old = tf.where(old >= 0, old, tf.cast(n_clusters, tf.int64))
    taken = _sums_of(rows, old, moved_weights, n_clusters + 1, exponents)
    return (new_labels, *_differences(added, taken, n_clusters), tf.size(moved, out_type=tf.int64))


def _differences(added, taken, n_clusters):
    """The changes ``added - taken`` of (sums, counts, members), the first two exact limbs normalized again."""
    (sums, counts, members), (sums_taken, counts_taken, members_taken) = added, taken
    return (
        exact.tf_normalized(sums - sums_taken[:n_clusters]),
        exact.tf_normalized(counts - counts_taken[:n_clusters]),
        members - members_taken[:n_clusters],
    )


@traced_per_dtype(lambda dtype: [matrix(dtype), matrix(dtype), vector(tf.int64), scalar(tf.int32), vector(tf.float64)])
def _inertia(samples, centroids, labels, chunk_rows, weights):
    weights = _row_weights(weights, tf_ops.n_rows(samples))
    return tf_ops.inertia_chunked(samples, centroids, labels, chunk_rows, weights, weighted=True)

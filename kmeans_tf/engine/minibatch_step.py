"""One step of mini-batch k-means: label a batch by the engine's pass and move the centroids, as scikit-learn does.

With ``count`` the weight a centroid has had so far, and ``sum``, ``batch_count`` the
batch's (weighted) sum and weight in its cluster, a step makes

    new_centroid = (centroid * count + sum) / (count + batch_count),

the mean of all the rows the centroid has had: its learning rate is ``batch_count / (count +
batch_count)`` (scikit-learn's ``_minibatch_update_dense``). The kernel
(``kernels``) gives a batch's labels with its float64 per-cluster sums and counts in one
pass, which is all the update needs.
Every ``REASSIGN_EVERY * n_clusters`` rows (and whenever a cluster has had none) the
clusters whose count is below ``reassignment_ratio`` times the largest move to random rows
of the batch (``_random_reassign``).

The steps work in the coordinates of a ``prepare.Prepared`` found on a first sample of rows:
rows minus the sample's mean (the kernel's distances by ``|x|^2 - 2 x.c + |c|^2`` lose less
to rounding near 0), scaled by a power of two when their squares would leave the dtype's range;
with ``metric="cosine"``, rows scaled to unit length, and each centroid scaled back to unit length
after its update (the mean direction of the rows it has had).
"""

import dataclasses

import numpy as np

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import kernels, prepare, sparse, spherical

# Small clusters are looked at once this many rows per cluster have gone by since the last look.
REASSIGN_EVERY = 10
# At most this fraction of a batch's rows become reassigned centroids in one step.
MOST_REASSIGNED = 0.5


@dataclasses.dataclass
class MiniBatchState:
    """Where a mini-batch run stands; ``step`` moves it on by one batch.

    Attributes
    ----------
    centroids : float64 array of shape (n_clusters, n_features), in ``prepared``'s coordinates
    counts : float64 array of shape (n_clusters,), the weight of the rows each centroid has had
    prepared : prepare.Prepared, the coordinates (its ``mean`` and ``exponent``; no data)
    since_reassignment : int, rows seen since small clusters were last looked at
    """

    centroids: np.ndarray
    counts: np.ndarray
    prepared: prepare.Prepared
    since_reassignment: int = 0

    def centroids_as(self, dtype):
        """The centroids in the rows' coordinates, as ``dtype``."""
        return self.prepared.unscaled(self.centroids, dtype)

    def step(self, batch, weights, rng, *, reassignment_ratio, verbose=False):
        """Label ``batch`` (in ``prepared``'s coordinates), move the centroids; return its inertia and the squared move.

        ``weights`` (float64, one per row, or None) weigh the rows in the sums and counts.
        The inertia (weighted, in ``prepared``'s units) is the batch's before the move, as
        scikit-learn's ``_mini_batch_step`` reports it. Reassigned centroids take rows of
        the batch drawn by ``rng``, each row alike.
        """
        reassign = self._due_for_reassignment(batch.shape[0])
        labels, sums, counts, inertia = assign(batch, self.centroids.astype(batch.dtype), weights)
        previous = self.centroids.copy()
        hit = counts > 0
        total = self.counts[hit] + counts[hit]
        self.centroids[hit] = (self.centroids[hit] * self.counts[hit, None] + sums[hit]) / total[:, None]
        if self.prepared.unit:  # spherical: each centroid the mean direction of its rows (none: it stays)
            directions = self.centroids[hit]
            cancelled = spherical.unit_rows(directions, directions) == 0
            directions[cancelled] = previous[hit][cancelled]
            self.centroids[hit] = directions
        self.counts[hit] = total
        if reassign and reassignment_ratio > 0:
            self._reassign_small_clusters(batch, rng, reassignment_ratio, verbose)
        return inertia, float(np.square(self.centroids - previous).sum())

    def _due_for_reassignment(self, n_rows):
        """scikit-learn's ``_random_reassign``: whether to look at small clusters in this step."""
        self.since_reassignment += n_rows
        if (self.counts == 0).any() or self.since_reassignment >= REASSIGN_EVERY * len(self.counts):
            self.since_reassignment = 0
            return True
        return False

    def _reassign_small_clusters(self, batch, rng, ratio, verbose):
        """Move clusters of count below ``ratio`` times the largest to random rows of ``batch`` (as scikit-learn)."""
        small = self.counts < ratio * self.counts.max()
        most = int(MOST_REASSIGNED * batch.shape[0])
        if small.sum() > MOST_REASSIGNED * batch.shape[0]:
            small[np.argsort(self.counts)[most:]] = False
        n_small = int(small.sum())
        if n_small:
            rows = rng.choice(batch.shape[0], size=n_small, replace=False)
            if verbose:
                print(f"[MiniBatchKMeans] Reassigning {n_small} cluster centers.")
            self.centroids[small] = sparse.rows_at(batch, rows)
        # Not back to 0, or they would be reassigned again at once (scikit-learn's choice, its learning rates too).
        if (~small).any():
            self.counts[small] = self.counts[~small].min()


def assign(batch, centroids, weights=None):
    """Label ``batch`` with its nearest of ``centroids`` (same dtype): labels, float64 sums and counts, and inertia.

    The kernel's one pass gives the labels with each cluster's (weighted) sum and count.
    ``weights``: float64 of one per row, or None (each 1). Returns numpy arrays and the
    (weighted) inertia as a float. Assumes checked input.
    """
    kernel = kernels.kernel(sparse=sparse.is_sparse(batch))
    data, centres = sparse.as_tensor(batch), tf.constant(centroids)
    weight_tensor = kernels.no_weights() if weights is None else tf.constant(weights, tf.float64)
    labels, sums, counts, _ = kernel.nearest_centroid_sums(data, centres, weight_tensor)  # float64 sums: on its own
    inertia = kernel.sum_squared_distances(data, centres, labels, weight_tensor)
    return labels.numpy(), sums.numpy(), counts.numpy(), float(inertia)


def prepared_on(rows, unit=False):
    """The coordinates that ``prepare.centre_and_scale`` finds for ``rows``, without the centred copy; with ``unit``
    (``metric="cosine"``), those of rows scaled to unit length."""
    if unit:
        return prepare.Prepared(None, None, np.zeros(rows.shape[1]), 0, unit=True)
    if sparse.is_sparse(rows):  # not centred
        return prepare.Prepared(None, None, np.zeros(rows.shape[1]), sparse.prepared(rows).exponent)
    found = prepare.centre_and_scale(rows)
    return prepare.Prepared(None, None, found.mean, found.exponent)


def coordinates(rows, prepared, name="samples"):
    """``rows`` (a new array, their dtype) in ``prepared``'s coordinates: ``(rows - mean) * 2**exponent``, or of unit
    length (ValueError naming a row of zeros of ``name``)."""
    if sparse.is_sparse(rows):
        return sparse.prepared(rows, unit=prepared.unit, exponent=prepared.exponent).centred
    if prepared.unit:
        return spherical.unit_copy(rows, name)
    offset = np.ldexp(prepared.mean, prepared.exponent).astype(rows.dtype)
    scaled = rows if prepared.exponent == 0 else np.ldexp(rows, prepared.exponent).astype(rows.dtype)
    return np.subtract(scaled, offset, dtype=rows.dtype)

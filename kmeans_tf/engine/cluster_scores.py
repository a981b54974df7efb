"""scikit-learn's Calinski-Harabasz and Davies-Bouldin scores of a clustering, from per-cluster sums.

scikit-learn's ``calinski_harabasz_score`` and ``davies_bouldin_score`` take dense rows in memory.
Both need only a few numbers per cluster (``Partition``): its size and centre, the data's mean,
the sum of squared distances to the centres, and each cluster's mean distance to its centre. Those
come here from sparse rows (``of_sparse``, never made dense) or from rows streamed from disk a
chunk at a time (``of_stream``, two passes, nothing the size of the data held), and give the same
scores as scikit-learn's on the same rows (to float64 rounding).
"""

import dataclasses

import numpy as np

from kmeans_tf.engine import sparse


@dataclasses.dataclass(frozen=True)
class Partition:
    """What the scores need of rows split into clusters (labels ``0 .. k-1``, each present), in float64.

    Attributes
    ----------
    centres : array of shape (k, n_features), each cluster's mean row
    sizes : array of shape (k,), its number of rows
    mean : array of shape (n_features,), the mean row
    within : float, the sum of the rows' squared distances to their centre
    spread : array of shape (k,), each cluster's mean (not squared) distance to its centre
    """

    centres: np.ndarray
    sizes: np.ndarray
    mean: np.ndarray
    within: float
    spread: np.ndarray


def calinski_harabasz(partition):
    """scikit-learn's ``calinski_harabasz_score``: between- over within-cluster dispersion, per degree of freedom."""
    n_rows, n_clusters = partition.sizes.sum(), len(partition.sizes)
    between = float(partition.sizes @ np.square(partition.centres - partition.mean).sum(axis=1))
    if partition.within == 0:
        return 1.0
    return between * (n_rows - n_clusters) / (partition.within * (n_clusters - 1))


def davies_bouldin(partition):
    """scikit-learn's ``davies_bouldin_score``: the mean over clusters of the worst (spread + spread) / distance."""
    centres, spread = partition.centres, partition.spread
    apart = np.sqrt(np.square(centres[:, None, :] - centres[None, :, :]).sum(axis=2))
    if np.allclose(spread, 0) or np.allclose(apart, 0):
        return 0.0
    apart[apart == 0] = np.inf
    return float(np.mean(np.max((spread[:, None] + spread[None, :]) / apart, axis=1)))


def of_sparse(rows, labels):
    """The ``Partition`` of sparse CSR ``rows`` by ``labels``."""
    labels = np.unique(labels, return_inverse=True)[1]
    sizes = np.bincount(labels).astype(np.float64)
    centres = np.asarray((sparse.one_hot(labels, len(sizes)).T @ rows).todense(), np.float64) / sizes[:, None]
    own = centres[labels]
    products = np.asarray(rows.multiply(own).sum(axis=1, dtype=np.float64)).ravel()
    distances = np.maximum(sparse.squared_norms(rows) - 2 * products + np.square(own).sum(axis=1), 0)
    mean = sparse.column_sums(rows) / rows.shape[0]
    return _partition(centres, sizes, mean, labels, distances)


def of_stream(chunks, labels, n_features):
    """The ``Partition`` of rows read by ``chunks()`` (a new iterator of ``(start, rows)`` pairs each call: two passes)
    by ``labels`` (one per row; an array or a memory map)."""
    n_clusters = int(np.max(labels)) + 1
    sums, sizes, total = np.zeros((n_clusters, n_features)), np.zeros(n_clusters), np.zeros(n_features)
    for start, rows in chunks():
        here = np.asarray(labels[start : start + len(rows)], np.int64)
        sums += sparse.one_hot(here, n_clusters).T @ rows.astype(np.float64)
        sizes += np.bincount(here, minlength=n_clusters)
        total += rows.sum(axis=0, dtype=np.float64)
    present = np.flatnonzero(sizes)
    centres, within, root_sums = sums[present] / sizes[present, None], 0.0, np.zeros(len(present))
    renumbered = np.full(n_clusters, -1)
    renumbered[present] = np.arange(len(present))
    for start, rows in chunks():
        here = renumbered[np.asarray(labels[start : start + len(rows)], np.int64)]
        distances = np.square(rows.astype(np.float64) - centres[here]).sum(axis=1)
        within += float(distances.sum())
        root_sums += np.bincount(here, weights=np.sqrt(distances), minlength=len(present))
    return Partition(centres, sizes[present], total / sizes.sum(), within, root_sums / sizes[present])


def _partition(centres, sizes, mean, labels, distances):
    """A ``Partition`` from each row's squared distance to its centre (``labels`` from 0, each present)."""
    spread = np.bincount(labels, weights=np.sqrt(distances), minlength=len(sizes)) / sizes
    return Partition(centres, sizes, mean, float(distances.sum()), spread)

"""Choosing k: ``elbow`` fits k-means for each of several k and measures each fit, ``kneedle`` suggests a k.

The scores are scikit-learn's (``sklearn.metrics``), imported inside ``elbow``.
"""

import dataclasses
import functools

import numpy as np

from kmeans_tf.engine import sparse, spherical, validation
from kmeans_tf.engine.kmeans import kmeans
from kmeans_tf.engine.options import (
    COSINE,
    DEFAULT_ALGORITHM,
    DEFAULT_INIT,
    DEFAULT_INIT_ROUNDS,
    DEFAULT_MAX_ITER,
    DEFAULT_METRIC,
    DEFAULT_N_INIT,
    DEFAULT_SILHOUETTE_ROWS,
    DEFAULT_TOL,
    MIN_K_VALUES,
    CallableOrNone,
)


@dataclasses.dataclass(frozen=True)
class ElbowResult:
    """What ``elbow`` measured, one entry per k, in increasing k.

    Attributes
    ----------
    k : int array of shape (n_k,)
    inertia : float array, the sum of squared distances of samples to their centroid
    silhouette : float array, ``sklearn.metrics.silhouette_score`` on the rows ``silhouette_sample``
        (from -1 to 1, higher is better)
    calinski_harabasz : float array, ``sklearn.metrics.calinski_harabasz_score`` on all rows (higher is better)
    davies_bouldin : float array, ``sklearn.metrics.davies_bouldin_score`` on all rows (lower is better)
    n_iter : int array, Lloyd iterations of the kept run
    suggested_k : int or None, the knee of the inertia curve by the kneedle rule (``kneedle``);
        None when the curve has none (it is flat, or not convex anywhere)
    silhouette_sample : int array, the rows the silhouette is measured on, the same for every k

    A score is NaN where it is undefined: for k = 1, and wherever the clustering (or, for the
    silhouette, its sample) has fewer than 2 clusters or as many clusters as rows.
    """

    k: np.ndarray
    inertia: np.ndarray
    silhouette: np.ndarray
    calinski_harabasz: np.ndarray
    davies_bouldin: np.ndarray
    n_iter: np.ndarray
    suggested_k: int | None
    silhouette_sample: np.ndarray


def elbow(
    samples, k_values, *, metric=DEFAULT_METRIC, init=DEFAULT_INIT, n_init=DEFAULT_N_INIT, max_iter=DEFAULT_MAX_ITER,
    tol=DEFAULT_TOL, seed=None, algorithm=DEFAULT_ALGORITHM, init_rounds=DEFAULT_INIT_ROUNDS,
    silhouette_rows=DEFAULT_SILHOUETTE_ROWS, callback=None,
):  # fmt: skip
    """Fit k-means for each k of ``k_values``, score each fit, and suggest a k by the kneedle rule.

    Parameters
    ----------
    samples : array of shape (n_samples, n_features), as ``kmeans`` takes them
    k_values : sequence of int
        At least 3 distinct values, each in [1, n_samples], in any order (the result is in
        increasing k).
    metric, init, n_init, max_iter, tol, algorithm, init_rounds
        Passed to ``kmeans`` for every k. With ``metric="cosine"`` the silhouette is measured by
        the cosine distance, and the Calinski-Harabasz and Davies-Bouldin scores on the rows
        scaled to unit length (the space spherical k-means clusters them in).
    seed : int in [0, 2**32 - 1] or None, default=None
        Each k is fitted with ``kmeans(..., seed=seed)``, and the silhouette's sample is drawn
        with it: the same seed gives the same result.
    silhouette_rows : int >= 2, default=10000
        The silhouette is measured on this many rows drawn without replacement (all rows
        when there are no more), the same rows for every k.
    callback : callable or None
        Called as ``callback(k, result)`` with each k's ``KMeansResult``.

    Returns
    -------
    ElbowResult
        Its ``suggested_k`` is the knee of the inertia curve by the kneedle rule (Satopää et
        al. 2011, see ``kneedle``).
    """
    rows_are_sparse = sparse.is_sparse(samples)
    samples = sparse.check(samples) if rows_are_sparse else validation.check_samples(samples)
    metric = validation.check_metric(metric)
    if rows_are_sparse:
        scored = sparse.prepared(samples, unit=True).centred if metric == COSINE else samples
        calinski_harabasz, davies_bouldin = sparse_calinski_harabasz, sparse_davies_bouldin
    else:
        scored = spherical.unit_copy(samples, "samples") if metric == COSINE else samples
        calinski_harabasz, davies_bouldin = None, None
    k_values = check_k_values(k_values, samples.shape[0])
    seed = validation.check_seed(seed)
    silhouette_rows = validation.check_int("silhouette_rows", silhouette_rows, 2)
    callback = CallableOrNone("callback(k, result)").check("callback", callback)
    from sklearn import metrics

    calinski_harabasz = calinski_harabasz or metrics.calinski_harabasz_score
    davies_bouldin = davies_bouldin or metrics.davies_bouldin_score
    rows = np.random.RandomState(seed).permutation(samples.shape[0])[:silhouette_rows]
    rows.sort()
    # Every k is fitted alike: only n_clusters changes.
    fit_options = {
        "metric": metric,
        "init": init,
        "n_init": n_init,
        "max_iter": max_iter,
        "tol": tol,
        "seed": seed,
        "algorithm": algorithm,
        "init_rounds": init_rounds,
    }
    measured = []
    for k in k_values:
        result = kmeans(samples, k, **fit_options)
        if callback is not None:
            callback(k, result)
        measured.append(
            (
                result.inertia,
                _score(functools.partial(metrics.silhouette_score, metric=metric), samples[rows], result.labels[rows]),
                _score(calinski_harabasz, scored, result.labels),
                _score(davies_bouldin, scored, result.labels),
                result.n_iter,
            )
        )
    inertia, silhouette, calinski_harabasz, davies_bouldin, n_iter = (np.array(column) for column in zip(*measured))
    return ElbowResult(
        k=k_values,
        inertia=inertia,
        silhouette=silhouette,
        calinski_harabasz=calinski_harabasz,
        davies_bouldin=davies_bouldin,
        n_iter=n_iter.astype(np.int64),
        suggested_k=kneedle(k_values, inertia),
        silhouette_sample=rows,
    )


def kneedle(k, inertia):
    """Return the knee of a decreasing, convex curve by the kneedle rule (Satopää et al. 2011), or None.

    Both axes are scaled to [0, 1]; the knee is the k where the scaled curve lies farthest
    below the straight line from its first point to its last. There is none (None) when the
    inertia does not vary, or when no point lies below that line.

    Parameters
    ----------
    k : array of shape (n_points,), increasing, n_points >= 3
    inertia : array of shape (n_points,)
    """
    k, inertia = np.asarray(k, np.float64), np.asarray(inertia, np.float64)
    spread = inertia.max() - inertia.min()
    if spread == 0:
        return None
    x = (k - k[0]) / (k[-1] - k[0])
    y = (inertia - inertia.min()) / spread
    below_line = y[0] + (y[-1] - y[0]) * x - y
    knee = int(np.argmax(below_line))
    return int(k[knee]) if below_line[knee] > 0 else None


def check_k_values(k_values, n_samples):
    """Return ``k_values`` as a sorted int64 array of at least MIN_K_VALUES distinct values in [1, n_samples]."""
    try:
        values = [validation.check_int("k", value, 1, n_samples) for value in k_values]
    except TypeError:
        raise ValueError(f"k_values={k_values!r} should be a sequence of integers") from None
    except ValueError as error:
        raise ValueError(f"k_values: {error} (n_samples={n_samples})") from None
    if len(set(values)) != len(values):
        raise ValueError(f"k_values={values} should not repeat a value")
    if len(values) < MIN_K_VALUES:
        raise ValueError(
            f"k_values={values} should hold at least {MIN_K_VALUES} values: "
            f"the kneedle rule needs a point between the first and the last"
        )
    return np.array(sorted(values), np.int64)


def _score(score, samples, labels):
    """``score(samples, labels)``, or NaN where it is undefined (fewer than 2 clusters, or as many as rows)."""
    n_labels = len(np.unique(labels))
    return float(score(samples, labels)) if 2 <= n_labels < samples.shape[0] else np.nan


def sparse_calinski_harabasz(rows, labels):
    """scikit-learn's ``calinski_harabasz_score`` of sparse CSR ``rows`` (which it takes dense only), from sums."""
    n_rows, n_labels = rows.shape[0], len(np.unique(labels))
    centres, sizes = _centres(rows, labels)
    mean = np.asarray(rows.sum(axis=0, dtype=np.float64)).ravel() / n_rows
    between = float(sizes @ np.square(centres - mean).sum(axis=1))
    within = float(_distances_to_centres(rows, labels, centres).sum())
    return 1.0 if within == 0 else between * (n_rows - n_labels) / (within * (n_labels - 1))


def sparse_davies_bouldin(rows, labels):
    """scikit-learn's ``davies_bouldin_score`` of sparse CSR ``rows`` (which it takes dense only)."""
    centres, sizes = _centres(rows, labels)
    spread = np.bincount(labels, weights=np.sqrt(_distances_to_centres(rows, labels, centres))) / sizes
    apart = np.sqrt(np.square(centres[:, None, :] - centres[None, :, :]).sum(axis=2))
    if np.allclose(spread, 0) or np.allclose(apart, 0):
        return 0.0
    apart[apart == 0] = np.inf
    return float(np.mean(np.max((spread[:, None] + spread[None, :]) / apart, axis=1)))


def _centres(rows, labels):
    """The mean (float64) and the size of each label's rows, labels 0 to their largest (each one present)."""
    labels = np.unique(labels, return_inverse=True)[1]
    sizes = np.bincount(labels).astype(np.float64)
    one_hot = sparse.one_hot(labels, len(sizes))
    return np.asarray((one_hot.T @ rows).todense(), np.float64) / sizes[:, None], sizes


def _distances_to_centres(rows, labels, centres):
    """Each row's squared distance to its label's centre, in float64."""
    labels = np.unique(labels, return_inverse=True)[1]
    own = centres[labels]
    products = np.asarray(rows.multiply(own).sum(axis=1, dtype=np.float64)).ravel()
    return np.maximum(sparse.squared_norms(rows) - 2 * products + np.square(own).sum(axis=1), 0)

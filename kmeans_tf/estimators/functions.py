"""scikit-learn's k-means functions, ``k_means`` and ``kmeans_plusplus``, on the engine.

``k_means`` fits a ``KMeans`` with its parameters and returns its answers, as
scikit-learn's does; ``kmeans_plusplus`` runs the engine's greedy k-means++ seeding
(``kmeans_tf.engine.seeding``) on the data centred as a fit centres them (sparse rows: as they are).
"""

import numpy as np
from sklearn.utils import check_random_state

from kmeans_tf.engine import prepare, seeding, sparse, validation
from kmeans_tf.engine.options import DEFAULT_INIT, DEFAULT_MAX_ITER, DEFAULT_TOL, LLOYD
from kmeans_tf.estimators.base import AUTO_N_INIT
from kmeans_tf.estimators.kmeans import KMeans


def k_means(
    X, n_clusters, *, sample_weight=None, init=DEFAULT_INIT, n_init=AUTO_N_INIT, max_iter=DEFAULT_MAX_ITER,
    verbose=False, tol=DEFAULT_TOL, random_state=None, copy_x=True, algorithm=LLOYD, return_n_iter=False,
):  # fmt: skip
    """Cluster ``X`` with k-means, as scikit-learn's ``k_means``: ``KMeans`` fitted with these parameters.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_clusters : int
    sample_weight : array of shape (n_samples,) or None, default=None
    init, n_init, max_iter, verbose, tol, random_state, copy_x, algorithm
        As ``KMeans``'s parameters of these names; ``algorithm`` defaults to "lloyd", as in scikit-learn.
    return_n_iter : bool, default=False

    Returns
    -------
    centroid : array of shape (n_clusters, n_features)
    label : int32 array of shape (n_samples,)
    inertia : float
    best_n_iter : int, iterations of the run kept; with ``return_n_iter`` only
    """
    fitted = KMeans(
        n_clusters,
        init=init,
        n_init=n_init,
        max_iter=max_iter,
        tol=tol,
        algorithm=algorithm,
        random_state=random_state,
        copy_x=copy_x,
        verbose=verbose,
    ).fit(X, sample_weight=sample_weight)
    answer = (fitted.cluster_centers_, fitted.labels_, fitted.inertia_)
    return (*answer, fitted.n_iter_) if return_n_iter else answer


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, x_squared_norms=None, random_state=None, n_local_trials=None):
    """Choose ``n_clusters`` rows of ``X`` by greedy k-means++, as scikit-learn's ``kmeans_plusplus``.

    Parameters
    ----------
    X : array or sparse matrix of shape (n_samples, n_features)
        Integers become float64; sparse rows are measured as they are (not centred).
    n_clusters : int, 1 <= n_clusters <= n_samples
    sample_weight : array of shape (n_samples,) or None, default=None
        The first row is drawn in proportion to the weights, and each candidate in proportion
        to weight times squared distance to the nearest row chosen.
    x_squared_norms : array of shape (n_samples,) or None, default=None
        Kept for scikit-learn's API; its length is checked, its values unused: the seeding
        centres the data, as a fit does, and measures the centred rows' norms.
    random_state : int, RandomState instance or None, default=None
    n_local_trials : int >= 1 or None, default=None
        Candidates drawn for each row but the first, the one that lowers the inertia most
        kept; None: ``2 + int(log(n_clusters))``. 1 is plain k-means++.

    Returns
    -------
    centers : array of shape (n_clusters, n_features), in ``X``'s float dtype
    indices : int array of shape (n_clusters,), the rows chosen: ``X[indices]`` is ``centers``
    """
    if sparse.is_sparse(X):
        samples = sparse.check(X, "X")
    else:
        samples, largest = validation.check_samples_and_largest(X, "X")
    n_samples = samples.shape[0]
    n_clusters = validation.check_n_clusters(n_clusters, n_samples)
    weights = validation.check_sample_weight(sample_weight, n_samples)
    if x_squared_norms is not None and np.shape(x_squared_norms) != (n_samples,):
        raise ValueError(
            f"The length of x_squared_norms (shape {np.shape(x_squared_norms)}) should be equal to the length of "
            f"n_samples {n_samples}."
        )
    if n_local_trials is not None:
        n_local_trials = validation.check_int("n_local_trials", n_local_trials, 1)
    if sparse.is_sparse(samples):
        seen = sparse.prepared(samples).centred
    else:
        seen = prepare.centre_and_scale(samples, largest).centred
    indices = seeding.kmeans_plusplus(seen, n_clusters, check_random_state(random_state), weights, n_local_trials)
    return sparse.rows_at(samples, indices), indices

"""``KMeans``: the engine as a scikit-learn estimator, for pipelines, searches and code written for scikit-learn.

Parameters, methods and fitted attributes have scikit-learn's names and meanings
(``sklearn.cluster.KMeans``); the fit runs ``kmeans_tf.engine.kmeans.kmeans``. Fitted
attributes are numpy arrays, so the estimator pickles and clones.
"""

import functools
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from kmeans_tf.engine import progress
from kmeans_tf.engine.kmeans import kmeans
from kmeans_tf.engine.options import (
    DEFAULT_ALGORITHM,
    DEFAULT_INIT,
    DEFAULT_MAX_ITER,
    DEFAULT_METRIC,
    DEFAULT_TOL,
    ELKAN,
    LLOYD,
)
from kmeans_tf.engine.result import best_of_runs
from kmeans_tf.estimators.base import AUTO_N_INIT, BaseKMeans

# Runs that n_init="auto" makes for init="random" or a callable, as in scikit-learn.
AUTO_N_INIT_RUNS = 10


class KMeans(BaseKMeans):
    """K-means clustering by the engine, with scikit-learn's API.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means++", "random", "k-means||"}, callable or array (n_clusters, n_features), default="k-means++"
        A callable is called as ``init(X, n_clusters, random_state)``, once a run, and returns
        the initial centroids; each run's ``random_state`` is a RandomState seeded from ``random_state``.
    n_init : int or "auto", default="auto"
        Runs from different initialisations; the lowest inertia wins (the first of equal ones).
        "auto": 1 for "k-means++", "k-means||" or an array, 10 for "random" or a callable.
        With an explicit ``init`` array one run is made (and a warning says so, as scikit-learn does).
    max_iter : int, default=300
    tol : float, default=1e-4
        Relative to the mean per-feature variance of the data, as in scikit-learn.
    algorithm : {"auto", "lloyd", "hamerly", "elkan"}, default="auto"
        How each iteration is computed (``kmeans_tf.engine.kmeans.kmeans``); the answer is the same.
        "elkan" is scikit-learn's name for its bounded algorithm; with one cluster it runs "lloyd",
        and a RuntimeWarning says so, as scikit-learn does.
    random_state : int, RandomState instance or None, default=None
    copy_x : bool, default=True
        Kept for scikit-learn's API: the engine never writes to ``X`` either way.
    batch_size : int or None, default=None
        Rows per chunk of the distance computation on TensorFlow's ops.
    verbose : int, default=0
        Above 0, prints what scikit-learn prints: for each run "Initialization complete", each
        iteration's inertia as the iteration ends, and why the run stopped. Each iteration then
        costs one more pass, for its inertia.
    log_dir : str or path-like or None, default=None
        Not one of scikit-learn's parameters: a folder where ``fit`` writes each iteration's inertia,
        centroid shift, labels changed, seconds and cluster sizes for TensorBoard, a subfolder per
        run, and the centroids for its Embedding Projector (``kmeans_tf.kmeans``'s ``log_dir``).
        Needs TensorBoard (``pip install 'kmeans-tf[tensorboard]'``).
    metric : {"euclidean", "cosine"}, default="euclidean"
        An addition to scikit-learn's parameters: "cosine" runs spherical k-means, rows
        compared by direction (``kmeans_tf.engine.kmeans.kmeans``); then ``predict``,
        ``transform`` (the cosine distance ``1 - cos``) and ``score`` use it too.

    Attributes
    ----------
    cluster_centers_ : array of shape (n_clusters, n_features)
    labels_ : int32 array of shape (n_samples,)
    inertia_ : float, the (weighted) sum of squared distances to the nearest centroid
    n_iter_ : int, iterations of the best run
    n_features_in_ : int
    feature_names_in_ : array of str, when ``X`` has column names (a pandas DataFrame)
    """

    _auto_n_init_runs = AUTO_N_INIT_RUNS

    def __init__(
        self, n_clusters=8, *, init=DEFAULT_INIT, n_init=AUTO_N_INIT, max_iter=DEFAULT_MAX_ITER, tol=DEFAULT_TOL,
        algorithm=DEFAULT_ALGORITHM, random_state=None, copy_x=True, batch_size=None, verbose=0, log_dir=None,
        metric=DEFAULT_METRIC,
    ):  # fmt: skip
        self._store_params(locals())

    def fit(self, X, y=None, sample_weight=None):
        """Cluster ``X`` (array of shape (n_samples, n_features)), each row weighted by ``sample_weight``.

        ``X`` may also be a finite ``tf.data.Dataset`` of float batches (or ``DatasetRows``), streamed from it.
        """
        X, sample_weight, init, seed = self._fit_preamble(X, sample_weight)
        fit_from = functools.partial(
            kmeans,
            X,
            self.n_clusters,
            metric=self.metric,
            max_iter=self.max_iter,
            tol=self.tol,
            batch_size=self.batch_size,
            algorithm=self._algorithm(),
            sample_weight=sample_weight,
        )
        callback = _report if self.verbose else None
        if callable(init):
            result = best_of_runs(
                self._n_init,
                seed,
                lambda run_seed: init(X, self.n_clusters, np.random.RandomState(run_seed)),
                lambda initial, report: fit_from(
                    init=initial, n_init=1, callback=None if report is None else report.forward
                ),
                progress.watch(callback, self.log_dir),
            )
        else:
            result = fit_from(init=init, n_init=self._n_init, seed=seed, callback=callback, log_dir=self.log_dir)
        distinct = len(np.unique(result.labels))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                f"({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set_fitted(result)
        return self

    @property
    def _predict_chunk_rows(self):
        return self.batch_size

    def _algorithm(self):
        """The algorithm to run: ``algorithm``, but "lloyd" for "elkan" with one cluster (warned, as scikit-learn)."""
        if isinstance(self.algorithm, str) and self.algorithm == ELKAN and self.n_clusters == 1:
            warnings.warn(
                "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead.",
                RuntimeWarning,
                stacklevel=3,
            )
            return LLOYD
        return self.algorithm


def _report(state):
    """Print an iteration as scikit-learn's ``verbose`` does: the run's start, its inertia, and why the run stopped."""
    if state.iteration == 0:
        print("Initialization complete")
    print(f"Iteration {state.iteration}, inertia {state.inertia}.")
    if state.converged and state.changed == 0:
        print(f"Converged at iteration {state.iteration}: strict convergence.")
    elif state.converged:
        print(f"Converged at iteration {state.iteration}: center shift {state.shift} within tolerance {state.tol}.")

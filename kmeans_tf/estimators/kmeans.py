"""``KMeans``: the engine as a scikit-learn estimator, for pipelines, searches and code written for scikit-learn.

Parameters, methods and fitted attributes have scikit-learn's names and meanings
(``sklearn.cluster.KMeans``); the fit runs ``kmeans_tf.engine.kmeans.kmeans``. Fitted
attributes are numpy arrays, so the estimator pickles and clones.
"""
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import euclidean_distances
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from kmeans_tf.engine.kmeans import inertia, kmeans, predict
from kmeans_tf.engine.options import (DEFAULT_ALGORITHM, DEFAULT_INIT, DEFAULT_MAX_ITER, DEFAULT_N_INIT, DEFAULT_TOL,
                                   MAX_SEED)


class FittedCentroids:
    """The methods of a fitted centroid model (``cluster_centers_``), shared by ``KMeans`` and ``MiniBatchKMeans``."""

    # Rows per chunk of the distance computation on TensorFlow's ops (None: sized by the engine).
    _predict_chunk_rows = None

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, and return the cluster of each row of ``X``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def predict(self, X):
        """Return the index (int32) of the nearest centroid of each row of ``X``."""
        X = self._check_test_data(X)
        return predict(X, self.cluster_centers_, batch_size=self._predict_chunk_rows).astype(np.int32)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, and return the distances of each row of ``X`` to every centroid."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def transform(self, X):
        """Return the distances, shape (n_samples, n_clusters), of each row of ``X`` to every centroid."""
        return euclidean_distances(self._check_test_data(X), self.cluster_centers_)

    def score(self, X, y=None, sample_weight=None):
        """Return minus the (weighted) inertia of ``X`` with the fitted centroids: higher is better."""
        X = self._check_test_data(X)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        return -inertia(X, self.cluster_centers_, sample_weight=sample_weight)

    def _check_test_data(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32], order="C")


class KMeans(FittedCentroids, ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """K-means clustering by the engine, with scikit-learn's API.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means++", "random"}, callable or array of shape (n_clusters, n_features), default="k-means++"
        A callable is called as ``init(X, n_clusters, random_state)`` and returns the initial centroids.
    n_init : int, default=1
        Runs from different initialisations; the lowest inertia wins. With an explicit
        ``init`` array one run is made (and a warning says so, as scikit-learn does).
    max_iter : int, default=300
    tol : float, default=1e-4
        Relative to the mean per-feature variance of the data, as in scikit-learn.
    algorithm : {"auto", "lloyd", "hamerly"}, default="auto"
        How each iteration is computed (``compat.eager.kmeans``); the answer is the same.
    random_state : int, RandomState instance or None, default=None
    copy_x : bool, default=True
        Kept for scikit-learn's API: the engine never writes to ``X`` either way.
    batch_size : int or None, default=None
        Rows per chunk of the distance computation on TensorFlow's ops.
    verbose : int, default=0
        Above 0, prints each run's inertia and iterations.

    Attributes
    ----------
    cluster_centers_ : array of shape (n_clusters, n_features)
    labels_ : int32 array of shape (n_samples,)
    inertia_ : float, the (weighted) sum of squared distances to the nearest centroid
    n_iter_ : int, iterations of the best run
    n_features_in_ : int
    feature_names_in_ : array of str, when ``X`` has column names (a pandas DataFrame)
    """

    def __init__(self, n_clusters=8, *, init=DEFAULT_INIT, n_init=DEFAULT_N_INIT, max_iter=DEFAULT_MAX_ITER,
                 tol=DEFAULT_TOL, algorithm=DEFAULT_ALGORITHM, random_state=None, copy_x=True, batch_size=None,
                 verbose=0):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.random_state = random_state
        self.copy_x = copy_x
        self.batch_size = batch_size
        self.verbose = verbose

    def fit(self, X, y=None, sample_weight=None):
        """Cluster ``X`` (array of shape (n_samples, n_features)), each row weighted by ``sample_weight``."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        random_state = check_random_state(self.random_state)
        init, n_init = self.init, self.n_init
        if callable(init):
            init = init(X, self.n_clusters, random_state)
        if not isinstance(init, str):
            init = check_array(init, dtype=X.dtype)
            if n_init != 1:
                warnings.warn(f"Explicit initial center position passed: performing only one init in {type(self).__name__} "
                              f"instead of n_init={n_init}.", RuntimeWarning, stacklevel=2)
                n_init = 1
        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else random_state.randint(MAX_SEED)

        def report(run, result):
            print(f"Run {run + 1}: inertia {result.inertia:.6g} after {result.n_iter} iterations"
                  f"{'' if result.converged else ' (not converged)'}")

        result = kmeans(X, self.n_clusters, init=init, n_init=n_init, max_iter=self.max_iter, tol=self.tol,
                        seed=seed, batch_size=self.batch_size, algorithm=self.algorithm,
                        sample_weight=sample_weight, callback=report if self.verbose else None)
        distinct = len(np.unique(result.labels))
        if distinct < self.n_clusters:
            warnings.warn(f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                          f"({self.n_clusters}). Possibly due to duplicate points in X.", ConvergenceWarning,
                          stacklevel=2)
        self.cluster_centers_ = result.centroids
        self.labels_ = result.labels.astype(np.int32)
        self.inertia_ = result.inertia
        self.n_iter_ = result.n_iter
        self._n_features_out = self.cluster_centers_.shape[0]
        return self

    @property
    def _predict_chunk_rows(self):
        return self.batch_size

"""``MiniBatchKMeans``: mini-batch k-means by the engine as a scikit-learn estimator, for data too large to pass over often, or arriving over time.

Parameters, methods and fitted attributes have scikit-learn's names and meanings
(``sklearn.cluster.MiniBatchKMeans``); ``fit`` runs ``kmeans_tf.engine.minibatch.minibatch_kmeans``
and ``partial_fit`` makes one step (``minibatch_step``) on the rows it is given. Fitted
attributes are numpy arrays, so the estimator pickles and clones.
"""
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, validate_data

from kmeans_tf.engine import minibatch, validation
from kmeans_tf.estimators.kmeans import FittedCentroids
from kmeans_tf.engine.kmeans import inertia, predict
from kmeans_tf.engine.minibatch_step import coordinates
from kmeans_tf.engine.options import DEFAULT_INIT, KMEANS_PARALLEL_INIT, KMEANS_PLUSPLUS_INIT, MAX_SEED

# n_init="auto", as in scikit-learn: one initialisation for k-means++ (and k-means||) or an array, else this many.
AUTO_N_INIT = "auto"
AUTO_N_INIT_RUNS = 3


class MiniBatchKMeans(FittedCentroids, ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin,
                      BaseEstimator):
    """Mini-batch k-means by the engine, with scikit-learn's API.

    Each step labels a batch of rows by the engine's pass and moves each centroid to the
    mean of all the rows it has had: a few passes over the data (or one, as it arrives, by
    ``partial_fit``) give centroids whose inertia is a little above that of Lloyd's k-means
    (``KMeans``), which passes over all the data in every iteration.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means++", "random", "k-means||"}, callable or array of shape (n_clusters, n_features), default="k-means++"
        Seeding runs on ``init_size`` rows drawn at random. A callable is called as
        ``init(rows, n_clusters, random_state)`` and returns the initial centroids.
    max_iter : int, default=100
        Passes over the data at the most: ``fit`` makes at most ``max_iter * n_samples // batch_size`` steps.
    batch_size : int, default=1024
        Rows per step. Larger batches cost more a step and wander less.
    verbose : int, default=0
        Above 0, prints each step's batch inertia and its running average.
    compute_labels : bool, default=True
        Label the rows (``labels_``) and measure their inertia once the centroids are found.
    random_state : int, RandomState instance or None, default=None
    tol : float, default=0.0
        Stop when a step moves the centroids by a total squared distance of at most ``tol``
        times the mean per-feature variance of ``X``; 0: never.
    max_no_improvement : int or None, default=10
        Stop after this many steps without a new lowest average batch inertia; None: never.
    init_size : int or None, default=None
        Rows the seeding sees: by default ``3 * batch_size``, at least ``3 * n_clusters``.
    n_init : int or "auto", default=1
        Initialisations tried, each judged by its inertia on ``init_size`` rows drawn once;
        "auto": 1 for k-means++, k-means|| or an array, 3 otherwise. With an explicit
        ``init`` array one is made (and a warning says so, as scikit-learn does).
    reassignment_ratio : float, default=0.01
        Clusters that have had fewer rows than this fraction of the largest move to random
        rows of a batch, now and then.

    Attributes
    ----------
    cluster_centers_ : array of shape (n_clusters, n_features)
    labels_ : int32 array of shape (n_samples,), with ``compute_labels``
        (after ``partial_fit``: of the rows it was given)
    inertia_ : float, the (weighted) sum of squared distances to the nearest centroid; without
        ``compute_labels``, scikit-learn's estimate from the batches
    n_iter_ : int, passes over the data that ``fit``'s steps add up to
    n_steps_ : int, steps made (batches used)
    n_features_in_ : int
    feature_names_in_ : array of str, when ``X`` has column names (a pandas DataFrame)
    """

    def __init__(self, n_clusters=8, *, init=DEFAULT_INIT, max_iter=minibatch.DEFAULT_MAX_ITER,
                 batch_size=minibatch.DEFAULT_BATCH_SIZE, verbose=0, compute_labels=True, random_state=None,
                 tol=minibatch.DEFAULT_TOL, max_no_improvement=minibatch.DEFAULT_MAX_NO_IMPROVEMENT, init_size=None,
                 n_init=1, reassignment_ratio=minibatch.DEFAULT_REASSIGNMENT_RATIO):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio

    def fit(self, X, y=None, sample_weight=None):
        """Cluster ``X`` (array of shape (n_samples, n_features)) by batches of its rows, each drawn in proportion to ``sample_weight``."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
        sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        random_state = check_random_state(self.random_state)
        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else random_state.randint(MAX_SEED)
        init = self._init(X)
        result = minibatch.minibatch_kmeans(
            X, self.n_clusters, batch_size=self.batch_size, init=init, n_init=self._n_init(init),
            max_iter=self.max_iter, tol=self.tol, max_no_improvement=self.max_no_improvement,
            init_size=self.init_size, reassignment_ratio=self.reassignment_ratio,
            compute_labels=self.compute_labels, seed=seed, sample_weight=sample_weight, verbose=bool(self.verbose))
        self._state = result.state
        self.cluster_centers_ = result.centroids
        if result.labels is not None:
            self.labels_ = result.labels.astype(np.int32)
        self.inertia_ = result.inertia
        self.n_iter_ = result.n_iter
        self.n_steps_ = result.n_steps
        self._n_features_out = self.cluster_centers_.shape[0]
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """Make one step on the rows of ``X``, each weighted by ``sample_weight``; the first call seeds the centroids on them."""
        started = hasattr(self, "cluster_centers_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=not started)
        self._random_state = getattr(self, "_random_state", check_random_state(self.random_state))
        sample_weight = validation.check_sample_weight(_check_sample_weight(sample_weight, X, dtype=X.dtype), len(X))
        reassignment_ratio = minibatch.check_reassignment_ratio(self.reassignment_ratio)
        compute_labels = validation.check_flag("compute_labels", self.compute_labels)
        if not started:
            self._state = minibatch.start(X, self.n_clusters, rng=self._random_state, batch_size=self.batch_size,
                                          init=self._init(X), init_size=self.init_size, sample_weight=sample_weight)
            self.n_steps_ = 0
        self._state.step(coordinates(X, self._state.prepared), sample_weight, self._random_state,
                         reassignment_ratio=reassignment_ratio, verbose=bool(self.verbose))
        self.cluster_centers_ = self._state.centroids_as(X.dtype)
        if compute_labels:
            self.labels_ = predict(X, self.cluster_centers_).astype(np.int32)
            self.inertia_ = inertia(X, self.cluster_centers_, sample_weight=sample_weight)
        self.n_steps_ += 1
        self._n_features_out = self.cluster_centers_.shape[0]
        return self

    def _init(self, X):
        """The ``init`` to seed with: a strategy name or a callable as given, an array in ``X``'s dtype."""
        if isinstance(self.init, str) or callable(self.init):
            return self.init
        return validation.check_centroids(self.init, self.n_clusters, X.shape[1], X.dtype, name="init")

    def _n_init(self, init):
        """``n_init``, "auto" resolved as scikit-learn does; 1 (with its warning) for an array ``init``."""
        n_init = self.n_init
        if isinstance(n_init, str) and n_init == AUTO_N_INIT:
            n_init = 1 if not callable(init) and (not isinstance(init, str) or init in (
                KMEANS_PLUSPLUS_INIT, KMEANS_PARALLEL_INIT)) else AUTO_N_INIT_RUNS
        if isinstance(init, np.ndarray) and n_init != 1:
            warnings.warn(f"Explicit initial center position passed: performing only one init in "
                          f"{type(self).__name__} instead of n_init={n_init}.", RuntimeWarning, stacklevel=3)
            n_init = 1
        return n_init

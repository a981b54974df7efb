"""``MiniBatchKMeans``: mini-batch k-means as a scikit-learn estimator, for data too large to pass over often.

Or for data arriving over time (``partial_fit``).

Parameters, methods and fitted attributes have scikit-learn's names and meanings
(``sklearn.cluster.MiniBatchKMeans``); ``fit`` runs ``kmeans_tf.engine.minibatch.minibatch_kmeans``
and ``partial_fit`` makes one step (``minibatch_step``) on the rows it is given. Fitted
attributes are numpy arrays, so the estimator pickles and clones.
"""

import numpy as np
from sklearn.utils import check_random_state

from kmeans_tf.engine import minibatch, validation
from kmeans_tf.engine.kmeans import inertia, predict
from kmeans_tf.engine.minibatch_step import coordinates
from kmeans_tf.engine.options import (
    DEFAULT_INIT,
    DEFAULT_METRIC,
    MINIBATCH_BATCH_SIZE,
    MINIBATCH_MAX_ITER,
    MINIBATCH_MAX_NO_IMPROVEMENT,
    MINIBATCH_REASSIGNMENT_RATIO,
    MINIBATCH_TOL,
)
from kmeans_tf.estimators.base import AUTO_N_INIT, BaseKMeans
from kmeans_tf.stream.datasets import is_dataset

# Runs that n_init="auto" makes for init="random" or a callable, as in scikit-learn.
AUTO_N_INIT_RUNS = 3


class MiniBatchKMeans(BaseKMeans):
    """Mini-batch k-means by the engine, with scikit-learn's API.

    Each step labels a batch of rows by the engine's pass and moves each centroid to the
    mean of all the rows it has had: a few passes over the data (or one, as it arrives, by
    ``partial_fit``) give centroids whose inertia is a little above that of Lloyd's k-means
    (``KMeans``), which passes over all the data in every iteration.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means++", "random", "k-means||"}, callable or array (n_clusters, n_features), default="k-means++"
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
    n_init : int or "auto", default="auto"
        Initialisations tried (a callable ``init`` is called once each), each judged by its
        inertia on ``init_size`` rows drawn once; "auto": 1 for "k-means++", "k-means||" or an
        array, 3 for "random" or a callable. With an explicit ``init`` array one is made (and a
        warning says so, as scikit-learn does).
    reassignment_ratio : float, default=0.01
        Clusters that have had fewer rows than this fraction of the largest move to random
        rows of a batch, now and then.
    log_dir : str or path-like or None, default=None
        Not one of scikit-learn's parameters: a folder where ``fit`` writes each step's batch
        inertia, centroid shift, seconds and cluster sizes for TensorBoard, and the centroids for its
        Embedding Projector (``kmeans_tf.minibatch_kmeans``'s ``log_dir``; ``partial_fit`` writes
        nothing). Needs TensorBoard (``pip install 'kmeans-tf[tensorboard]'``).
    metric : {"euclidean", "cosine"}, default="euclidean"
        An addition to scikit-learn's parameters: "cosine" runs spherical mini-batch k-means,
        rows compared by direction (``kmeans_tf.engine.minibatch.minibatch_kmeans``); then
        ``predict``, ``transform`` (the cosine distance ``1 - cos``) and ``score`` use it too.

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
    _init_size : int, the rows each of ``fit``'s seedings saw
    """

    _auto_n_init_runs = AUTO_N_INIT_RUNS

    def __init__(
        self, n_clusters=8, *, init=DEFAULT_INIT, max_iter=MINIBATCH_MAX_ITER, batch_size=MINIBATCH_BATCH_SIZE,
        verbose=0, compute_labels=True, random_state=None, tol=MINIBATCH_TOL,
        max_no_improvement=MINIBATCH_MAX_NO_IMPROVEMENT, init_size=None, n_init=AUTO_N_INIT,
        reassignment_ratio=MINIBATCH_REASSIGNMENT_RATIO, log_dir=None, metric=DEFAULT_METRIC,
    ):  # fmt: skip
        self._store_params(locals())

    def fit(self, X, y=None, sample_weight=None):
        """Cluster ``X`` (n_samples, n_features) by batches of its rows, drawn in proportion to ``sample_weight``."""
        refuse_dataset(X, "fit draws its batches at random from X in memory")
        X, sample_weight, init, seed = self._fit_preamble(X, sample_weight)
        result = minibatch.minibatch_kmeans(
            X,
            self.n_clusters,
            metric=self.metric,
            batch_size=self.batch_size,
            init=init,
            n_init=self._n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            max_no_improvement=self.max_no_improvement,
            init_size=self.init_size,
            reassignment_ratio=self.reassignment_ratio,
            compute_labels=self.compute_labels,
            seed=seed,
            sample_weight=sample_weight,
            verbose=bool(self.verbose),
            log_dir=self.log_dir,
        )
        self._state, self._init_size = result.state, result.init_size
        self._set_fitted(result)
        self.n_steps_ = result.n_steps
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """Make one step on the rows of ``X`` (an array, or a tensor such as a batch of a ``tf.data.Dataset``),
        weighted by ``sample_weight``; the first seeds the centroids."""
        refuse_dataset(X, "partial_fit makes one step on the rows it is given")
        started = hasattr(self, "cluster_centers_")
        X, sample_weight = self._check_data(X, sample_weight, reset=not started)
        self._random_state = getattr(self, "_random_state", check_random_state(self.random_state))
        sample_weight = validation.check_sample_weight(sample_weight, X.shape[0])
        reassignment_ratio = minibatch.check_reassignment_ratio(self.reassignment_ratio)
        compute_labels = validation.check_flag("compute_labels", self.compute_labels)
        if not started:
            self._start(X, sample_weight)
        self._state.step(
            coordinates(X, self._state.prepared, "X"),
            sample_weight,
            self._random_state,
            reassignment_ratio=reassignment_ratio,
            verbose=bool(self.verbose),
        )
        self._set_centroids(self._state.centroids_as(X.dtype))
        if compute_labels:
            self.labels_ = predict(X, self.cluster_centers_, metric=self.metric).astype(np.int32)
            self.inertia_ = inertia(X, self.cluster_centers_, metric=self.metric, sample_weight=sample_weight)
        self.n_steps_ += 1
        return self

    def _start(self, X, sample_weight):
        """Seed the run that ``partial_fit`` goes on with, on the rows of its first call."""
        self._state = minibatch.start(
            X,
            self.n_clusters,
            rng=self._random_state,
            metric=self.metric,
            batch_size=self.batch_size,
            init=self._resolve_init(X),
            init_size=self.init_size,
            sample_weight=sample_weight,
        )
        self.n_steps_ = 0


def refuse_dataset(X, why):
    """Raise ValueError saying ``why`` for a ``tf.data.Dataset``: its batches go one at a time to ``partial_fit``."""
    if is_dataset(X):
        raise ValueError(
            f"MiniBatchKMeans.{why}; give a dataset's batches one at a time: for batch in dataset: "
            f"model.partial_fit(batch)"
        )

"""``BaseKMeans``: what ``KMeans`` and ``MiniBatchKMeans`` share, as scikit-learn's ``_BaseKMeans``.

The common parameters, the fit's preamble (data, weights, seed, ``init`` and ``n_init``
checked and resolved), the fitted attributes, and the methods of a fitted model
(``predict``, ``transform``, ``score``, ``export``, ...). Each estimator keeps its own ``__init__``
signature (scikit-learn's ``get_params`` reads it) and its own ``fit``.

``X`` may be a TensorFlow tensor (read as its numpy values, dtype kept), and, for ``KMeans.fit``,
``predict`` and ``score``, a finite ``tf.data.Dataset`` of float batches or ``DatasetRows``: streamed
by the engine (``kmeans_tf.stream.datasets``), never held in memory.
"""

import functools
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.metrics import euclidean_distances
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import spherical, validation
from kmeans_tf.engine.kmeans import inertia, predict
from kmeans_tf.engine.options import COSINE, KMEANS_PARALLEL_INIT, KMEANS_PLUSPLUS_INIT, MAX_SEED
from kmeans_tf.serving import export_saved_model
from kmeans_tf.stream.datasets import Batches, DatasetRows, is_dataset

# n_init="auto", as in scikit-learn: one run for these strategies or an array of centroids; for
# "random" or a callable, the estimator's ``_auto_n_init_runs``.
AUTO_N_INIT = "auto"
ONE_RUN_INITS = (KMEANS_PLUSPLUS_INIT, KMEANS_PARALLEL_INIT)


class BaseKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """The parameters, fit preamble and fitted methods that ``KMeans`` and ``MiniBatchKMeans`` share.

    Parameters
    ----------
    n_clusters : int
    init : {"k-means++", "random", "k-means||"}, callable or array of shape (n_clusters, n_features)
    n_init : int or "auto"
    max_iter : int
    tol : float
    verbose : int
    random_state : int, RandomState instance or None
    metric : {"euclidean", "cosine"}

    Each estimator's ``__init__`` takes these parameters among its own and keeps them all by
    ``_store_params``. Each sets ``_auto_n_init_runs``, the runs that ``n_init="auto"`` makes
    for "random" or a callable ``init``, and its fit sets these attributes.

    Attributes
    ----------
    cluster_centers_ : array of shape (n_clusters, n_features)
    labels_ : int32 array of shape (n_samples,)
    inertia_ : float
    n_iter_ : int
    _n_init : int, the runs ``n_init`` resolved to
    """

    _auto_n_init_runs = None
    # Rows per chunk of the distance computation on TensorFlow's ops (None: sized by the engine).
    _predict_chunk_rows = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR and CSC rows, clustered without a dense copy
        return tags

    def _store_params(self, arguments):
        """Keep each parameter of the estimator's ``__init__`` as given, under its own name.

        ``arguments``: that ``__init__``'s ``locals()``. Nothing is checked here (``fit`` checks):
        scikit-learn's ``get_params``, ``set_params`` and ``clone`` read the parameters back unchanged.
        """
        for name in self._get_param_names():
            setattr(self, name, arguments[name])

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, and return the cluster of each row of ``X``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def predict(self, X):
        """Return the index (int32) of the nearest centroid of each row of ``X`` (by ``metric``)."""
        X = self._check_test_data(X)
        return predict(X, self.cluster_centers_, metric=self.metric, batch_size=self._predict_chunk_rows).astype(
            np.int32
        )

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, and return the distances of each row of ``X`` to every centroid."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def transform(self, X):
        """Return the distances, shape (n_samples, n_clusters), of each row of ``X`` to every centroid.

        Euclidean; with ``metric="cosine"``, the cosine distance ``1 - cos`` (a row of zeros: ValueError naming it).
        """
        if is_dataset(X):
            raise ValueError(
                "transform returns one row of distances per sample, in memory: give X as an array (a tf.data.Dataset "
                "is streamed by fit, predict and score)"
            )
        X = self._check_test_data(X)
        if self.metric == COSINE:
            return spherical.cosine_distances(X, self.cluster_centers_)
        return euclidean_distances(X, self.cluster_centers_).astype(X.dtype, copy=False)

    def score(self, X, y=None, sample_weight=None):
        """Return minus the (weighted) inertia of ``X`` with the fitted centroids: higher is better."""
        X = self._check_test_data(X)
        if not is_dataset(X):  # a dataset's weights are checked by the engine, which counts its rows
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
        return -inertia(X, self.cluster_centers_, metric=self.metric, sample_weight=sample_weight)

    def export(self, path):
        """Write the fitted model as a SavedModel in ``path/1`` (``kmeans_tf.export_saved_model`` says what it holds).

        The SavedModel compares rows by the estimator's ``metric``. Returns the version folder written.
        """
        check_is_fitted(self)
        return export_saved_model(self.cluster_centers_, path, metric=self.metric)

    def _check_test_data(self, X):
        check_is_fitted(self)
        if is_dataset(X):
            return self._check_dataset(X, reset=False)
        return validate_data(
            self, as_numpy(X), reset=False, accept_sparse="csr", dtype=[np.float64, np.float32], order="C"
        )

    def _check_data(self, X, sample_weight, *, reset=True):
        """Return ``X`` (float64 or float32, C order, or CSR) and ``sample_weight`` (an array in ``X``'s dtype)."""
        X = validate_data(
            self, as_numpy(X), accept_sparse="csr", dtype=[np.float64, np.float32], order="C", reset=reset
        )
        return X, _check_sample_weight(as_numpy(sample_weight), X, dtype=X.dtype)

    def _check_dataset(self, X, *, reset):
        """Return ``X`` (a ``tf.data.Dataset`` or ``DatasetRows``) as ``DatasetRows``, its rows counted (one pass
        the first time); its width kept as ``n_features_in_`` (``reset``) or checked against it."""
        rows = X if isinstance(X, Batches) else DatasetRows(X, name="X")
        n_features = rows.counted()[1]
        if reset:
            self.n_features_in_ = n_features
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                f"features as input."
            )
        return rows

    def _fit_preamble(self, X, sample_weight):
        """Check a fit's inputs; return ``X``, ``sample_weight``, the ``init`` to seed with, and the seed.

        The seed is ``random_state`` when it is an integer, else drawn from it; ``_n_init`` is set.
        A dataset's ``sample_weight`` is checked by the engine, which counts its rows.
        """
        if is_dataset(X):
            X = self._check_dataset(X, reset=True)
        else:
            X, sample_weight = self._check_data(X, sample_weight)
        random_state = check_random_state(self.random_state)
        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else random_state.randint(MAX_SEED)
        return X, sample_weight, self._resolve_init(X), seed

    def _resolve_init(self, X):
        """Return the ``init`` to seed ``X`` with (a name as given, an array checked, a callable whose answers are
        checked); set ``_n_init``.

        ``n_init="auto"`` resolves as scikit-learn's does; with an array, one run is made, and
        an ``n_init`` other than 1 is warned about (from the caller of ``fit`` or ``partial_fit``).
        """
        init = self.init
        if callable(init) and is_dataset(X):
            raise ValueError(
                "a callable init is called with X in memory; give a tf.data.Dataset with init='k-means++', "
                "'random', 'k-means||' or an array"
            )
        if callable(init):
            init = functools.partial(_called_init, init)
        elif not isinstance(init, str):
            init = _initial_centers(init, self.n_clusters, X)
        if isinstance(self.n_init, str) and self.n_init == AUTO_N_INIT:
            one_run = isinstance(init, np.ndarray) or (isinstance(init, str) and init in ONE_RUN_INITS)
            self._n_init = 1 if one_run else self._auto_n_init_runs
        else:
            self._n_init = _check_n_init(self.n_init)
        if isinstance(init, np.ndarray) and self._n_init != 1:
            warnings.warn(
                f"Explicit initial center position passed: performing only one init in {type(self).__name__} "
                f"instead of n_init={self._n_init}.",
                RuntimeWarning,
                stacklevel=4,
            )
            self._n_init = 1
        return init

    def _set_centroids(self, centroids):
        self.cluster_centers_ = centroids
        self._n_features_out = centroids.shape[0]

    def _set_fitted(self, result):
        """Set the fitted attributes from the engine's result (``labels_`` only where it has labels)."""
        self._set_centroids(result.centroids)
        if result.labels is not None:
            self.labels_ = result.labels.astype(np.int32)
        self.inertia_ = result.inertia
        self.n_iter_ = result.n_iter


def as_numpy(values):
    """A TensorFlow tensor's values as a numpy array of its dtype (scikit-learn's checks make float32 float64)."""
    return values.numpy() if isinstance(values, tf.Tensor) else values


def _initial_centers(centers, n_clusters, X):
    """Return ``centers``, an ``init`` array or a callable ``init``'s answer, checked against ``X``, in its dtype.

    A shape that does not match ``n_clusters`` or the data's features gets scikit-learn's message.
    """
    n_clusters = validation.check_int("n_clusters", n_clusters, 1)
    centers = validation.check_samples(centers, "init")
    if centers.shape[0] != n_clusters:
        raise ValueError(
            f"The shape of the initial centers {centers.shape} does not match the number of clusters {n_clusters}."
        )
    if centers.shape[1] != X.shape[1]:
        raise ValueError(
            f"The shape of the initial centers {centers.shape} does not match the number of features of the data "
            f"{X.shape[1]}."
        )
    return centers.astype(X.dtype, copy=False)


def _called_init(init, X, n_clusters, random_state):
    """Call a callable ``init`` as ``init(X, n_clusters, random_state)``; return its centers checked."""
    return _initial_centers(init(X, n_clusters, random_state), n_clusters, X)


def _check_n_init(n_init):
    """Return ``n_init`` (not "auto") as an int >= 1."""
    try:
        return validation.check_int("n_init", n_init, 1)
    except ValueError:
        raise ValueError(f"n_init={n_init!r} should be {AUTO_N_INIT!r} or an integer >= 1") from None

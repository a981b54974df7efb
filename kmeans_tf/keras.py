"""``KMeansLayer``: a fitted model as a Keras layer, its centroids adapted to data (as Keras' preprocessing layers
learn their state with ``adapt``) or given.

The layer runs on Keras' TensorFlow backend; its math is ``kmeans_tf.distance_ops``'s, the SavedModel's.
"""

import keras

from kmeans_tf import distance_ops
from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import validation
from kmeans_tf.engine.kmeans import kmeans
from kmeans_tf.engine.options import DEFAULT_METRIC

# What the layer gives for each row (``output=``).
LABELS = "labels"  # int64: the nearest centroid (-1: no answer)
DISTANCES = "distances"  # the distance to every centroid, as scikit-learn's KMeans.transform
SOFT = "soft"  # a softmax over the centroids of minus the costs / temperature
OUTPUTS = (LABELS, DISTANCES, SOFT)
BACKEND = "tensorflow"


@keras.saving.register_keras_serializable(package="kmeans_tf")
class KMeansLayer(keras.layers.Layer):
    """Label each row of a batch with its nearest centroid, or give its distances or soft assignments.

    Parameters
    ----------
    n_clusters : int >= 1
    output : {"labels", "distances", "soft"}, default="labels"
        "labels": int64, shape (batch,), the nearest centroid. "distances": shape (batch, n_clusters),
        the distance to every centroid as scikit-learn's ``KMeans.transform`` gives it (cosine: ``1 - cos``).
        "soft": shape (batch, n_clusters), the softmax over centroids of minus the squared Euclidean
        distances (cosine: the cosine distances) divided by ``temperature``.
    metric : {"euclidean", "cosine"}, default="euclidean"
        As ``kmeans_tf.kmeans`` takes it. A row with a NaN or an infinity, or for "cosine" a row of
        zeros, gets label -1 and NaN distances and weights.
    temperature : float > 0, default=1.0
        The scale of the costs in "soft": lower is closer to the labels' hard choice.
    centroids : array of shape (n_clusters, n_features) or None, default=None
        The centroids to use (e.g. a fitted ``KMeans``'s ``cluster_centers_``); None: ``adapt`` fits them.
    **kwargs
        Keras' ``Layer`` arguments (``name``, ...).

    The centroids are a non-trainable float32 weight, ``centroids``, saved with the model's weights.
    Calling the layer on data before ``adapt`` or ``centroids=`` raises ValueError.
    """

    def __init__(self, n_clusters, *, output=LABELS, metric=DEFAULT_METRIC, temperature=1.0, centroids=None, **kwargs):
        if keras.backend.backend() != BACKEND:
            raise ValueError(f"KMeansLayer runs on Keras' {BACKEND!r} backend, not {keras.backend.backend()!r}")
        super().__init__(**kwargs)
        self.n_clusters = validation.check_int("n_clusters", n_clusters, 1)
        self.output_kind = validation.check_choice("output", output, OUTPUTS)
        self.metric = validation.check_metric(metric)
        self.temperature = validation.check_float("temperature", temperature, minimum=0, open_minimum=True)
        self.centroids = None
        self.has_centroids = False
        self._given = None
        if centroids is not None:
            self._given = self._checked(centroids)
            self.build((None, self._given.shape[1]))

    def _checked(self, centroids):
        """Return ``centroids`` as float32, checked for the metric and against ``n_clusters``."""
        centroids = distance_ops.check_centroids(centroids, self.metric)
        if len(centroids) != self.n_clusters:
            raise ValueError(f"centroids should have n_clusters={self.n_clusters} rows, got shape {centroids.shape}")
        return centroids

    def build(self, input_shape):
        n_features = input_shape[-1]
        initializer = "zeros" if self._given is None else keras.initializers.Constant(self._given)
        self.centroids = self.add_weight(
            shape=(self.n_clusters, n_features), initializer=initializer, trainable=False, name="centroids"
        )
        self.has_centroids = self._given is not None
        self._given = None
        super().build(input_shape)

    def adapt(self, data, *, seed=None, **options):
        """Fit the centroids to ``data`` with ``kmeans_tf.kmeans`` (the layer's ``n_clusters`` and ``metric``).

        Parameters
        ----------
        data : array of shape (n_samples, n_features), or what else ``kmeans_tf.kmeans`` takes (a memory map, ...)
        seed : int or None, default=None, as ``kmeans_tf.kmeans`` takes it
        **options
            ``kmeans_tf.kmeans``'s other options (``init``, ``n_init``, ``max_iter``, ``sample_weight``, ...).
        """
        result = kmeans(data, self.n_clusters, metric=self.metric, seed=seed, **options)
        centroids = self._checked(result.centroids)
        if not self.built:
            self.build((None, centroids.shape[1]))
        else:
            _check_width("data", centroids.shape[1], self.centroids.shape[1])
        self.centroids.assign(centroids)
        self.has_centroids = True

    def call(self, inputs):
        if not self.has_centroids:
            raise ValueError(
                f"{self.name} has no centroids yet: call its adapt(data) first, or give KMeansLayer(centroids=...)"
            )
        centroids = tf.convert_to_tensor(self.centroids)
        _check_width("the layer's input", inputs.shape[-1], centroids.shape[1])
        costs = distance_ops.costs(tf.cast(inputs, centroids.dtype), centroids, self.metric)
        if self.output_kind == LABELS:
            return distance_ops.labels(costs)
        if self.output_kind == DISTANCES:
            return distance_ops.distances(costs, self.metric)
        return distance_ops.soft_assignments(costs, self.temperature)

    def compute_output_spec(self, inputs):
        """The output's shape and dtype, known without centroids (a model may be built before ``adapt``)."""
        if self.built:
            _check_width("the layer's input", inputs.shape[-1], self.centroids.shape[1])
        if self.output_kind == LABELS:
            return keras.KerasTensor(inputs.shape[:-1], dtype="int64")
        return keras.KerasTensor((*inputs.shape[:-1], self.n_clusters), dtype=self.compute_dtype)

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self.has_centroids = True

    def get_config(self):
        return {
            **super().get_config(),
            "n_clusters": self.n_clusters,
            "output": self.output_kind,
            "metric": self.metric,
            "temperature": self.temperature,
        }


def _check_width(what, n_features, n_columns):
    """Refuse ``what`` (the input, or data to adapt to) of ``n_features`` columns for centroids of ``n_columns``."""
    if n_features is not None and n_features != n_columns:
        raise ValueError(f"{what} has {n_features} features but the layer's centroids have {n_columns}")

"""A fitted model as a SavedModel: what TensorFlow Serving, ``saved_model_cli``, TFLite's converter and
``tf.saved_model.load`` read, with no need of kmeans_tf.

``export_saved_model(centroids, path)`` writes the version folder ``path/1`` that TensorFlow
Serving looks for under a model's base path. It holds the centroids as a variable (``centroids``
on the loaded object), the metric as a string variable (``metric``), and four signatures, each
taking a float32 batch of rows ``samples`` of shape (n_rows, n_features), the math of each in
``kmeans_tf.distance_ops``:

- ``serving_default``: ``labels`` (int64, the nearest centroid) and ``distances`` (to it);
- ``predict``: ``labels``;
- ``transform``: ``distances`` to every centroid, shape (n_rows, n_clusters), as scikit-learn's ``KMeans.transform``;
- ``score``: ``score``, minus the sum of the least costs (float64), as scikit-learn's ``KMeans.score``.
"""

import functools
from pathlib import Path

from kmeans_tf import data_io, distance_ops
from kmeans_tf._tensorflow import tf
from kmeans_tf.engine.options import DEFAULT_METRIC

VERSION = "1"  # the version folder that TensorFlow Serving reads under the base path
SAMPLES = "samples"  # every signature's input
SERVING_DEFAULT, PREDICT, TRANSFORM, SCORE = "serving_default", "predict", "transform", "score"
SIGNATURES = (SERVING_DEFAULT, PREDICT, TRANSFORM, SCORE)


def export_saved_model(centroids, path, *, metric=DEFAULT_METRIC):
    """Write ``centroids`` as a SavedModel in the version folder ``path/1``, as TensorFlow Serving lays models out.

    Parameters
    ----------
    centroids : array of shape (n_clusters, n_features)
        Finite, and finite in float32 (the SavedModel's dtype); for the cosine metric, no row of zeros.
    path : str or path-like
        The model's base path: made if missing; its version folder ``1`` must not exist (nothing is
        replaced). The SavedModel is written beside it under a temporary name and renamed at the end:
        a failure leaves nothing behind.
    metric : {"euclidean", "cosine"}, default="euclidean"
        "euclidean": labels, distances and score as ``kmeans_tf.predict`` and scikit-learn's ``KMeans``
        give them. "cosine": rows compared by direction (spherical k-means): the label is the centroid
        of the largest cosine similarity, the distances are ``1 - cos``. A row with a NaN or an
        infinity, or for "cosine" a row of zeros, gets label -1 and NaN distances.

    Returns
    -------
    Path
        The version folder written, ``path/1``.
    """
    centroids = distance_ops.check_centroids(centroids, metric)
    version = check_base_path(path)
    with data_io.folder_made(path):
        data_io.write_all(
            [(version, functools.partial(write_saved_model, centroids, metric=metric))], folders=[version]
        )
    return version


def check_base_path(path):
    """Return the version folder under the base path ``path``; ValueError or OSError if it cannot be written there."""
    version = Path(path) / VERSION
    if version.exists() or version.is_symlink():
        raise ValueError(
            f"{version} already exists: a SavedModel's version folder is never replaced; "
            f"give another base path, or move that folder away"
        )
    data_io.check_folder(path)
    return version


def write_saved_model(centroids, folder, *, metric):
    """Save the model of checked ``centroids`` (float32) and ``metric`` into ``folder`` (empty or new)."""
    model = ServedModel(centroids, metric)
    tf.saved_model.save(model, str(folder), signatures={name: getattr(model, name) for name in SIGNATURES})


class ServedModel(tf.Module):
    """The SavedModel's object: the centroids and metric as variables, and one ``tf.function`` per signature."""

    def __init__(self, centroids, metric):
        super().__init__(name="kmeans")
        self.centroids = tf.Variable(centroids, trainable=False, name="centroids")
        self.metric = tf.Variable(metric, trainable=False, name="metric")
        self._metric = metric
        rows = tf.TensorSpec([None, centroids.shape[1]], tf.float32, name=SAMPLES)
        for name, outputs in (
            (SERVING_DEFAULT, self._nearest),
            (PREDICT, self._labels),
            (TRANSFORM, self._transform),
            (SCORE, self._score),
        ):
            setattr(self, name, tf.function(outputs, input_signature=[rows]))

    def _costs(self, samples):
        return distance_ops.costs(samples, self.centroids, self._metric)

    def _nearest(self, samples):
        costs = self._costs(samples)
        nearest = distance_ops.distances(distance_ops.nearest_cost(costs), self._metric)
        return {"labels": distance_ops.labels(costs), "distances": nearest}

    def _labels(self, samples):
        return {"labels": distance_ops.labels(self._costs(samples))}

    def _transform(self, samples):
        return {"distances": distance_ops.distances(self._costs(samples), self._metric)}

    def _score(self, samples):
        return {"score": distance_ops.score(self._costs(samples))}

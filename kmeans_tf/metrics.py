"""How a fitted model compares a row with its centroids: the metrics' names, defined once.

This module imports no TensorFlow, so that the command line's ``--help`` can read it at no cost.
The distance math of each metric is in ``kmeans_tf.distance_ops``.
"""

from kmeans_tf.engine.options import OneOf

EUCLIDEAN = "euclidean"  # the nearest centroid in Euclidean distance, as k-means fits them
COSINE = "cosine"  # the centroid of the largest cosine similarity: rows compared by direction (spherical k-means)
METRICS = (EUCLIDEAN, COSINE)
DEFAULT_METRIC = EUCLIDEAN


def check_metric(metric):
    """Return ``metric`` if it is one of ``METRICS``; else ValueError naming it and the metrics allowed."""
    return OneOf(METRICS).check("metric", metric)

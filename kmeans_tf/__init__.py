"""kmeans-tf: k-means on TensorFlow 2, for data in memory, on disk or across workers, with scikit-learn's API.

Public API (imported from here; everything else is internal)::

    from kmeans_tf import (KMeans, MiniBatchKMeans, k_means, kmeans_plusplus, kmeans, predict, inertia,
                           minibatch_kmeans, elbow, kneedle, load_shards, DatasetRows, KMeansResult, gd_kmeans,
                           export_saved_model, KMeansLayer)

- ``kmeans``, ``predict``, ``inertia``: Lloyd's k-means and its answers for given centroids; a NumPy array
  in memory, a memory map or ``load_shards(folder)`` on disk, a finite ``tf.data.Dataset`` of float batches
  (``DatasetRows`` picks a feature of dict elements), or this worker's rows with a ``strategy``;
- ``minibatch_kmeans``: mini-batch k-means; ``elbow`` and ``kneedle``: choosing k;
- ``KMeans`` and ``MiniBatchKMeans``: the same as scikit-learn estimators; ``k_means`` and ``kmeans_plusplus``:
  scikit-learn's functions of those names;
- ``gd_kmeans``: k-means by gradient descent (the lesson's post);
- ``export_saved_model``: centroids as a SavedModel for TensorFlow Serving (and ``export`` on the estimators and
  ``KMeansResult``); ``KMeansLayer``: a Keras layer that labels rows with centroids it adapts or is given.

The package, by part of the architecture:

- ``engine/``: options and door checks, data preparation, seeding, the Lloyd loops, mini-batch steps, choosing k;
- ``stream/``: data on disk, a chunk at a time (memory budget, sources, streamed passes, checkpoints);
- ``distributed/``: k-means on several workers through ``tf.distribute``;
- ``estimators/``: ``KMeans`` and ``MiniBatchKMeans``, and scikit-learn's ``k_means`` and ``kmeans_plusplus``;
- ``native/``: the fused C kernel (``python -m kmeans_tf.native`` builds it);
- ``cli/``: the ``kmeans-tf`` command line (``python -m kmeans_tf``);
- ``data_io/``: data files read (checked) and outputs written safely;
- ``distance_ops``: a fitted model's distance math in TensorFlow's ops, each metric's;
- ``serving``: a fitted model as a SavedModel; ``keras``: a fitted model as a Keras layer;
- ``figures``: pictures of a run; ``lesson_outputs``: the lesson scripts' ``--output`` files;
- ``_tensorflow``: TensorFlow imported without its start-up chatter (every module imports it from there).

TensorFlow is imported on the first use of a public name, not by ``import kmeans_tf``, so that
``kmeans-tf --help`` answers at once. Importing changes no TensorFlow state.
"""

import importlib

__version__ = "0.3.0"

# Each public name -> the module that defines it.
PUBLIC_NAMES = {
    "KMeans": "kmeans_tf.estimators.kmeans",
    "MiniBatchKMeans": "kmeans_tf.estimators.minibatch",
    "k_means": "kmeans_tf.estimators.functions",
    "kmeans_plusplus": "kmeans_tf.estimators.functions",
    "kmeans": "kmeans_tf.engine.kmeans",
    "predict": "kmeans_tf.engine.kmeans",
    "inertia": "kmeans_tf.engine.kmeans",
    "KMeansResult": "kmeans_tf.engine.result",
    "minibatch_kmeans": "kmeans_tf.engine.minibatch",
    "MiniBatchResult": "kmeans_tf.engine.minibatch",
    "elbow": "kmeans_tf.engine.choosing_k",
    "kneedle": "kmeans_tf.engine.choosing_k",
    "ElbowResult": "kmeans_tf.engine.choosing_k",
    "load_shards": "kmeans_tf.stream.sources",
    "Shards": "kmeans_tf.stream.sources",
    "DatasetRows": "kmeans_tf.stream.datasets",
    "gd_kmeans": "kmeans_tf.engine.gd",
    "export_saved_model": "kmeans_tf.serving",
    "KMeansLayer": "kmeans_tf.keras",
}

__all__ = ["__version__", *PUBLIC_NAMES]


def __getattr__(name):
    """Import the module of a public name on its first use."""
    if name not in PUBLIC_NAMES:
        raise AttributeError(f"module 'kmeans_tf' has no attribute {name!r}")
    value = getattr(importlib.import_module(PUBLIC_NAMES[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)

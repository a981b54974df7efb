"""The shim that runs the TensorFlow 1 lesson on TensorFlow 2, and the lesson the TensorFlow 2 way.

- ``v1``: the TF1 graph-mode API plus the legacy spellings the lessons use (``from compat import v1 as tf``);
- ``eager``: the lesson's functions in eager TensorFlow 2, and the engine's public API re-exported
  from ``kmeans_tf`` (``kmeans``, ``predict``, ``inertia``, ``gd_kmeans``, ``KMeans``, ...);
- ``_tensorflow``: TensorFlow imported without its start-up chatter (``kmeans_tf._tensorflow``);
- ``native``: the engine's C kernel under its older name (``python -m compat.native`` builds it);
- ``python -m compat``: the ``kmeans-tf`` command line.

The k-means engine, its command line and its data I/O are the ``kmeans_tf`` package.
Importing this package changes no TensorFlow state: it does not disable eager execution.
"""

from kmeans_tf import __version__

__all__ = ["__version__"]

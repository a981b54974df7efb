"""kmeans-tf's bridge between the TensorFlow 1 lesson and TensorFlow 2.

- ``compat.v1``: the TF1 graph-mode API, plus the legacy spellings the lessons use
  (``from compat import v1 as tf``).
- ``compat.eager``: the same algorithms written the TensorFlow 2 way.
- ``compat.cli``: the ``kmeans-tf`` command line.

Importing this package changes no TensorFlow state: it does not disable eager
execution. TensorFlow itself is imported by ``compat._tensorflow``, which keeps its
C++ start-up chatter off the terminal unless the user set ``TF_CPP_MIN_LOG_LEVEL``.
"""

__version__ = "0.1.0"

"""kmeans-tf's bridge between the TensorFlow 1 lesson and TensorFlow 2, and its k-means engine.

- ``v1``: the TF1 graph-mode API plus the legacy spellings the lessons use (``from compat import v1 as tf``);
  ``_tensorflow``: TensorFlow imported without its start-up chatter (everything else imports it from there).
- ``eager``: the lesson's functions the TensorFlow 2 way, and the engine's public API
  (``kmeans``, ``predict``, ``inertia``, ``gd_kmeans``, the ``KMeans`` estimator).
- ``engine/``: the k-means engine (vocabulary, door checks, data preparation, seeding, loops,
  TensorFlow-ops passes, the estimator); ``engine/__init__.py`` maps it.
- ``native/``: the fused C kernel (build, load, the ops' Python wrapper, the C sources).
- ``cli/``: the ``kmeans-tf`` command line (``python -m compat``).
- ``data_io/``: data files read (checked) and outputs written (atomically, or into devices and pipes).
- ``figures``: pictures of a run; ``lesson_outputs``: the lesson scripts' ``--output`` files.

Importing this package changes no TensorFlow state: it does not disable eager execution.
"""

__version__ = "0.2.0"

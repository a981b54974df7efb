"""The fused C kernel for the CPU: a library of TensorFlow ops that does a whole Lloyd pass in one sweep.

Where TensorFlow's own ops need three sweeps over the data (matmul, argmin, segment sums),
the kernel finds every sample's nearest centroid and adds up each cluster's sum and count
in one. It is plain C against TensorFlow's C kernel API, so gcc alone builds it, in a few
seconds, the first time the engine needs it (or ahead of time: ``python -m kmeans_tf.native``).

The package:

- ``src/``: the C sources. ``ops.c`` registers the ops (``KmeansTf>NearestCentroidSums``
  and its kin, and their sparse twins ``KmeansTf>SparseNearestCentroidSums`` and the rest,
  which read compressed sparse rows, ``CsrRows``) and checks every input; ``pass.c`` with
  ``pass_body.h`` (its typed half) is the pass; ``pool.c`` runs it on blocks of rows in threads; ``geometry.c`` measures
  the centroids for the bounded pass.
- ``build.py``: compiles ``src/`` into a cached library with a record to verify it by.
- ``load.py``: loads it, or says why TensorFlow's ops run instead; ``use_native``.
- ``ops.py``: the ops under the names the engine calls (``Kernel``).
- ``__main__.py``: ``python -m kmeans_tf.native [--force]``, the build ahead of time.

Public API: ``kernel()``, ``description()``, ``use_native(enabled)``, ``build(force=False)``,
``BuildError``, ``library_path()``, ``cache_dir()``.
"""

from kmeans_tf.native.build import BuildError, build, cache_dir, library_path
from kmeans_tf.native.load import description, kernel, use_native

__all__ = ["BuildError", "build", "cache_dir", "description", "kernel", "library_path", "use_native"]

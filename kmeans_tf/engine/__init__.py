"""The k-means engine behind ``compat.eager.kmeans`` and ``kmeans-tf fit``.

One job a module:

- ``options``: the vocabulary (init and algorithm names) and defaults; imports no TensorFlow.
- ``validation``: the door checks every public entry point makes, once.
- ``prepare``: the data's way in (column sums, centring, power-of-two scaling, squared norms, a tensor over the buffer).
- ``seeding``: initial centroids ("random", "k-means++", "k-means||").
- ``tf_ops``: the Lloyd pass in TensorFlow's own ops (distances by matmul, chunk by chunk).
- ``tracing``: graph functions traced once per dtype, every dimension left open.
- ``loops``: Lloyd's iterations in one ``tf.function``, on the fused C kernel (``kmeans_tf.native``)
  or on ``tf_ops``.
- ``kmeans``: the public ``kmeans``, ``predict``, ``inertia`` and ``KMeansResult``.
- ``estimator``: ``KMeans``, the engine as a scikit-learn estimator.
- data on disk: ``budget`` (the memory budget and sizes; no TensorFlow), ``sources`` (memory maps,
  shards, chunks read ahead), ``stream_prepare`` (the door's checks and centring, chunk by chunk),
  ``stream_passes`` (a streamed fit's passes), ``streaming`` (the streamed ``kmeans``, ``predict``,
  ``inertia`` and seeding), ``checkpoint`` (a streamed fit saved every few iterations, resumed).
- ``distributed``: k-means on several workers (``kmeans(..., strategy=...)``), joined by ``tf.distribute``.
- ``minibatch_step``: one step of mini-batch k-means (a batch labelled by the kernel, centroids moved).
- ``minibatch``: ``minibatch_kmeans``, mini-batch k-means with scikit-learn's stopping rules, and ``start``.
- ``minibatch_estimator``: ``MiniBatchKMeans``, it as a scikit-learn estimator with ``partial_fit``.
- ``choosing_k``: ``elbow``, k-means for several k with scores for each, and the kneedle rule's suggestion.
- ``gd``: k-means by gradient descent (the post), the TensorFlow 2 way.
"""

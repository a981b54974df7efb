"""The k-means engine: the rules of a fit, written once, for data in memory, on disk and across workers.

One job a module:

- ``options``: the vocabulary (init and algorithm names) and defaults; imports no TensorFlow;
- ``validation``: the door checks every public entry point makes, once;
- ``prepare``: the data's way in (column sums, centring, power-of-two scaling, squared norms, a tensor over the buffer);
- ``seeding``: initial centroids ("random", "k-means++", "k-means||");
- ``kernels``: the one kernel interface of every pass, the fused C kernel (``kmeans_tf.native``) or
  TensorFlow's ops, chosen in one place;
- ``tf_ops``: the pieces of a pass and of the M-step in TensorFlow's own ops (distances by matmul, chunk by chunk);
- ``tracing``: graph functions traced once per dtype, every dimension left open;
- ``loops``: Lloyd's iterations in memory, in one ``tf.function``, over the kernel;
- ``result``: ``KMeansResult``, and the best of ``n_init`` runs;
- ``progress``: what a ``callback`` receives after each iteration (``IterationState``), and the callbacks of a fit;
- ``tensorboard``: the ``log_dir`` log for TensorBoard, one of those callbacks;
- ``kmeans``: the public ``kmeans``, ``predict`` and ``inertia`` (in memory here; streamed by
  ``kmeans_tf.stream``, distributed by ``kmeans_tf.distributed``);
- ``minibatch_step``: one step of mini-batch k-means; ``minibatch``: ``minibatch_kmeans`` and ``start``;
- ``choosing_k``: ``elbow``, k-means for several k with scores for each, and the rules that suggest a k;
  ``cluster_scores``: the Calinski-Harabasz and Davies-Bouldin scores from per-cluster sums (sparse or streamed
  rows); ``gap_statistic``: the gap statistic's reference sets;
- ``gd``: k-means by gradient descent (the post), the TensorFlow 2 way.
"""

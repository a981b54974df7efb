"""The engine as scikit-learn estimators.

- ``base``: what ``KMeans`` and ``MiniBatchKMeans`` share (parameters, the fit's preamble, fitted methods);
- ``kmeans``: ``KMeans``, Lloyd's k-means;
- ``minibatch``: ``MiniBatchKMeans``, mini-batch k-means with ``partial_fit``;
- ``functions``: scikit-learn's ``k_means`` and ``kmeans_plusplus``.
"""

"""Initial centroids: the lesson's random choice of distinct samples, and scikit-learn's greedy k-means++.

The functions take centred, checked samples and a ``numpy.random.RandomState``, and
optionally sample weights (float64, >= 0, not all 0), which they use as scikit-learn's
``_init_centroids`` does: "random" draws with probability proportional to the weights, and
k-means++ draws its first centroid so, and weighs each sample's squared distance by its weight.
"""
import numpy as np

from compat._tensorflow import tf
from compat.engine.options import RANDOM_INIT


def initial_centroids(samples, n_clusters, init, rng, weights=None):
    """Choose initial centroids among ``samples`` with the strategy ``init`` (and the sample ``weights``, if any)."""
    if init == RANDOM_INIT:
        probabilities = None if weights is None else weights / weights.sum()
        return samples[rng.choice(samples.shape[0], n_clusters, replace=False, p=probabilities)]
    return kmeans_plusplus(samples, n_clusters, rng, weights)


def kmeans_plusplus(samples, n_clusters, rng, weights=None):
    """Greedy k-means++ (Arthur & Vassilvitskii 2007), as scikit-learn does it.

    Each new centroid is the best (lowest total cost) of ``2 + log(k)`` candidates drawn
    with probability proportional to the squared distance to the nearest chosen centroid
    (times the sample's weight, with ``weights``; the cost is then weighted too).
    """
    n_samples = samples.shape[0]
    n_trials = 2 + int(np.log(n_clusters))
    data = tf.constant(samples)
    squared_norms = tf.reduce_sum(tf.square(data), axis=1)
    chosen = [rng.randint(n_samples) if weights is None else rng.choice(n_samples, p=weights / weights.sum())]
    weight_tensor = None if weights is None else tf.constant(weights, data.dtype)

    def weighted(distances):
        return distances if weight_tensor is None else distances * weight_tensor

    closest = squared_distances_to(data, squared_norms, [chosen[0]])[0]
    potential = tf.reduce_sum(weighted(closest))
    for _ in range(1, n_clusters):
        cumulative = np.cumsum(weighted(closest).numpy(), dtype=np.float64)
        candidates = np.searchsorted(cumulative, rng.uniform(size=n_trials) * float(potential))
        candidates = np.minimum(candidates, n_samples - 1)
        to_candidates = tf.minimum(closest[None, :], squared_distances_to(data, squared_norms, candidates))
        potentials = tf.reduce_sum(weighted(to_candidates), axis=1)
        best = int(tf.argmin(potentials))
        chosen.append(int(candidates[best]))
        closest, potential = to_candidates[best], potentials[best]
    return samples[chosen]


def squared_distances_to(data, squared_norms, indices):
    """Squared distances, shape (len(indices), n_samples), from the samples at ``indices`` to all."""
    centres = tf.gather(data, indices)
    return tf.maximum(tf.gather(squared_norms, indices)[:, None]
                      - 2 * tf.matmul(centres, data, transpose_b=True)
                      + squared_norms[None, :], 0)

"""Initial centroids: the lesson's random choice of distinct samples, scikit-learn's greedy k-means++, and k-means||.

The functions take centred, checked samples and a ``numpy.random.RandomState``, and
optionally sample weights (float64, >= 0, not all 0), which they use as scikit-learn's
``_init_centroids`` does: "random" draws with probability proportional to the weights, and
k-means++ draws its first centroid so, and weighs each sample's squared distance by its weight.
"""

import numpy as np

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import kernels, loops, tf_ops
from kmeans_tf.engine.options import (
    DEFAULT_INIT_ROUNDS,
    KMEANS_PARALLEL_INIT,
    OVERSAMPLING_FACTOR,
    RANDOM_INIT,
    RECLUSTER_TRIES,
)


def initial_centroids(samples, n_clusters, init, rng, weights=None, rounds=DEFAULT_INIT_ROUNDS):
    """Choose initial centroids among ``samples`` by ``init``, with ``weights`` (if any) and ``rounds`` (k-means||)."""
    if init == RANDOM_INIT:
        probabilities = None if weights is None else weights / weights.sum()
        return samples[rng.choice(samples.shape[0], n_clusters, replace=False, p=probabilities)]
    if init == KMEANS_PARALLEL_INIT:
        return kmeans_parallel(samples, n_clusters, rng, rounds, weights)
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
    return tf.maximum(
        tf.gather(squared_norms, indices)[:, None]
        - 2 * tf.matmul(centres, data, transpose_b=True)
        + squared_norms[None, :],
        0,
    )


def kmeans_parallel(samples, n_clusters, rng, rounds, weights=None):
    """k-means|| (Bahmani et al., "Scalable K-Means++", VLDB 2012), as Spark MLlib's ``initKMeansParallel``.

    ``parallel_candidates`` oversamples candidates in ``rounds`` passes over the data; each
    candidate is weighted by the number of samples nearest to it (one more pass), and
    greedy k-means++ on the weighted candidates chooses the ``n_clusters`` centroids: the
    best of ``RECLUSTER_TRIES`` runs by weighted cost, since the candidates are few and
    a bad pick among them costs more than the runs. Candidates of equal value count once;
    when there are no more of them than clusters, they are all kept and distinct random
    samples fill up the rest. With sample ``weights``, a sample counts as its weight: in
    the first pick, in the oversampling, and in its candidate's weight.
    """
    data = tf.constant(samples)
    candidates = parallel_candidates(data, n_clusters, rng, rounds, weights)
    weights = np.ones(len(samples)) if weights is None else weights
    candidates = candidates[distinct_values(samples[candidates])]
    if len(candidates) <= n_clusters:
        others = np.setdiff1d(np.arange(len(samples)), candidates)
        filling = rng.choice(
            others,
            n_clusters - len(candidates),
            replace=False,
            p=weights[others] / weights[others].sum() if weights[others].sum() > 0 else None,
        )
        return samples[np.concatenate([candidates, filling])]
    points = samples[candidates]
    labels, _ = nearest(data, tf.constant(points))
    candidate_weights = np.bincount(labels, weights=weights, minlength=len(candidates))
    return points[recluster(points, candidate_weights, n_clusters, rng)]


def distinct_values(points):
    """Sorted indices of the first of each distinct row of ``points``: candidates of equal value count once."""
    _, first = np.unique(points, axis=0, return_index=True)
    return np.sort(first)


def recluster(points, weights, n_clusters, rng):
    """Indices of the ``n_clusters`` of the weighted candidate ``points`` that the best of ``RECLUSTER_TRIES``
    ``weighted_kmeans_plusplus`` runs (by weighted cost, in float64) chooses."""
    exact = points.astype(np.float64)
    tries = [weighted_kmeans_plusplus(exact, weights, n_clusters, rng) for _ in range(RECLUSTER_TRIES)]
    chosen, _ = min(tries, key=lambda each: each[1])
    return chosen


def parallel_candidates(data, n_clusters, rng, rounds, weights=None):
    """Row indices of k-means||'s candidates: one pick (in proportion to ``weights``), then ``rounds`` of oversampling.

    Each round keeps every sample independently with probability ``min(1, l w d^2 / phi)``,
    where ``w`` is its weight, ``d^2`` its squared distance to the nearest candidate so far,
    ``phi`` the sum of ``w d^2`` and ``l = OVERSAMPLING_FACTOR * n_clusters``: about ``l`` new
    candidates a round.
    """
    n_samples = int(data.shape[0])
    oversampling = OVERSAMPLING_FACTOR * n_clusters
    candidates = first_candidate(n_samples, rng, weights)
    closest = nearest(data, tf.gather(data, candidates))[1]
    for _ in range(rounds):
        cost = closest if weights is None else weights * closest
        picked = oversample(cost, cost.sum(), oversampling, rng)
        if picked.size == 0:  # every sample sits on a candidate
            break
        candidates = np.concatenate([candidates, picked])
        closest = np.minimum(closest, nearest(data, tf.gather(data, picked))[1])
    return candidates


def first_candidate(n_samples, rng, weights=None):
    """k-means||'s first candidate: one row index (in an array) drawn uniformly, or in proportion to ``weights``."""
    return np.array([rng.randint(n_samples)]) if weights is None else _draw(np.cumsum(weights), rng.uniform(size=1))


def oversample(cost, total, oversampling, rng):
    """Indices of the samples kept by one round of k-means||: each independently, with probability
    ``min(1, oversampling * cost / total)``.

    ``cost`` is each sample's weight times squared distance to its nearest candidate, and
    ``total`` the sum of the costs. One uniform draw per sample, in order: the samples cut into
    consecutive pieces and drawn piece by piece keep what they keep drawn at once.
    """
    return np.flatnonzero(kept(rng.uniform(size=len(cost)), cost, total, oversampling))


def kept(uniforms, cost, total, oversampling):
    """Whether each sample of uniform draw ``uniforms`` is kept: ``uniforms * total < oversampling * cost``."""
    return uniforms * total < oversampling * cost


def weighted_kmeans_plusplus(points, weights, n_clusters, rng):
    """Greedy k-means++ on weighted ``points`` (numpy float64): the indices of ``n_clusters`` of them, and their cost.

    As ``kmeans_plusplus``, each sample counting ``weights`` times: the first point is drawn
    with probability proportional to its weight, each next one is the best of ``2 + log(k)``
    drawn in proportion to weight times squared distance to the nearest chosen point. Assumes
    more points than clusters, all distinct. The cost is the weighted sum of squared distances
    from the points to the nearest chosen one.
    """
    n_trials = 2 + int(np.log(n_clusters))
    chosen = [_draw(np.cumsum(weights), rng.uniform(size=1))[0]]
    closest = _squared_distances(points[chosen], points)[0]
    for _ in range(1, n_clusters):
        cumulative = np.cumsum(weights * closest)
        if cumulative[-1] > 0:
            trials = _draw(cumulative, rng.uniform(size=n_trials))
        else:  # every weighted point is chosen already: take an unchosen one
            trials = rng.choice(np.setdiff1d(np.arange(len(points)), chosen), 1)
        to_trials = np.minimum(closest[None, :], _squared_distances(points[trials], points))
        best = int(np.argmin(to_trials @ weights))
        chosen.append(trials[best])
        closest = to_trials[best]
    return np.array(chosen), float(closest @ weights)


def _draw(cumulative, uniforms):
    """Indices drawn with probabilities proportional to the steps of ``cumulative`` (a zero step is never drawn)."""
    return np.minimum(np.searchsorted(cumulative, uniforms * cumulative[-1], side="right"), len(cumulative) - 1)


def _squared_distances(a, b):
    """Squared distances, shape (len(a), len(b)), computed directly (exactly 0 from a point to itself)."""
    return np.stack([np.square(b - row).sum(axis=1) for row in a])


def nearest(data, centres):
    """Each sample's nearest of ``centres`` (int64 labels, by the kernel) and squared distance (float64)."""
    labels = loops.labels_of(data, centres, kernels.kernel())
    distances = tf.cast(tf_ops.squared_distance_to_own(data, centres, labels), tf.float64)
    return labels.numpy(), distances.numpy()

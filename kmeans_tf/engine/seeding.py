"""Initial centroids: the lesson's random choice of distinct samples, scikit-learn's greedy k-means++, and k-means||.

The functions take centred, checked samples and a ``numpy.random.RandomState``, and
optionally sample weights (float64, >= 0, not all 0), which they use as scikit-learn's
``_init_centroids`` does: "random" draws with probability proportional to the weights, and
k-means++ draws its first centroid so, and weighs each sample's squared distance by its weight.

k-means|| (``kmeans_parallel``) is written once, over the passes that ``SeedingPasses`` declares:
``RowsInMemory`` for samples in memory, ``kmeans_tf.stream.passes.Passes`` for streamed rows.
"""

import typing

import numpy as np

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import kernels, loops, sparse, tf_ops
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
        return sparse.rows_at(samples, rng.choice(samples.shape[0], n_clusters, replace=False, p=probabilities))
    if init == KMEANS_PARALLEL_INIT:
        return kmeans_parallel(RowsInMemory(samples, weights), n_clusters, rng, rounds)
    return sparse.rows_at(samples, kmeans_plusplus(samples, n_clusters, rng, weights))


def kmeans_plusplus(samples, n_clusters, rng, weights=None, n_trials=None):
    """Greedy k-means++ (Arthur & Vassilvitskii 2007), as scikit-learn does it: the indices of the chosen samples.

    Each new centroid is the best (lowest total cost) of ``n_trials`` candidates (None:
    ``2 + log(k)``) drawn with probability proportional to the squared distance to the
    nearest chosen centroid (times the sample's weight, with ``weights``; the cost is then
    weighted too).
    """
    n_samples = samples.shape[0]
    n_trials = 2 + int(np.log(n_clusters)) if n_trials is None else n_trials
    columns = None
    if sparse.is_sparse(samples):  # CSR rows stay scipy's, and a copy by columns reads only the candidates' columns
        data, squared_norms = samples, tf.constant(sparse.squared_norms(samples).astype(samples.dtype))
        columns = samples.T.tocsr()
    else:
        data = tf.constant(samples)
        squared_norms = tf_ops.row_squared_norms(data)
    chosen = [rng.randint(n_samples) if weights is None else rng.choice(n_samples, p=weights / weights.sum())]
    weight_tensor = None if weights is None else tf.constant(weights, data.dtype)

    def weighted(distances):
        return distances if weight_tensor is None else distances * weight_tensor

    closest = squared_distances_to(data, squared_norms, [chosen[0]], columns)[0]
    potential = tf.reduce_sum(weighted(closest))
    for _ in range(1, n_clusters):
        cumulative = np.cumsum(weighted(closest).numpy(), dtype=np.float64)
        candidates = np.searchsorted(cumulative, rng.uniform(size=n_trials) * float(potential))
        candidates = np.minimum(candidates, n_samples - 1)
        to_candidates = tf.minimum(closest[None, :], squared_distances_to(data, squared_norms, candidates, columns))
        potentials = tf.reduce_sum(weighted(to_candidates), axis=1)
        best = int(tf.argmin(potentials))
        chosen.append(int(candidates[best]))
        closest, potential = to_candidates[best], potentials[best]
    return np.array(chosen)


def squared_distances_to(data, squared_norms, indices, columns=None):
    """Squared distances, shape (len(indices), n_samples), from the samples at ``indices`` (a tensor, or scipy's CSR
    rows) to all.

    ``columns``: CSR ``data`` transposed, as CSR (``data.T.tocsr()``). A product of the rows at
    ``indices`` with it reads, of each of their non-zeros' columns, the rows that have one there:
    not every non-zero of ``data``, as ``data`` times dense rows would.
    """
    if sparse.is_sparse(data):
        products = tf.constant((data[np.asarray(indices)] @ columns).toarray())
    else:
        products = tf.matmul(tf.gather(data, indices), data, transpose_b=True)
    return tf.maximum(tf.gather(squared_norms, indices)[:, None] - 2 * products + squared_norms[None, :], 0)


class SeedingPasses(typing.Protocol):
    """What ``kmeans_parallel`` asks of the rows it seeds on, in the loops' coordinates.

    A row's cost is its weight (1 without weights) times its squared distance to the nearest
    candidate; a pass measures every row against some centres.

    Attributes
    ----------
    n_rows : int
        How many rows.
    weights : array of shape (n_rows,) or None
        The rows' weights (float64, >= 0, not all 0), or None: every row weighs 1.
    """

    n_rows: int
    weights: np.ndarray | None

    def rows(self, indices):
        """Return the rows at ``indices`` (ints), an array of shape (len(indices), n_features)."""

    def new_distances(self):
        """Return a float64 array of one (unset) entry per row, or None where the rows have no room for one."""

    def nearest_distances(self, centres, closest, update=False):
        """Write each row's squared distance to its nearest of ``centres`` into ``closest`` (with ``update``: the
        nearer of that and the one there), in one pass; return the rows' total cost."""

    def oversample(self, candidates, oversampling, rng, closest=None, total=None):
        """Return the rows (ascending) that one round of k-means|| keeps: ``oversample(cost, total, oversampling,
        rng)`` on every row's cost, one ``rng.uniform`` per row in row order.

        With ``closest`` and its ``total`` (``nearest_distances``) the costs come from them, without
        a pass; without, from each row's distance to its nearest of ``candidates``, in one pass.
        """

    def nearest_weights(self, points):
        """Return the total weight (float64) of the rows nearest to each of ``points``, in one pass."""


class RowsInMemory:
    """``SeedingPasses`` over ``samples`` in memory (centred, checked; or sparse CSR rows), with ``weights``."""

    def __init__(self, samples, weights=None):
        self.samples, self.weights, self.n_rows = samples, weights, samples.shape[0]
        self.data = sparse.as_tensor(samples)

    def rows(self, indices):
        return sparse.rows_at(self.samples, indices)

    def new_distances(self):
        return np.empty(self.n_rows)

    def nearest_distances(self, centres, closest, update=False):
        distances = nearest(self.data, tf.constant(centres))[1]
        if update:
            np.minimum(closest, distances, out=closest)
        else:
            closest[:] = distances
        return float(self._costs(closest).sum())

    def oversample(self, candidates, oversampling, rng, closest=None, total=None):
        if closest is None:
            closest = self.new_distances()
            total = self.nearest_distances(candidates, closest)
        return oversample(self._costs(closest), total, oversampling, rng)

    def nearest_weights(self, points):
        labels = loops.labels_of(self.data, tf.constant(points), kernels.kernel(sparse=tf_ops.is_sparse(self.data)))
        labels = labels.numpy()
        return np.bincount(labels, weights=self.weights, minlength=len(points)).astype(np.float64)

    def _costs(self, closest):
        return closest if self.weights is None else self.weights * closest


def kmeans_parallel(passes, n_clusters, rng, rounds):
    """k-means|| (Bahmani et al., "Scalable K-Means++", VLDB 2012), as Spark MLlib's ``initKMeansParallel``.

    Parameters
    ----------
    passes : SeedingPasses
        The rows: ``RowsInMemory``, or streamed ``Passes``.
    n_clusters : int
        How many centroids to choose.
    rng : numpy.random.RandomState
        Every draw's source.
    rounds : int
        The oversampling rounds (>= 1).

    Returns
    -------
    centroids : array of shape (n_clusters, n_features)
        Rows of ``passes``, distinct ones.

    Notes
    -----
    ``parallel_candidates`` oversamples candidates in ``rounds`` passes over the rows; each
    candidate is weighted by the rows nearest to it (one more pass), and greedy k-means++ on
    the weighted candidates chooses the ``n_clusters`` centroids: the best of
    ``RECLUSTER_TRIES`` runs by weighted cost, since the candidates are few and a bad pick
    among them costs more than the runs. Candidates of equal value count once; when there
    are no more of them than clusters, they are all kept and ``other_rows`` fills up the
    rest, for rows in memory and streamed alike: distinct other rows, drawn with replacement
    in proportion to the weights (uniformly without) and repeats set aside, which holds no
    array of every row; where no more rows of weight > 0 are left than it needs, all of them,
    and the rest uniformly. With weights, a row counts as its weight: in the first pick, in
    the oversampling, and in its candidate's weight. At most ``rounds + 1`` passes, whether
    ``passes`` keeps the distances (``new_distances``) or not. Assumes validated input.
    """
    candidates, points = parallel_candidates(passes, n_clusters, rng, rounds)
    distinct = distinct_values(points)
    candidates, points = candidates[distinct], points[distinct]
    if len(candidates) <= n_clusters:
        filling = other_rows(passes.n_rows, candidates, n_clusters - len(candidates), passes.weights, rng)
        return np.concatenate([points, passes.rows(filling)])
    return points[recluster(points, passes.nearest_weights(points), n_clusters, rng)]


def parallel_candidates(passes, n_clusters, rng, rounds):
    """k-means||'s candidates among the rows of ``passes``: their row indices and their rows.

    One pick (in proportion to the weights), then ``rounds`` of oversampling. Each round keeps
    every row independently with probability ``min(1, l w d^2 / phi)``, where ``w`` is its
    weight, ``d^2`` its squared distance to the nearest candidate so far, ``phi`` the sum of
    ``w d^2`` and ``l = OVERSAMPLING_FACTOR * n_clusters``: about ``l`` new candidates a round.
    Each row's distance is kept where ``passes`` has room (a pass measures the rows against the
    new candidates, after each round but the last), else measured in each round's pass.
    """
    oversampling = OVERSAMPLING_FACTOR * n_clusters
    candidates = first_candidate(passes.n_rows, rng, passes.weights)
    points = passes.rows(candidates)
    closest = passes.new_distances()
    total = None if closest is None else passes.nearest_distances(points, closest)
    for round_number in range(1, rounds + 1):
        picked = passes.oversample(points, oversampling, rng, closest, total)
        if picked.size == 0:  # every row sits on a candidate
            break
        candidates, points = np.concatenate([candidates, picked]), np.concatenate([points, passes.rows(picked)])
        if closest is not None and round_number < rounds:
            total = passes.nearest_distances(points[-len(picked) :], closest, update=True)
    return candidates, points


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


def other_rows(n_rows, taken, count, weights, rng):
    """Return ``count`` distinct rows of ``n_rows`` not in ``taken``, drawn in proportion to ``weights`` (or uniformly).

    Draws with replacement, setting aside the rows taken or drawn already, until there are
    ``count``; when no more than ``count`` rows of weight > 0 are left, all of them, and the
    rest uniformly among the others. Holds no array of every row (but the weights).
    """
    if weights is not None and np.count_nonzero(weights) - np.count_nonzero(weights[taken]) <= count:
        positive = np.setdiff1d(np.flatnonzero(weights), taken)
        rest = other_rows(n_rows, np.concatenate([taken, positive]), count - len(positive), None, rng)
        return np.concatenate([positive, rest])
    chosen = np.empty(0, np.int64)
    probabilities = None if weights is None else np.asarray(weights, np.float64) / np.sum(weights)
    while len(chosen) < count:
        drawn = rng.choice(n_rows, count - len(chosen), p=probabilities)
        chosen = np.unique(np.concatenate([chosen, np.setdiff1d(drawn, taken)]))
    return chosen


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
    labels = loops.labels_of(data, centres, kernels.kernel(sparse=tf_ops.is_sparse(data)))
    distances = tf.cast(tf_ops.squared_distance_to_own(data, centres, labels), tf.float64)
    return labels.numpy(), distances.numpy()

"""The lesson's algorithms the TensorFlow 2 way: eager tensors, ``tf.function``, no Session.

The first functions mirror ``functions.py`` name for name (``create_samples``,
``choose_random_centroids``, ``assign_to_nearest``, ``update_centroids``,
``iterate_kmeans``, ``total_squared_distance``) and take the same arguments. Then the
engine that the command line runs on users' data:

- ``kmeans``: Lloyd's algorithm with scikit-learn's stopping rule, ``n_init`` restarts,
  "random" or "k-means++" initialisation, and scikit-learn's relocation of empty clusters;
- ``predict`` and ``inertia`` for given centroids;
- ``gd_kmeans``: seed 002's gradient descent, with ``tf.GradientTape``.

The Lloyd loop runs inside one ``tf.function`` and computes distances as
``||x||^2 - 2 x.c + ||c||^2`` with a matmul, a chunk of rows at a time, so the full
(n_samples, n_clusters) distance matrix is never held at once.

Public functions validate their inputs once, here, and raise ``ValueError`` naming the
bad value and what is allowed. Functions whose names start with ``_`` assume validated
input.
"""
import dataclasses
import math

import numpy as np

from compat._tensorflow import tf

RANDOM_INIT = "random"
KMEANS_PLUSPLUS_INIT = "k-means++"
INIT_STRATEGIES = (RANDOM_INIT, KMEANS_PLUSPLUS_INIT)
LLOYD = "lloyd"
HAMERLY = "hamerly"
ALGORITHMS = (LLOYD, HAMERLY)

DEFAULT_ITERATIONS = 10  # the lesson's exercise 2
# Bytes for one chunk's (rows, n_clusters) distance block; sets the rows per chunk.
DEFAULT_MEMORY_BUDGET = 4 * 2**20


@dataclasses.dataclass(frozen=True)
class KMeansResult:
    """What ``kmeans`` found.

    Attributes
    ----------
    centroids : array of shape (n_clusters, n_features), the input's dtype
    labels : array of shape (n_samples,), int64, the nearest centroid of each sample
    inertia : float, the sum of squared distances of samples to their centroid
    n_iter : int, Lloyd iterations run
    converged : bool, whether the labels stopped changing or the centroids moved less than ``tol``
    """

    centroids: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    converged: bool


# ---------------------------------------------------------------------------
# Validation, once, at the door
# ---------------------------------------------------------------------------

def _check_samples(samples, name="samples"):
    """Return ``samples`` as a 2-D finite float32/float64 numpy array, or raise ValueError."""
    if tf.is_tensor(samples):
        samples = samples.numpy()
    try:
        array = np.asarray(samples)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} should be a 2-D array of numbers: {error}") from None
    if array.dtype.kind in "iub":
        array = array.astype(np.float64)
    elif array.dtype not in (np.float32, np.float64):
        if array.dtype.kind == "f":
            array = array.astype(np.float64)
        else:
            raise ValueError(f"{name} should hold numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} should be 2-D (n_samples, n_features), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} should have at least one row and one column, got shape {array.shape}")
    finite = np.isfinite(array)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        raise ValueError(f"{name} should be finite, got {array[row, column]} at row {row}, column {column}")
    return np.ascontiguousarray(array)


def _check_n_clusters(n_clusters, n_samples):
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
        raise ValueError(f"n_clusters={n_clusters!r} should be an integer >= 1")
    if n_clusters < 1:
        raise ValueError(f"n_clusters={n_clusters} should be >= 1")
    if n_samples < n_clusters:
        raise ValueError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}")
    return int(n_clusters)


def _check_centroids(centroids, n_clusters, n_features, dtype, name="centroids"):
    """Return ``centroids`` checked against the samples' width (and ``n_clusters`` rows if given)."""
    centroids = _check_samples(centroids, name)
    if centroids.shape[1] != n_features:
        raise ValueError(f"{name} should have n_features={n_features} columns like the samples, "
                         f"got shape {centroids.shape}")
    if n_clusters is not None and centroids.shape[0] != n_clusters:
        raise ValueError(f"{name} should have n_clusters={n_clusters} rows, got shape {centroids.shape}")
    return centroids.astype(dtype, copy=False)


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} should be an integer >= {minimum}")
    return int(value)


def _check_batch_size(batch_size):
    return None if batch_size is None else _check_int("batch_size", batch_size, 1)


# ---------------------------------------------------------------------------
# The lesson's functions, mirrored
# ---------------------------------------------------------------------------

def create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed):
    """Make the lesson's data: a blob of normal noise (stddev 5) around each random centroid.

    The centroids are those of ``functions.create_samples`` for the same seed. The noise
    differs: here each blob draws its own (``stateless_normal`` seeded by ``(seed, i)``),
    where the graph version's op-level seed gives every blob the same pattern.

    Returns
    -------
    centroids : float32 tensor of shape (n_clusters, n_features)
    samples : float32 tensor of shape (n_clusters * n_samples_per_cluster, n_features)
    """
    rng = np.random.RandomState(seed)
    centroids = []
    slices = []
    for i in range(n_clusters):
        centroid = (rng.random_sample((1, n_features)) * embiggen_factor) - (embiggen_factor / 2)
        centroid = tf.constant(centroid, tf.float32)
        noise = tf.random.stateless_normal((n_samples_per_cluster, n_features), seed=[seed, i],
                                           stddev=5.0, dtype=tf.float32)
        centroids.append(centroid)
        slices.append(noise + centroid)
    return tf.concat(centroids, 0), tf.concat(slices, 0)


def choose_random_centroids(samples, n_clusters, seed=None):
    """Pick ``n_clusters`` distinct samples at random (without replacement) as initial centroids."""
    samples = tf.convert_to_tensor(samples)
    n_samples = tf.shape(samples)[0]
    if seed is None:
        keys = tf.random.uniform([n_samples])
    else:
        keys = tf.random.stateless_uniform([n_samples], seed=[seed, 0])
    return tf.gather(samples, tf.argsort(keys)[:n_clusters])


def assign_to_nearest(samples, centroids):
    """Return the index (int64) of the nearest centroid for each sample."""
    samples, centroids = _as_float_tensors(samples, centroids)
    return _nearest(samples, centroids)


def update_centroids(samples, nearest_indices, n_clusters, previous_centroids=None):
    """Move each centroid to the mean of its samples.

    An empty cluster keeps its row of ``previous_centroids`` when given; otherwise this
    raises ``ValueError`` naming the empty cluster.
    """
    samples = tf.convert_to_tensor(samples)
    labels = tf.cast(nearest_indices, tf.int32)
    sums = tf.math.unsorted_segment_sum(samples, labels, n_clusters)
    counts = tf.math.unsorted_segment_sum(tf.ones_like(samples[:, :1]), labels, n_clusters)
    if previous_centroids is None:
        empty = np.flatnonzero(counts.numpy()[:, 0] == 0)
        if empty.size:
            raise ValueError(f"update_centroids: cluster {empty[0]} has no samples "
                             f"(pass previous_centroids to keep its centroid)")
        return sums / counts
    previous_centroids = tf.cast(previous_centroids, samples.dtype)
    return tf.where(counts > 0, sums / tf.maximum(counts, 1), previous_centroids)


def iterate_kmeans(samples, initial_centroids, n_clusters, n_iterations=DEFAULT_ITERATIONS):
    """Alternate ``assign_to_nearest`` and ``update_centroids`` ``n_iterations`` times.

    Returns a tensor of shape (n_iterations, n_clusters, n_features): the centroids after
    each iteration. An empty cluster keeps its previous centroid, as in ``functions.py``.
    """
    centroids = tf.convert_to_tensor(initial_centroids)
    history = []
    for _ in range(n_iterations):
        labels = assign_to_nearest(samples, centroids)
        centroids = update_centroids(samples, labels, n_clusters, previous_centroids=centroids)
        history.append(centroids)
    return tf.stack(history)


def total_squared_distance(samples, centroids):
    """Return the k-means cost: the sum over samples of the squared distance to the nearest centroid."""
    samples, centroids = _as_float_tensors(samples, centroids)
    return _sum_squared_distance(samples, centroids, _nearest(samples, centroids))


# ---------------------------------------------------------------------------
# The engine: kmeans, predict, inertia
# ---------------------------------------------------------------------------

def kmeans(samples, n_clusters, *, init=KMEANS_PLUSPLUS_INIT, n_init=1, max_iter=300, tol=1e-4,
           seed=None, batch_size=None, algorithm=HAMERLY, callback=None):
    """Cluster ``samples`` into ``n_clusters`` groups with Lloyd's k-means.

    Parameters
    ----------
    samples : array of shape (n_samples, n_features), float32 or float64
        Integers are converted to float64. The result keeps the float dtype.
    n_clusters : int, 1 <= n_clusters <= n_samples
    init : {"k-means++", "random"} or array of shape (n_clusters, n_features), default="k-means++"
        "random" picks distinct samples, as the lesson does; "k-means++" is scikit-learn's
        greedy k-means++; an array gives the initial centroids.
    n_init : int, default=1
        Runs from different initialisations; the one with the lowest inertia is kept.
        Must be 1 when ``init`` is an array.
    max_iter : int, default=300
    tol : float, default=1e-4
        As in scikit-learn: the run stops when the labels stop changing, or when the total
        squared centroid shift is at most ``tol`` times the mean per-feature variance.
    seed : int or None, default=None
        Makes the whole call reproducible.
    batch_size : int or None, default=None
        Rows per chunk of the distance computation; by default chosen so that one
        (rows, n_clusters) block takes about 4 MiB.
    algorithm : {"hamerly", "lloyd"}, default="hamerly"
        How each Lloyd iteration is computed: "lloyd" measures every sample against every
        centroid; "hamerly" keeps distance bounds and skips the samples whose label cannot
        change. Both give the same labels, centroids and ``n_iter``.
    callback : callable or None
        Called as ``callback(run_index, result)`` after each of the ``n_init`` runs.

    Returns
    -------
    KMeansResult
    """
    samples = _check_samples(samples)
    n_samples, n_features = samples.shape
    n_clusters = _check_n_clusters(n_clusters, n_samples)
    n_init = _check_int("n_init", n_init, 1)
    max_iter = _check_int("max_iter", max_iter, 1)
    batch_size = _check_batch_size(batch_size)
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not tol >= 0:
        raise ValueError(f"tol={tol!r} should be a number >= 0")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r} should be one of {', '.join(map(repr, ALGORITHMS))}")
    if isinstance(init, str):
        if init not in INIT_STRATEGIES:
            raise ValueError(f"init={init!r} should be one of {', '.join(map(repr, INIT_STRATEGIES))} "
                             f"or an array of shape (n_clusters, n_features)")
    else:
        init = _check_centroids(init, n_clusters, n_features, samples.dtype, name="init")
        if n_init != 1:
            raise ValueError(f"n_init={n_init} should be 1 when init is an array of centroids")

    # Centre the data, as scikit-learn does: the matmul distance loses less to rounding.
    mean = samples.mean(axis=0, dtype=np.float64)
    centred = (samples - mean).astype(samples.dtype)
    scaled_tol = float(np.mean(np.var(samples, axis=0, dtype=np.float64)) * tol) if tol else 0.0
    rng = np.random.RandomState(seed)
    data = tf.constant(centred)
    rows = _rows_per_chunk(n_clusters, samples.itemsize, batch_size)

    best = None
    for run in range(n_init):
        if isinstance(init, str):
            run_rng = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
            initial = _initial_centroids(centred, n_clusters, init, run_rng)
        else:
            initial = init - mean.astype(samples.dtype)
        result = _lloyd(data, initial, rows, max_iter, scaled_tol, mean, algorithm)
        if callback is not None:
            callback(run, result)
        if best is None or result.inertia < best.inertia:
            best = result
    return best


def predict(samples, centroids, *, batch_size=None):
    """Return the index (int64 array) of the nearest of ``centroids`` for each sample."""
    samples = _check_samples(samples)
    centroids = _check_centroids(centroids, None, samples.shape[1], samples.dtype)
    rows = _rows_per_chunk(centroids.shape[0], samples.itemsize, _check_batch_size(batch_size))
    return _labels_chunked(tf.constant(samples), tf.constant(centroids), rows).numpy()


def inertia(samples, centroids):
    """Return the sum of squared distances from each sample to its nearest centroid, as a float."""
    samples = _check_samples(samples)
    centroids = _check_centroids(centroids, None, samples.shape[1], samples.dtype)
    data, centroids = tf.constant(samples), tf.constant(centroids)
    rows = _rows_per_chunk(centroids.shape[0], samples.itemsize, None)
    return float(_inertia_chunked(data, centroids, _labels_chunked(data, centroids, rows), rows))


# ---------------------------------------------------------------------------
# Seed 002: k-means by gradient descent
# ---------------------------------------------------------------------------

def gd_kmeans(samples, initial_prototypes, *, learning_rate=0.001, steps=100):
    """Learn prototypes by gradient descent on ``sum_i min_k ||x_i - w_k||^2`` (seed 002).

    Returns
    -------
    prototypes : tensor of shape (k, n_features)
    costs : tensor of shape (steps + 1,): ``costs[0]`` at ``initial_prototypes``,
        ``costs[i]`` after ``i`` steps. (The post prints the cost after each step,
        so its "Iteration i" is ``costs[i + 1]`` here.)
    """
    samples = _check_samples(samples)
    initial_prototypes = _check_centroids(initial_prototypes, None, samples.shape[1], samples.dtype,
                                          name="initial_prototypes")
    steps = _check_int("steps", steps, 0)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate={learning_rate!r} should be > 0")
    data = tf.constant(samples)
    prototypes = tf.Variable(initial_prototypes)
    rate = tf.constant(learning_rate, samples.dtype)
    costs = [_gd_cost(data, prototypes)]
    for _ in range(steps):
        costs.append(_gd_step(data, prototypes, rate))
    return tf.convert_to_tensor(prototypes), tf.stack(costs)


@tf.function(reduce_retracing=True)
def _gd_cost(data, prototypes):
    distances = tf.reduce_sum(tf.square(data[:, None, :] - prototypes[None, :, :]), axis=2)
    return tf.reduce_sum(tf.reduce_min(distances, axis=1))


@tf.function(reduce_retracing=True)
def _gd_step(data, prototypes, learning_rate):
    """Take one plain gradient step (GradientDescentOptimizer's update) and return the new cost."""
    with tf.GradientTape() as tape:
        cost = _gd_cost(data, prototypes)
    prototypes.assign_sub(learning_rate * tape.gradient(cost, prototypes))
    return _gd_cost(data, prototypes)


# ---------------------------------------------------------------------------
# Kernels (assume validated input)
# ---------------------------------------------------------------------------

def _as_float_tensors(samples, centroids):
    samples = tf.convert_to_tensor(samples)
    return samples, tf.cast(centroids, samples.dtype)


def _nearest(samples, centroids):
    """Labels (int64) of the nearest centroid, by the matmul expansion of the squared distance."""
    return _nearest_from(samples, -2 * tf.transpose(centroids), tf.reduce_sum(tf.square(centroids), axis=1))


def _nearest_from(samples, minus_two_centroids_t, centroid_norms):
    """argmin over centroids of ``||c||^2 - 2 x.c``; ``||x||^2`` is the same for every centroid."""
    return tf.argmin(tf.matmul(samples, minus_two_centroids_t) + centroid_norms, axis=1)


def _sum_squared_distance(samples, centroids, labels):
    """Sum ||x - c[label]||^2 exactly (no expansion), accumulated in float64."""
    return tf.reduce_sum(tf.cast(_squared_distance_to_own(samples, centroids, labels), tf.float64))


def _squared_distance_to_own(samples, centroids, labels):
    return tf.reduce_sum(tf.square(samples - tf.gather(centroids, labels)), axis=1)


def _rows_per_chunk(n_clusters, itemsize, batch_size):
    """Rows per chunk: ``batch_size``, or as many as keep one (rows, n_clusters) block in the budget."""
    if batch_size is None:
        batch_size = max(1, DEFAULT_MEMORY_BUDGET // (n_clusters * itemsize))
    return tf.constant(batch_size)


def _chunk(samples, rows, i):
    return samples[i * rows:(i + 1) * rows]


def _n_chunks(samples, rows):
    return (tf.shape(samples)[0] + rows - 1) // rows


# The loops below are written with tf.while_loop and tf.cond rather than autograph:
# tracing them then takes a fraction of the time, which every new data shape pays.

@tf.function(reduce_retracing=True, autograph=False)
def _labels_chunked(samples, centroids, rows):
    """Labels of the nearest centroid for all samples, ``rows`` at a time."""
    minus_two_centroids_t = -2 * tf.transpose(centroids)
    centroid_norms = tf.reduce_sum(tf.square(centroids), axis=1)
    n_chunks = _n_chunks(samples, rows)

    def label_chunk(i, labels):
        chunk_labels = _nearest_from(_chunk(samples, rows, i), minus_two_centroids_t, centroid_norms)
        return i + 1, labels.write(i, chunk_labels)

    _, labels = tf.while_loop(lambda i, _: i < n_chunks, label_chunk,
                              (0, tf.TensorArray(tf.int64, size=n_chunks, infer_shape=False)))
    return labels.concat()


@tf.function(reduce_retracing=True, autograph=False)
def _inertia_chunked(samples, centroids, labels, rows):
    """The exact sum of squared distances of samples to their labelled centroid, ``rows`` at a time."""
    def add_chunk(i, total):
        chunk = _sum_squared_distance(_chunk(samples, rows, i), centroids, _chunk(labels, rows, i))
        return i + 1, total + chunk

    _, total = tf.while_loop(lambda i, _: i < _n_chunks(samples, rows), add_chunk,
                             (0, tf.constant(0.0, tf.float64)))
    return total


def _relocate_empty_clusters(sums, counts, labels, samples, centroids):
    """Give each empty cluster the sample farthest from its centroid, as scikit-learn does.

    Works on the sums (before dividing by counts): the sample leaves its old cluster's
    sum and becomes the empty cluster's only member; the j-th empty cluster takes the
    j-th farthest sample. Nothing moves when every sample sits on its centroid (more
    clusters than distinct samples).
    """
    empty = counts == 0

    def relocate(distances):
        n_clusters = tf.shape(counts)[0]
        _, farthest = tf.math.top_k(distances, k=n_clusters)
        rank = tf.maximum(tf.cumsum(tf.cast(empty, tf.int32)) - 1, 0)
        chosen = tf.gather(farthest, rank)
        weight = tf.cast(empty, counts.dtype)
        moved = tf.gather(samples, chosen) * weight[:, None]
        old = tf.gather(labels, chosen)
        new_sums = sums - tf.math.unsorted_segment_sum(moved, old, n_clusters)
        new_counts = counts - tf.math.unsorted_segment_sum(weight, old, n_clusters)
        return tf.where(empty[:, None], moved, new_sums), tf.where(empty, tf.ones_like(counts), new_counts)

    def relocate_if_any_sample_is_off_its_centroid():
        distances = _squared_distance_to_own(samples, centroids, labels)
        return tf.cond(tf.reduce_max(distances) > 0, lambda: relocate(distances), lambda: (sums, counts))

    return tf.cond(tf.reduce_any(empty), relocate_if_any_sample_is_off_its_centroid, lambda: (sums, counts))


def _m_step(samples, labels, centroids):
    """The M-step: the mean of each cluster (empty ones relocated), and the total squared shift."""
    n_clusters = tf.shape(centroids)[0]
    # tensor_scatter_nd_add is several times faster on CPU than unsorted_segment_sum here.
    sums = tf.tensor_scatter_nd_add(tf.zeros_like(centroids), labels[:, None], samples)
    counts = tf.cast(tf.math.bincount(tf.cast(labels, tf.int32), minlength=n_clusters,
                                      maxlength=n_clusters), samples.dtype)
    sums, counts = _relocate_empty_clusters(sums, counts, labels, samples, centroids)
    new_centroids = tf.where(counts[:, None] > 0, sums / tf.maximum(counts, 1)[:, None], sums)
    new_centroids = tf.ensure_shape(new_centroids, centroids.shape)
    shift = tf.reduce_sum(tf.square(tf.cast(new_centroids - centroids, tf.float64)))
    return new_centroids, shift


@tf.function(reduce_retracing=True, autograph=False)
def _lloyd_loop(samples, initial, rows, max_iter, tol):
    """Lloyd iterations with scikit-learn's stopping rule, all inside one graph.

    Returns the final centroids, the labels for them, the iterations run, and whether the
    labels stopped changing (strict convergence) or the total squared shift fell to ``tol``.
    """
    def iterate(iteration, centroids, labels_old, converged):
        labels = tf.ensure_shape(_labels_chunked(samples, centroids, rows), labels_old.shape)
        new_centroids, shift = _m_step(samples, labels, centroids)
        converged = tf.reduce_all(tf.equal(labels, labels_old)) | (shift <= tol)
        return iteration + 1, new_centroids, labels, converged

    def keep_going(iteration, centroids, labels_old, converged):
        return (iteration < max_iter) & ~converged

    start = (tf.constant(0), initial, -tf.ones([tf.shape(samples)[0]], tf.int64), tf.constant(False))
    iteration, centroids, _, converged = tf.while_loop(keep_going, iterate, start)
    # The final E-step: labels that match the returned centroids.
    return centroids, _labels_chunked(samples, centroids, rows), iteration, converged


@tf.function(reduce_retracing=True, autograph=False)
def _two_nearest_chunked(samples, centroids, rows):
    """For each sample: the nearest label, and the squared distances to the nearest and second-nearest centroid."""
    minus_two_centroids_t = -2 * tf.transpose(centroids)
    centroid_norms = tf.reduce_sum(tf.square(centroids), axis=1)
    n_clusters = tf.shape(centroids)[0]
    n_chunks = _n_chunks(samples, rows)
    infinity = tf.constant(np.inf, samples.dtype)

    def measure_chunk(i, labels, nearest, second):
        chunk = _chunk(samples, rows, i)
        partial = tf.matmul(chunk, minus_two_centroids_t) + centroid_norms
        chunk_labels = tf.argmin(partial, axis=1)
        norms = tf.reduce_sum(tf.square(chunk), axis=1)
        others = tf.where(tf.one_hot(chunk_labels, n_clusters, on_value=True, off_value=False), infinity, partial)
        return (i + 1, labels.write(i, chunk_labels),
                nearest.write(i, tf.reduce_min(partial, axis=1) + norms),
                second.write(i, tf.reduce_min(others, axis=1) + norms))

    def array(dtype):
        return tf.TensorArray(dtype, size=n_chunks, infer_shape=False, element_shape=[None])

    _, labels, nearest, second = tf.while_loop(
        lambda i, *_: i < n_chunks, measure_chunk, (0, array(tf.int64), array(samples.dtype), array(samples.dtype)))
    return labels.concat(), nearest.concat(), second.concat()


def _hamerly_assign(samples, centroids, labels, upper, lower, rows, slack):
    """Relabel the samples whose bounds cannot prove their label, and tighten their bounds.

    ``upper`` bounds the distance to the labelled centroid, ``lower`` the distance to any
    other. A label cannot change while ``upper`` is at most ``lower`` and at most half the
    distance from its centroid to the nearest other centroid. The suspects get the exact
    distance to their centroid; those still unproven are measured against every centroid.
    """
    between = tf.sqrt(tf.reduce_sum(tf.square(centroids[:, None, :] - centroids[None, :, :]), axis=2))
    between = tf.linalg.set_diag(between, tf.fill(tf.shape(centroids)[:1], tf.constant(np.inf, samples.dtype)))
    half_gap = 0.5 * tf.reduce_min(between, axis=1) * (1 - slack)
    bound = tf.maximum(tf.gather(half_gap, labels), lower)
    suspects = tf.where(upper > bound)[:, 0]
    own = tf.sqrt(_squared_distance_to_own(tf.gather(samples, suspects), centroids,
                                           tf.gather(labels, suspects))) * (1 + slack)
    upper = tf.tensor_scatter_nd_update(upper, suspects[:, None], own)
    unproven = tf.boolean_mask(suspects, own > tf.gather(bound, suspects))
    new_labels, new_upper, new_lower = _measured_bounds(tf.gather(samples, unproven), centroids, rows, slack)
    return (tf.tensor_scatter_nd_update(labels, unproven[:, None], new_labels),
            tf.tensor_scatter_nd_update(upper, unproven[:, None], new_upper),
            tf.tensor_scatter_nd_update(lower, unproven[:, None], new_lower))


def _measured_bounds(samples, centroids, rows, slack):
    """Labels, and upper and lower bounds widened by the matmul expansion's rounding error."""
    labels, nearest, second = _two_nearest_chunked(samples, centroids, rows)
    largest = tf.reduce_sum(tf.square(samples), axis=1) + tf.reduce_max(tf.reduce_sum(tf.square(centroids), 1))
    margin = slack * largest
    return labels, tf.sqrt(tf.maximum(nearest, 0) + margin), tf.sqrt(tf.maximum(second - margin, 0))


@tf.function(reduce_retracing=True, autograph=False)
def _hamerly_loop(samples, initial, rows, max_iter, tol):
    """Lloyd's iterations computed with Hamerly's bounds (Hamerly 2010): same results, less distance work.

    Each sample keeps bounds on its distances to the centroids (``_hamerly_assign``). They
    are widened by a few float rounding errors, so a sample near a tie is always measured,
    with the same kernel as ``_lloyd_loop``. Returns the final centroids, the labels for
    them, the iterations run, and whether the run converged.
    """
    dtype = samples.dtype
    slack = tf.cast(8 * (tf.shape(samples)[1] + 2), dtype) * np.finfo(dtype.as_numpy_dtype).eps

    def iterate(iteration, centroids, labels, upper, lower, labels_old, converged):
        new_centroids, shift = _m_step(samples, labels, centroids)
        moves = tf.sqrt(tf.reduce_sum(tf.square(new_centroids - centroids), axis=1)) * (1 + slack)
        new_labels, upper, lower = _hamerly_assign(samples, new_centroids, labels, upper + tf.gather(moves, labels),
                                                   lower - tf.reduce_max(moves), rows, slack)
        converged = tf.reduce_all(tf.equal(labels, labels_old)) | (shift <= tol)
        return iteration + 1, new_centroids, new_labels, upper, lower, labels, converged

    def keep_going(iteration, *state):
        return (iteration < max_iter) & ~state[-1]

    labels, upper, lower = _measured_bounds(samples, initial, rows, slack)
    start = (tf.constant(0), initial, labels, upper, lower, -tf.ones_like(labels), tf.constant(False))
    iteration, centroids, labels, _, _, _, converged = tf.while_loop(keep_going, iterate, start)
    return centroids, labels, iteration, converged


def _lloyd(data, initial, rows, max_iter, tol, mean, algorithm):
    """Run one k-means from ``initial`` (centred coordinates) and return a KMeansResult."""
    loop = _hamerly_loop if algorithm == HAMERLY else _lloyd_loop
    centroids, labels, n_iter, converged = loop(
        data, tf.constant(initial), rows, tf.constant(max_iter), tf.constant(tol, tf.float64))
    total = _inertia_chunked(data, centroids, labels, rows)
    return KMeansResult(
        centroids=(centroids.numpy().astype(np.float64) + mean).astype(data.dtype.as_numpy_dtype),
        labels=labels.numpy(),
        inertia=float(total),
        n_iter=int(n_iter),
        converged=bool(converged),
    )


def _initial_centroids(samples, n_clusters, init, rng):
    """Choose initial centroids among ``samples`` with the strategy ``init``."""
    if init == RANDOM_INIT:
        return samples[rng.choice(samples.shape[0], n_clusters, replace=False)]
    return _kmeans_plusplus(samples, n_clusters, rng)


def _kmeans_plusplus(samples, n_clusters, rng):
    """Greedy k-means++ (Arthur & Vassilvitskii 2007), as scikit-learn does it.

    Each new centroid is the best (lowest total cost) of ``2 + log(k)`` candidates drawn
    with probability proportional to the squared distance to the nearest chosen centroid.
    """
    n_samples = samples.shape[0]
    n_trials = 2 + int(np.log(n_clusters))
    data = tf.constant(samples)
    squared_norms = tf.reduce_sum(tf.square(data), axis=1)
    chosen = [rng.randint(n_samples)]
    closest = _squared_distances_to(data, squared_norms, [chosen[0]])[0]
    potential = tf.reduce_sum(closest)
    for _ in range(1, n_clusters):
        cumulative = np.cumsum(closest.numpy(), dtype=np.float64)
        candidates = np.searchsorted(cumulative, rng.uniform(size=n_trials) * float(potential))
        candidates = np.minimum(candidates, n_samples - 1)
        to_candidates = tf.minimum(closest[None, :], _squared_distances_to(data, squared_norms, candidates))
        potentials = tf.reduce_sum(to_candidates, axis=1)
        best = int(tf.argmin(potentials))
        chosen.append(int(candidates[best]))
        closest, potential = to_candidates[best], potentials[best]
    return samples[chosen]


def _squared_distances_to(data, squared_norms, indices):
    """Squared distances, shape (len(indices), n_samples), from the samples at ``indices`` to all."""
    centres = tf.gather(data, indices)
    return tf.maximum(tf.gather(squared_norms, indices)[:, None]
                      - 2 * tf.matmul(centres, data, transpose_b=True)
                      + squared_norms[None, :], 0)

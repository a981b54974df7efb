"""The lesson's algorithms the TensorFlow 2 way: eager tensors, ``tf.function``, no Session.

The first functions mirror ``functions.py`` name for name (``create_samples``,
``choose_random_centroids``, ``assign_to_nearest``, ``update_centroids``,
``iterate_kmeans``, ``total_squared_distance``) and take the same arguments. Then the
engine that the command line runs on users' data:

- ``kmeans``: Lloyd's algorithm with scikit-learn's stopping rule, ``n_init`` restarts,
  "random" or "k-means++" initialisation, and scikit-learn's relocation of empty clusters;
- ``predict`` and ``inertia`` for given centroids;
- ``gd_kmeans``: seed 002's gradient descent, with ``tf.GradientTape``.

The Lloyd loop runs inside one ``tf.function`` (its kernels are in ``compat._lloyd``) and
computes distances as ``||x||^2 - 2 x.c + ||c||^2`` with a matmul, a chunk of rows at a
time, so the full (n_samples, n_clusters) distance matrix is never held at once.

Public functions validate their inputs once, here, and raise ``ValueError`` naming the
bad value and what is allowed. Functions whose names start with ``_`` assume validated
input.
"""
import dataclasses

import numpy as np

from compat import _lloyd, native
from compat._tensorflow import tf

RANDOM_INIT = "random"
KMEANS_PLUSPLUS_INIT = "k-means++"
INIT_STRATEGIES = (RANDOM_INIT, KMEANS_PLUSPLUS_INIT)
AUTO = "auto"
LLOYD = "lloyd"
HAMERLY = "hamerly"
ALGORITHMS = (AUTO, LLOYD, HAMERLY)

DEFAULT_ITERATIONS = 10  # the lesson's exercise 2


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
    return _check_samples_and_sum(samples, name)[0]


def _check_samples_and_sum(samples, name="samples"):
    """``_check_samples``, and the column sums (float64) the finiteness check made on the way."""
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
    # The column sums carry any NaN or infinity, without a boolean copy of the data (huge finite
    # values may overflow them too: then the exact check says whether anything is wrong).
    column_sums = _column_sums(array)
    if not np.isfinite(column_sums).all():
        finite = np.isfinite(array)
        if not finite.all():
            row, column = np.argwhere(~finite)[0]
            raise ValueError(f"{name} should be finite, got {array[row, column]} at row {row}, column {column}")
    return np.ascontiguousarray(array), column_sums


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
    return _lloyd.nearest(samples, centroids)


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
    return _lloyd.sum_squared_distance(samples, centroids, _lloyd.nearest(samples, centroids))


# ---------------------------------------------------------------------------
# The engine: kmeans, predict, inertia
# ---------------------------------------------------------------------------

def kmeans(samples, n_clusters, *, init=KMEANS_PLUSPLUS_INIT, n_init=1, max_iter=300, tol=1e-4,
           seed=None, batch_size=None, algorithm=AUTO, callback=None):
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
        Rows per chunk of the distance computation when TensorFlow's ops run (the C
        kernel works a few rows at a time anyway); by default chosen so that one
        (rows, n_clusters) block takes about 4 MiB.
    algorithm : {"auto", "lloyd", "hamerly"}, default="auto"
        How each Lloyd iteration is computed; all three give the same labels. "lloyd"
        measures every sample against every centroid; "hamerly" keeps distance bounds
        (Hamerly 2010) and measures only the samples whose label may change; "auto" makes
        "lloyd" passes while many labels change, then "hamerly" ones. On the CPU they run
        in the fused C kernel (``compat/native``), where the answers are bit for bit
        equal; with TensorFlow's ops "auto" is "lloyd", and "hamerly" ends with centroids
        equal to float rounding.
    callback : callable or None
        Called as ``callback(run_index, result)`` after each of the ``n_init`` runs.

    Returns
    -------
    KMeansResult
    """
    samples, column_sums = _check_samples_and_sum(samples)
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
    mean = column_sums / n_samples
    centred = np.subtract(samples, mean.astype(samples.dtype), out=_aligned_like(samples))  # the one copy
    norms = _squared_norms(centred)
    # tol is relative to the mean per-feature variance, as in scikit-learn.
    scaled_tol = float(norms.sum()) / centred.size * tol
    largest_norm = float(norms.max())
    rng = np.random.RandomState(seed)
    data, norms = _tensor_over(centred), tf.constant(norms)
    rows = _lloyd.rows_per_chunk(n_clusters, samples.itemsize, batch_size)

    best = None
    for run in range(n_init):
        if isinstance(init, str):
            run_rng = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
            initial = _initial_centroids(centred, n_clusters, init, run_rng)
        else:
            initial = init - mean.astype(samples.dtype)
        # Bounds the norm of every centroid to come: they stay in the samples' convex hull.
        norm_bound = max(largest_norm, float(np.square(initial, dtype=np.float64).sum(axis=1).max()))
        result = _run_once(data, initial, rows, max_iter, scaled_tol, mean, algorithm, norms, norm_bound)
        if callback is not None:
            callback(run, result)
        if best is None or result.inertia < best.inertia:
            best = result
    return best


def predict(samples, centroids, *, batch_size=None):
    """Return the index (int64 array) of the nearest of ``centroids`` for each sample."""
    samples = _check_samples(samples)
    centroids = _check_centroids(centroids, None, samples.shape[1], samples.dtype)
    rows = _lloyd.rows_per_chunk(centroids.shape[0], samples.itemsize, _check_batch_size(batch_size))
    return _lloyd.labels_of(tf.constant(samples), tf.constant(centroids), rows, _fused()).numpy()


def inertia(samples, centroids):
    """Return the sum of squared distances from each sample to its nearest centroid, as a float."""
    samples = _check_samples(samples)
    centroids = _check_centroids(centroids, None, samples.shape[1], samples.dtype)
    data, centroids = tf.constant(samples), tf.constant(centroids)
    rows = _lloyd.rows_per_chunk(centroids.shape[0], samples.itemsize, None)
    labels = _lloyd.labels_of(data, centroids, rows, _fused())
    return float(_lloyd.inertia_of(data, centroids, labels, rows, _fused()))


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


def _column_sums(samples, rows=65536):
    """Return the column sums in float64, a chunk of rows at a time (no copy of the data).

    einsum, not BLAS: OpenBLAS's threads spin for a while after a call, and on a small
    machine that takes a core from the k-means loop that follows (20-40% slower).
    """
    total = np.zeros(samples.shape[1])
    for start in range(0, len(samples), rows):
        total += np.einsum("ij->j", samples[start:start + rows])
    return total


def _squared_norms(samples, rows=65536):
    """Return each row's squared norm (float64), computed a chunk of rows at a time."""
    norms = np.empty(len(samples))
    for start in range(0, len(samples), rows):
        chunk = samples[start:start + rows]
        norms[start:start + rows] = np.einsum("ij,ij->i", chunk, chunk)
    return norms


# TensorFlow requires a tensor's memory to start on a 64-byte boundary (EIGEN_MAX_ALIGN_BYTES).
TENSOR_ALIGNMENT = 64


def _aligned_like(array):
    """Return an uninitialised C-contiguous array like ``array`` that starts on a TENSOR_ALIGNMENT boundary."""
    raw = np.empty(array.nbytes + TENSOR_ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % TENSOR_ALIGNMENT
    return raw[start:start + array.nbytes].view(array.dtype).reshape(array.shape)


def _tensor_over(array):
    """Return a tensor that shares ``array``'s memory, with no copy (``array`` from ``_aligned_like``).

    The tensor keeps the array alive; nothing may write to the array afterwards.
    """
    return tf.experimental.dlpack.from_dlpack(array.__dlpack__())


def _fused():
    """Whether Lloyd passes run in the fused C kernel (see ``compat/native``)."""
    return native.kernel() is not None


def _as_float_tensors(samples, centroids):
    samples = tf.convert_to_tensor(samples)
    return samples, tf.cast(centroids, samples.dtype)


def _run_once(data, initial, rows, max_iter, tol, mean, algorithm, norms, norm_bound):
    """Run one k-means from ``initial`` (centred coordinates) and return a KMeansResult."""
    initial, max_iter, tol = tf.constant(initial), tf.constant(max_iter), tf.constant(tol, tf.float64)
    arguments = (data, initial, rows, max_iter, tol)
    fused = _fused()
    if fused:
        bounds = {LLOYD: _lloyd.NO_BOUNDS, AUTO: _lloyd.BOUNDS_WHEN_SETTLED, HAMERLY: _lloyd.BOUNDS_FROM_START}
        centroids, labels, n_iter, converged = _lloyd.fused_loop(
            data, initial, max_iter, tol, norms, tf.constant(norm_bound, tf.float64), bounds=bounds[algorithm])
    elif algorithm == HAMERLY:
        centroids, labels, n_iter, converged = _lloyd.hamerly_loop(*arguments)
    else:
        centroids, labels, n_iter, converged = _lloyd.lloyd_loop(*arguments)
    total = _lloyd.inertia_of(data, centroids, labels, rows, fused)
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

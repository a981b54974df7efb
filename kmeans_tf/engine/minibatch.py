"""Mini-batch k-means (Sculley, "Web-scale k-means clustering", WWW 2010), as scikit-learn runs it.

``minibatch_kmeans`` seeds on a sample of rows, then makes steps (``minibatch_step``) on
batches drawn at random until a rule of scikit-learn's ``fit`` stops it: an exponentially
weighted average of the batches' inertia has not improved for ``max_no_improvement`` steps,
a step moved the centroids by a squared distance of at most ``tol`` (relative to the data's
variance), or ``max_iter`` passes' worth of steps are made. ``start`` seeds a run to feed
batches as they come (``MiniBatchKMeans.partial_fit``).
"""

import dataclasses
import warnings

import numpy as np

from kmeans_tf.engine import kmeans, prepare, progress, seeding, sparse, spherical, validation
from kmeans_tf.engine.minibatch_step import MiniBatchState, assign, coordinates, prepared_on
from kmeans_tf.engine.options import (
    COSINE,
    DEFAULT_INIT,
    DEFAULT_INIT_ROUNDS,
    DEFAULT_METRIC,
    MINIBATCH_BATCH_SIZE,
    MINIBATCH_MAX_ITER,
    MINIBATCH_MAX_NO_IMPROVEMENT,
    MINIBATCH_REASSIGNMENT_RATIO,
    MINIBATCH_TOL,
    CallableOrNone,
)

# Without init_size the seeding sees this many batches' rows (at least this many rows a cluster).
INIT_SIZE_BATCHES = 3


@dataclasses.dataclass(frozen=True)
class MiniBatchResult:
    """What ``minibatch_kmeans`` found (``KMeansResult``'s fields, and the steps and state).

    Attributes
    ----------
    centroids : array of shape (n_clusters, n_features), the input's dtype
    labels : int64 array of shape (n_samples,), or None without ``compute_labels``
    inertia : float, the (weighted) inertia of all samples; without ``compute_labels``, the
        batches' averaged inertia per unit of weight times the total weight (scikit-learn's estimate)
    n_iter : int, passes over the data that the steps add up to (rounded up)
    n_steps : int, batches used
    converged : bool, whether a stopping rule ended the run before ``max_iter`` passes
    state : MiniBatchState, to go on with more batches
    init_size : int, the rows each seeding saw (and the held-out rows that judged the seedings)
    """

    centroids: np.ndarray
    labels: np.ndarray | None
    inertia: float
    n_iter: int
    n_steps: int
    converged: bool
    state: MiniBatchState
    init_size: int


def minibatch_kmeans(
    samples, n_clusters, *, metric=DEFAULT_METRIC, batch_size=MINIBATCH_BATCH_SIZE, init=DEFAULT_INIT, n_init=1,
    max_iter=MINIBATCH_MAX_ITER, tol=MINIBATCH_TOL, max_no_improvement=MINIBATCH_MAX_NO_IMPROVEMENT, init_size=None,
    reassignment_ratio=MINIBATCH_REASSIGNMENT_RATIO, compute_labels=True, seed=None, sample_weight=None,
    init_rounds=DEFAULT_INIT_ROUNDS, verbose=False, callback=None, log_dir=None,
):  # fmt: skip
    """Cluster ``samples`` into ``n_clusters`` groups with mini-batch k-means, as ``MiniBatchKMeans.fit`` does.

    Parameters
    ----------
    samples : array of shape (n_samples, n_features), float32 or float64
    n_clusters : int, 1 <= n_clusters <= n_samples
    metric : {"euclidean", "cosine"}, default="euclidean"
        "cosine": spherical mini-batch k-means, rows compared by direction (``kmeans``'s
        ``metric``): each centroid is scaled back to unit length after each update.
    batch_size : int >= 1, default=1024
        Rows per step (at most n_samples), drawn with replacement: in proportion to
        ``sample_weight`` when given, then each counted once.
    init : {"k-means++", "random", "k-means||"}, callable or array (n_clusters, n_features), default="k-means++"
        A strategy runs on ``init_size`` rows drawn at random (``kmeans_tf.engine.seeding``); a
        callable is called as ``init(rows, n_clusters, random_state)`` on them.
    n_init : int >= 1, default=1
        Initialisations tried; the one of lowest inertia on ``init_size`` rows drawn once wins.
        Must be 1 with an array.
    max_iter : int >= 1, default=100
        Passes over the data at the most: ``max_iter * n_samples // batch_size`` steps.
    tol : float >= 0, default=0.0
        Stop when a step moves the centroids by a total squared distance of at most ``tol``
        times the mean per-feature variance of the samples. 0: never.
    max_no_improvement : int >= 0 or None, default=10
        Stop after this many steps without a new lowest average inertia. None: never.
    init_size : int >= 1 or None, default=None
        Rows the seeding sees; None: ``3 * batch_size`` (at least ``3 * n_clusters``).
    reassignment_ratio : float >= 0, default=0.01
        Clusters whose count falls below this fraction of the largest are moved to random rows.
    compute_labels : bool, default=True
        Label every sample with the final centroids, and measure their inertia exactly.
    seed : int in [0, 2**32 - 1] or None
    sample_weight : array of shape (n_samples,), finite and >= 0, not all 0, or None
    init_rounds : int >= 1, default=2
        The sampling rounds of ``init="k-means||"``.
    verbose : bool, default=False
        Print each step's inertia, as scikit-learn does.
    callback : callable or None, default=None
        Called as ``callback(state)`` after each step, with a ``kmeans_tf.engine.progress.IterationState``
        whose ``iteration`` is the step (from 0), ``inertia`` the batch's before the step moved the
        centroids, ``changed`` None, and ``sizes`` the weight each centroid has had so far. Returning
        False stops the run after that step (``converged`` as the stopping rules found it there); the
        labels and inertia are then measured for the centroids returned, as ``compute_labels`` says.
    log_dir : str or path-like or None, default=None
        Write each step's numbers for TensorBoard in this folder (``kmeans``'s ``log_dir``: its
        subfolder ``run-0``, and the centroids for the Embedding Projector).

    Returns
    -------
    MiniBatchResult
    """
    samples, column_sums = _checked(samples)
    unit = validation.check_metric(metric) == COSINE
    if unit:
        _check_directions(samples)
    n_samples = samples.shape[0]
    n_init = validation.check_int("n_init", n_init, 1)
    n_clusters, batch_size, init, init_size, weights, init_rounds = check_seeding(
        samples, n_clusters, batch_size, init, init_size, n_init, sample_weight, init_rounds
    )
    sample_weight = None if sample_weight is None else weights
    max_iter = validation.check_max_iter(max_iter)
    tol = validation.check_float("tol", tol, minimum=0)
    reassignment_ratio = check_reassignment_ratio(reassignment_ratio)
    if max_no_improvement is not None:
        max_no_improvement = validation.check_int("max_no_improvement", max_no_improvement, 0)
    compute_labels = validation.check_flag("compute_labels", compute_labels)
    rng = np.random.RandomState(validation.check_seed(seed))
    callback = CallableOrNone("callback(state)").check("callback", callback)
    watch = progress.watch(callback, log_dir)

    held_out = rng.randint(0, n_samples, init_size)  # scikit-learn's validation rows, to judge the inits by
    prepared = prepared_on(samples[held_out], unit)
    held_out_rows, held_out_weights = coordinates(samples[held_out], prepared), weights[held_out]
    best = None
    for run in range(n_init):
        initial = initial_centroids(samples, weights, n_clusters, init, rng, init_size, prepared, init_rounds)
        inertia = assign(held_out_rows, initial.astype(samples.dtype), held_out_weights)[3]
        if verbose:
            print(f"Inertia for init {run + 1}/{n_init}: {prepared.unscaled_inertia(inertia)}")
        if best is None or inertia < best[0]:
            best = (inertia, initial)
    state = MiniBatchState(best[1], np.zeros(n_clusters), prepared)

    n_steps = max_iter * n_samples // batch_size
    variance = variance_mean(samples, column_sums, unit)
    scaled_tol = 0.0 if tol == 0 else float(np.ldexp(variance * tol, 2 * prepared.exponent))
    stopping = Stopping(batch_size, n_samples, scaled_tol, max_no_improvement, verbose)
    # Rows drawn in proportion to their weight, then counted once each, as scikit-learn 1.9 does.
    cumulative = None if sample_weight is None or np.all(weights == weights[0]) else np.cumsum(weights)
    converged, step, goes_on = False, 0, True
    report = None if watch is None else watch.start(0)
    try:
        while step < n_steps and not converged and goes_on:
            if cumulative is None:
                rows = rng.randint(0, n_samples, batch_size)
            else:
                rows = np.minimum(
                    np.searchsorted(cumulative, rng.random_sample(batch_size) * cumulative[-1], side="right"),
                    n_samples - 1,
                )
            batch = coordinates(samples[rows], prepared)
            inertia, shift = state.step(batch, None, rng, reassignment_ratio=reassignment_ratio, verbose=verbose)
            batch_inertia = prepared.unscaled_inertia(inertia)
            converged = stopping(step, n_steps, shift, batch_inertia)
            if report is not None:
                squared_shift, squared_tol = prepared.unscaled_squared([shift, scaled_tol])
                goes_on = report(step, batch_inertia, None, squared_shift, state.counts, converged, squared_tol)
            step += 1
    finally:
        if watch is not None:
            watch.close()

    centroids = state.centroids_as(samples.dtype)
    if compute_labels:
        labels = kmeans.predict(samples, centroids, metric=metric)
        inertia = kmeans.inertia(samples, centroids, metric=metric, sample_weight=sample_weight)
    else:
        labels, inertia = None, stopping.average * float(weights.sum())
    result = MiniBatchResult(
        centroids,
        labels,
        inertia,
        n_iter=-(-step * batch_size // n_samples),
        n_steps=step,
        converged=converged,
        state=state,
        init_size=init_size,
    )
    if watch is not None:
        watch.finish(0, result)
    return result


class Stopping:
    """scikit-learn's ``_mini_batch_convergence``: the stopping rules, fed one step at a time.

    ``average`` is the exponentially weighted average of the batches' inertia per row (the
    first step's alone until a second one comes).
    """

    def __init__(self, batch_size, n_samples, tol, max_no_improvement, verbose=False):
        self.batch_size, self.tol, self.max_no_improvement, self.verbose = batch_size, tol, max_no_improvement, verbose
        self.alpha = min(batch_size * 2.0 / (n_samples + 1), 1.0)
        self.average = self.lowest = None
        self.no_improvement = 0

    def __call__(self, step, n_steps, shift, batch_inertia):
        """Whether to stop after ``step`` (from 0), which moved the centroids by ``shift``, of ``batch_inertia``."""
        batch_inertia /= self.batch_size
        step += 1
        if step == 1:  # the inertia of the initial centroids: not yet a trend
            self.average = batch_inertia
            self._report(f"Minibatch step {step}/{n_steps}: mean batch inertia: {batch_inertia}")
            return False
        self.average = batch_inertia if step == 2 else self.average * (1 - self.alpha) + batch_inertia * self.alpha
        self._report(
            f"Minibatch step {step}/{n_steps}: mean batch inertia: {batch_inertia}, ewa inertia: {self.average}"
        )
        if self.tol > 0 and shift <= self.tol:
            self._report(f"Converged (small centers change) at step {step}/{n_steps}")
            return True
        if self.lowest is None or self.average < self.lowest:
            self.no_improvement, self.lowest = 0, self.average
        else:
            self.no_improvement += 1
        if self.max_no_improvement is not None and self.no_improvement >= self.max_no_improvement:
            self._report(f"Converged (lack of improvement in inertia) at step {step}/{n_steps}")
            return True
        return False

    def _report(self, message):
        if self.verbose:
            print(message)


def start(
    samples,
    n_clusters,
    *,
    rng,
    metric=DEFAULT_METRIC,
    batch_size=MINIBATCH_BATCH_SIZE,
    init=DEFAULT_INIT,
    init_size=None,
    sample_weight=None,
    init_rounds=DEFAULT_INIT_ROUNDS,
):
    """A run to feed batches as they come (``MiniBatchState.step``): coordinates and centroids from ``samples``.

    The parameters are ``minibatch_kmeans``'s; ``rng`` is a ``numpy.random.RandomState``.
    Seeding sees ``init_size`` rows drawn from ``samples`` (by default three times
    ``min(batch_size, n_samples)``, at least ``3 * n_clusters``).
    """
    samples, _ = _checked(samples)
    unit = validation.check_metric(metric) == COSINE
    if unit:
        _check_directions(samples)
    n_clusters, _, init, init_size, weights, init_rounds = check_seeding(
        samples, n_clusters, batch_size, init, init_size, 1, sample_weight, init_rounds
    )
    prepared = prepared_on(samples, unit)
    initial = initial_centroids(samples, weights, n_clusters, init, rng, init_size, prepared, init_rounds)
    return MiniBatchState(initial, np.zeros(n_clusters), prepared)


def check_seeding(samples, n_clusters, batch_size, init, init_size, n_init, sample_weight, init_rounds):
    """The door checks of what seeding reads (``n_init`` checked); the weights come back as float64 (ones for None)."""
    n_samples, n_features = samples.shape
    n_clusters = validation.check_n_clusters(n_clusters, n_samples)
    batch_size = min(validation.check_int("batch_size", batch_size, 1), n_samples)
    init_size = check_init_size(init_size, n_clusters, batch_size, n_samples)
    if not callable(init):
        init = validation.check_init(init, n_clusters, n_features, samples.dtype, n_init)
    sample_weight = validation.check_sample_weight(sample_weight, n_samples)
    weights = np.ones(n_samples) if sample_weight is None else sample_weight
    return n_clusters, batch_size, init, init_size, weights, validation.check_int("init_rounds", init_rounds, 1)


def check_reassignment_ratio(ratio):
    return validation.check_float("reassignment_ratio", ratio, minimum=0)


def initial_centroids(samples, weights, n_clusters, init, rng, init_size, prepared, init_rounds):
    """Seed on ``init_size`` rows drawn with replacement (all of them when there are no more), as scikit-learn does.

    Returns float64 centroids in ``prepared``'s coordinates. ``weights`` (float64, one per
    sample) weigh the seeding's draws unless the drawn rows' weights are all 0.
    """
    if init_size < samples.shape[0]:
        drawn = rng.randint(0, samples.shape[0], init_size)
        samples, weights = samples[drawn], weights[drawn]
    if isinstance(init, np.ndarray):
        return coordinates(init, prepared, "init").astype(np.float64)
    if callable(init):
        initial = validation.check_centroids(
            init(samples, n_clusters, rng), n_clusters, samples.shape[1], samples.dtype, name="the centroids of init"
        )
        return coordinates(initial, prepared, "the centroids of init").astype(np.float64)
    weighted = weights if weights.sum() > 0 and not np.all(weights == weights[0]) else None
    if init == seeding.RANDOM_INIT:
        validation.check_weights_for_init(weighted, n_clusters, init)
    rows = coordinates(samples, prepared)
    return seeding.initial_centroids(rows, n_clusters, init, rng, weighted, init_rounds).astype(np.float64)


def _checked(samples):
    """The door's check of the samples (an array, or sparse rows as canonical CSR), and their column sums."""
    if sparse.is_sparse(samples):
        rows = sparse.check(samples)
        return rows, sparse.column_sums(rows)
    return validation.check_samples_and_sum(samples)


def _check_directions(samples):
    """ValueError naming the first row of zeros of ``samples``: with ``metric="cosine"`` a row needs a direction."""
    if sparse.is_sparse(samples):
        sparse.prepared(samples, unit=True)
    else:
        spherical.check_directions(samples, "samples")


def variance_mean(samples, column_sums, unit=False):
    """The mean per-feature variance of ``samples`` (unweighted, as scikit-learn's ``_tolerance``), by chunks; with
    ``unit``, of the rows scaled to unit length (no row of zeros)."""
    if sparse.is_sparse(samples):
        seen = sparse.prepared(samples, unit=unit)
        return float(seen.unscaled_squared(seen.spread)) / (samples.shape[0] * samples.shape[1])
    blocks = [samples[start : start + prepare.CHUNK_ROWS] for start in range(0, len(samples), prepare.CHUNK_ROWS)]
    if unit:
        blocks = [spherical.unit_copy(block, "samples") for block in blocks]
        column_sums = sum(prepare.column_sums(block) for block in blocks)
    mean = column_sums / len(samples)
    return sum(float(prepare.squared_norms(block - mean).sum()) for block in blocks) / samples.size


def check_init_size(init_size, n_clusters, batch_size, n_samples):
    """scikit-learn's rule: ``3 * batch_size`` rows by default, at least ``3 * n_clusters``, at most ``n_samples``.

    A given ``init_size`` below ``n_clusters`` becomes ``3 * n_clusters``, with scikit-learn's RuntimeWarning.
    """
    if init_size is None:
        init_size = INIT_SIZE_BATCHES * batch_size
        if init_size < n_clusters:
            init_size = INIT_SIZE_BATCHES * n_clusters
    elif validation.check_int("init_size", init_size, 1) < n_clusters:
        warnings.warn(
            f"init_size={init_size} should be larger than n_clusters={n_clusters}. Setting it to "
            f"min(3*n_clusters, n_samples)",
            RuntimeWarning,
            stacklevel=3,
        )
        init_size = INIT_SIZE_BATCHES * n_clusters
    return min(init_size, n_samples)

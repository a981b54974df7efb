"""k-means over data on disk: ``kmeans``, ``predict`` and ``inertia`` when the samples are streamed.

``kmeans_tf.engine.kmeans`` hands its samples here when they are a NumPy memory map
(``np.load(path, mmap_mode="r")``), ``sources.Shards`` (a folder of ``.npy`` files) or a
``tf.data.Dataset`` (``datasets.DatasetRows``: each pass iterates it again). The
answer is the one the array in memory gives from the same initial centroids: the same
labels and iterations, centroids and inertia equal up to the order of float64 sums.

What the stream does: each Lloyd iteration is one sequential read of the data, a chunk at a
time (``sources.chunks``: read ahead by a thread, centred into a reused buffer as
``prepare`` centres the whole array); each chunk is measured against the centroids, by the
fused C kernel or TensorFlow's ops, with its old labels, and the float64 sums and counts of
the labels that changed update the running cluster sums; then the M-step as in memory,
with scikit-learn's stopping rule. An empty cluster takes the farthest samples, found by
one more pass (only when a cluster is empty). The final labels and the inertia take one
pass; preparing the data takes two before the first iteration (the door's finiteness check
with the column sums, then the centred norms).

What it does not: no centred copy, nothing the size of the data in memory; and no Hamerly
bounds, which would hold 16 more bytes per row: every pass measures every row (the
``algorithm`` option is checked and otherwise has no effect here). The labels are held in
memory (int64) when they fit the memory budget beside two chunks; otherwise in a scratch
file (int32), an unlinked ``tempfile.TemporaryFile`` in the temporary folder that nothing
outlives, and the result's ``labels`` are then a read-only memory map of it.

Seeding: an ``init`` array as given; "random" picks distinct rows by index, read from the
disk (the same rows as in memory up to ``SEEDING_SAMPLE_ROWS`` rows; past that, drawn
without a permutation of every row, or in proportion to the weights); "k-means++" and
"k-means||" run on every row up to ``SEEDING_SAMPLE_ROWS`` rows (the same centroids as in
memory). Past that, "k-means||" still runs on every row, a few passes over the disk
(``seeding.kmeans_parallel`` over the ``Passes``, the function that seeds in memory);
"k-means++" runs on a seeded uniform sample of ``SEEDING_SAMPLE_ROWS`` distinct rows, held in
memory while it runs: one read of those rows, since on the disk it would take a pass per centroid.

Sample weights (an array in memory or a memory map, one per row) are read a chunk at a time
beside the samples and weigh the sums, the inertia, the relocation and the seeding as in memory.
"""

import functools

import numpy as np

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import kernels, lloyd, loops, m_step, prepare, progress, seeding, spherical, validation
from kmeans_tf.engine.options import COSINE, KMEANS_PARALLEL_INIT, RANDOM_INIT
from kmeans_tf.engine.result import best_of_runs, given_start
from kmeans_tf.stream import budget, datasets, sources
from kmeans_tf.stream import checkpoint as checkpoints
from kmeans_tf.stream import prepare as stream_prepare
from kmeans_tf.stream.passes import Passes, transformed_rows

# k-means++ on more rows than this runs on a seeded uniform sample of this many rows; k-means|| streams them.
SEEDING_SAMPLE_ROWS = 100_000


def is_streamed(samples):
    """Whether ``samples`` are read a chunk at a time: a memory map, ``Shards``, or a ``tf.data.Dataset``."""
    return sources.is_streamed(samples) or datasets.is_dataset(samples)


def open_source(samples):
    """The checked source of streamed ``samples``: ``datasets.DatasetSource`` for a dataset, else ``sources.Source``."""
    return datasets.DatasetSource(samples) if datasets.is_dataset(samples) else sources.Source(samples)


def budget_bytes(memory_budget):
    """The budget in bytes: ``memory_budget`` (checked), or about a quarter of physical memory when None."""
    return budget.default_memory_budget() if memory_budget is None else memory_budget


def kmeans(samples, n_clusters, sample_weight, options):
    """``kmeans_tf.engine.kmeans.kmeans`` on streamed samples (the module's docstring), with checked ``FitOptions``."""
    source = open_source(samples)
    options = validation.check_lloyd_options(
        n_clusters, source.n_rows, source.n_features, source.dtype, options, sample_weight
    )
    n_clusters, init, n_init, max_iter, tol, seed = (
        options.n_clusters,
        options.init,
        options.n_init,
        options.max_iter,
        options.tol,
        options.seed,
    )
    keep_history, init_rounds, weights = options.keep_history, options.init_rounds, options.weights
    batch_size, watch = options.batch_size, progress.watch(options.callback, options.log_dir)
    directory, every = validation.check_checkpoint(options), options.checkpoint_every
    plan = budget.plan(source.n_rows, source.row_bytes, budget_bytes(options.memory_budget), min(n_init, 2))

    buffers = sources.chunk_buffers(source, plan.chunk_rows)  # every pass reads into these
    prepared = stream_prepare.prepare_stream(source, plan.chunk_rows, buffers, unit=options.metric == COSINE)
    saved = checkpoints.make(
        directory,
        every,
        True,
        prepared,
        source.n_rows,
        n_clusters,
        source.n_features,
        source.dtype,
        init,
        max_iter,
        tol,
        seed,
        weights is not None,
    )
    # tol is relative to the mean per-feature variance, as in scikit-learn.
    scaled_tol = m_step.tolerance(tol, prepared.norm_sum, source.n_rows * source.n_features)
    passes = Passes(source, prepared, plan, n_clusters, batch_size, weights, buffers)

    def seeded(run_seed):
        run_rng = np.random.RandomState(run_seed)
        if init == KMEANS_PARALLEL_INIT and source.n_rows > SEEDING_SAMPLE_ROWS:
            return seeding.kmeans_parallel(passes, n_clusters, run_rng, init_rounds)
        return initial_centroids(source, prepared, n_clusters, init, run_rng, weights, init_rounds)

    def run(initial, report):
        return lloyd.run(passes, initial, max_iter, scaled_tol, keep_history, saved, options.keep_iterations, report)

    if not isinstance(init, str):
        seeded = functools.partial(given_start, prepared.prepared().transformed(init))
    return best_of_runs(n_init, seed, seeded, run, watch)


def initial_centroids(source, prepared, n_clusters, init, rng, weights, rounds):
    """Choose initial centroids (in the loops' coordinates) among the streamed rows, as the docstring says."""
    n_rows = source.n_rows
    if init == RANDOM_INIT and (n_rows <= SEEDING_SAMPLE_ROWS or weights is not None):
        # the rows seeding.initial_centroids picks, read alone
        probabilities = None if weights is None else weights / weights.sum()
        return transformed_rows(source, prepared, rng.choice(n_rows, n_clusters, replace=False, p=probabilities))
    if init == RANDOM_INIT:
        return transformed_rows(source, prepared, distinct_rows(n_rows, n_clusters, rng))
    rows = np.arange(n_rows) if n_rows <= SEEDING_SAMPLE_ROWS else distinct_rows(n_rows, SEEDING_SAMPLE_ROWS, rng)
    sample_weights = None if weights is None else weights[rows]
    if sample_weights is not None and not sample_weights.any():  # the sample missed every weighted row
        rows = np.flatnonzero(weights)[:SEEDING_SAMPLE_ROWS]
        sample_weights = weights[rows]
    return seeding.initial_centroids(
        transformed_rows(source, prepared, rows), n_clusters, init, rng, sample_weights, rounds
    )


def distinct_rows(n_rows, count, rng):
    """Return ``count`` distinct row indices in [0, n_rows), drawn uniformly, sorted (no permutation of every row)."""
    chosen = np.unique(rng.randint(n_rows, size=count))
    while len(chosen) < count:
        chosen = np.unique(np.concatenate([chosen, rng.randint(n_rows, size=count - len(chosen))]))
    return chosen


def predict(samples, centroids, *, metric, batch_size, memory_budget):
    """``kmeans_tf.engine.kmeans.predict`` on streamed samples: labels a chunk at a time (int64, or int32 scratch)."""
    source, centroids_t, plan, transform, _, kernel = _for_centroids(
        samples, centroids, metric, batch_size, memory_budget
    )
    labels = sources.new_labels(source.n_rows, plan.labels_in_memory)
    for span, chunk in sources.chunks(source, plan.chunk_rows, transform):
        # the sums come with the labels: not finite, a row changed since the door found it finite
        new, sums, *_ = kernel.nearest_centroid_sums(prepare.tensor_over(chunk), centroids_t)
        if not np.isfinite(sums.numpy()).all():
            raise source.changed(span, chunk)
        labels[span.start : span.start + span.rows] = new.numpy()
    if isinstance(labels, np.memmap):
        labels.flags.writeable = False
    return labels


def inertia(samples, centroids, *, metric, sample_weight=None, memory_budget=None):
    """``kmeans_tf.engine.kmeans.inertia`` on streamed samples: one pass for the scale, one for the distances.

    Data scaled down (``prepare.Prepared.shrunk``) are labelled scaled, their distances measured on the rows as read.
    """
    source, centroids_t, plan, transform, coordinates, kernel = _for_centroids(
        samples, centroids, metric, None, memory_budget
    )
    weights = validation.check_sample_weight(sample_weight, source.n_rows)
    total = 0.0
    if coordinates.shrunk:
        centroids = coordinates.unscaled(centroids_t.numpy(), source.dtype)
        scaled = sources.aligned_empty(plan.chunk_rows, source.n_features, source.dtype)
    for span, rows in sources.chunks(source, plan.chunk_rows, None if coordinates.shrunk else transform):
        chunk = rows
        if coordinates.shrunk:
            chunk = scaled[: span.rows]
            transform(rows, chunk)
        chunk_t, chunk_weights = prepare.tensor_over(chunk), _weights_at(weights, span)
        labels = loops.labels_of(chunk_t, centroids_t, kernel)
        if coordinates.shrunk:
            inertia = prepare.exact_inertia(rows, centroids, labels.numpy(), chunk_weights)
        else:
            weights_t = None if chunk_weights is None else tf.constant(chunk_weights)
            inertia = float(loops.inertia_of(chunk_t, centroids_t, labels, kernel, weights_t))
        if not np.isfinite(inertia) and not np.isfinite(rows).all():  # a row changed since the door found it finite
            raise source.changed(span, rows)
        total += inertia
    return prepare.inertia_in_range(total) if coordinates.shrunk else coordinates.unscaled_inertia(total)


def _weights_at(weights, span):
    return None if weights is None else weights[span.start : span.start + span.rows]


def _for_centroids(samples, centroids, metric, batch_size, memory_budget):
    """The door of ``predict`` and ``inertia``: the source; the centroids as a tensor in the coordinates the kernel
    measures in; the plan; the transform of each chunk into those coordinates, and the coordinates
    (``prepare.Prepared``); the kernel. One pass over the rows checks them (finite; with ``metric="cosine"``, no row
    of zeros) and finds the scale."""
    source = open_source(samples)
    centroids = validation.check_centroids(centroids, None, source.n_features, source.dtype)
    batch_size = validation.check_batch_size(batch_size)
    memory_budget = validation.check_memory_budget(memory_budget)
    plan = budget.plan(source.n_rows, source.row_bytes, budget_bytes(memory_budget))
    if metric == COSINE:
        stream_prepare.SourcePasses(source, plan.chunk_rows).direction_sums()
        coordinates = prepare.Prepared(None, None, 0.0, 0, unit=True)
        centroids_t = tf.constant(spherical.unit_copy(centroids, "centroids"))
        return source, centroids_t, plan, spherical.unit_rows, coordinates, kernels.kernel(batch_size)
    exponent = stream_prepare.predict_exponent(source, plan.chunk_rows, centroids)
    coordinates = prepare.Prepared(None, None, 0.0, exponent)
    centroids_t = tf.constant(np.ldexp(centroids, exponent))
    return source, centroids_t, plan, _scaled(exponent), coordinates, kernels.kernel(batch_size)


def _scaled(exponent):
    """The transform of a chunk that scales it by ``2**exponent``."""
    return lambda rows, out: np.ldexp(rows, exponent, out=out)

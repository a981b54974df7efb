"""k-means on several workers: ``kmeans(..., strategy=...)`` with TensorFlow's ``tf.distribute``.

Each worker process holds its own rows (an array, a memory map or ``Shards``) and calls
``kmeans`` with the same options and a ``tf.distribute.MultiWorkerMirroredStrategy``; with a
``tf.distribute.MirroredStrategy`` over several local devices, one process splits its rows
into as many contiguous ranges as the strategy has replicas. The rows of replica 0, then
replica 1, ... make the data set: global row ``i`` is the ``i``-th of that order.

Every replica makes the streamed passes of ``compat.engine.streaming`` over its own rows
(the fused C kernel or TensorFlow's ops), and the strategy's collectives join them:

- before the loop, an all-gather of the replicas' row counts, one SUM all-reduce of the
  column sums (the global mean: every worker centres as one process would), and an
  all-gather of the centred rows' largest and summed squared norms (the range check and
  ``tol``);
- each Lloyd iteration, one SUM all-reduce of ``k * d + 2 * k + 1`` float64 numbers: the
  changes to the clusters' sums, weights and members, and how many labels changed; then
  ``streaming.m_step`` on every worker, on the same numbers, so every worker holds the same
  centroids, iteration count and stopping decision;
- an empty cluster: each replica proposes its farthest rows (distance, global row, weight,
  old label, values), all-gathered; every worker takes the farthest, ties to the lower
  global row: the choice one process makes;
- the final labels are each worker's own; the inertia is one more all-reduce.

Seeding: an ``init`` array as given. "random", "k-means++" and "k-means||" run on every
worker on the same candidates: each replica contributes all its rows when the data set has
at most ``streaming.SEEDING_SAMPLE_ROWS`` rows (then the initial centroids are those of one
process, as far as the centring's rounding allows), else a seeded uniform sample of its rows in
proportion to its share of the data set; the candidates are all-gathered in replica order,
and the seeding runs on them with the same seeded generator everywhere.

Equality with one process (``compat.engine.streaming`` on all the rows, same initial
centroids): the same labels and iterations, the centroids and inertia equal to float64
rounding (the per-replica sums are added in another order; within 1e-12 relative in the
tests). Bit for bit equal when there are two replicas and each replica's rows are one chunk of
the single process's stream and one block of ``prepare.CHUNK_ROWS`` rows.

Data whose squared distances need scaling by a power of two (cells near the dtype's
limits) are refused with a strategy.
"""
import functools
import math
import types

import numpy as np

from compat._tensorflow import tf
from compat.engine import checkpoint as checkpoints
from compat.engine import budget, prepare, seeding, sources, stream_passes, streaming, validation
from compat.engine.stream_prepare import StreamPrepared, _cell, _centre, _check_finite, _column_sums, _norms


class Replicas:
    """The strategy's replicas in this process, and the collectives that join them with every other replica."""

    def __init__(self, strategy):
        extended = getattr(strategy, "extended", None)
        if not isinstance(strategy, tf.distribute.Strategy) or not hasattr(extended, "worker_devices"):
            raise ValueError(f"strategy should be a tf.distribute.MirroredStrategy or MultiWorkerMirroredStrategy, "
                             f"got {strategy!r}")
        self.strategy = strategy
        self.local = len(extended.worker_devices)
        resolver = getattr(strategy, "cluster_resolver", None)
        task = getattr(resolver, "task_id", None) if resolver is not None else None
        self.first = (task or 0) * self.local  # the global index of this process's first replica
        self.total = strategy.num_replicas_in_sync

    def _values(self, per_replica):
        arrays = [np.ascontiguousarray(value) for value in per_replica]
        return self.strategy.experimental_distribute_values_from_function(
            lambda context: tf.constant(arrays[context.replica_id_in_sync_group - self.first]))

    def sum(self, per_replica):
        """All-reduce one float64 array per local replica; every replica gets the same sum."""
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, self._values(per_replica), axis=None).numpy()

    def gather(self, per_replica):
        """All-gather one 2-D array per local replica (rows may differ), stacked in replica order."""
        return self.strategy.gather(self._values(per_replica), axis=0).numpy()


def split(samples, parts, name="samples"):
    """Return ``parts`` streamed ``Source``s over contiguous ranges of ``samples``' rows, and their first rows."""
    source = sources.Source(samples, name)
    starts = [source.n_rows * part // parts for part in range(parts + 1)]
    if any(stop <= start for start, stop in zip(starts, starts[1:])):
        raise ValueError(f"{source.name} has {source.n_rows} rows, fewer than the {parts} replicas on this worker; "
                         f"give each replica at least one row")
    if parts == 1:
        return [source], starts
    return [sources.Source(row_range(samples, start, stop), name) for start, stop in zip(starts, starts[1:])], starts


def row_range(samples, start, stop):
    """Rows ``start`` to ``stop`` of an array (a view) or of ``Shards`` (``Shards`` of views), as the same kind."""
    if not isinstance(samples, sources.Shards):
        return samples[start:stop]
    firsts = np.cumsum([0] + [len(array) for array in samples.arrays])
    arrays = [array[max(start - first, 0):stop - first] for array, first in zip(samples.arrays, firsts)
              if first < stop and first + len(array) > start]
    return sources.Shards(arrays, columns=samples.columns, name=samples.name)


class DistributedPasses:
    """``streaming.Passes`` of every local replica joined by the strategy: what ``streaming.run_once`` asks of them."""

    def __init__(self, replicas, parts, starts, prepared, plan, n_clusters, batch_size, weights, offsets, buffers):
        self.replicas, self.prepared, self.plan = replicas, prepared, plan
        self.source = types.SimpleNamespace(n_rows=starts[-1])  # the local rows, labelled by streaming.run_once
        self.starts, self.offsets = starts, offsets  # local first rows; global first rows of the local replicas
        # The parts' passes run one at a time, into the same chunk buffers.
        self.parts = [stream_passes.Passes(part, prepared, plan, n_clusters, batch_size,
                                           None if weights is None else weights[start:stop], buffers)
                      for part, start, stop in zip(parts, starts, starts[1:])]

    def _labels(self, labels, index):
        return labels[self.starts[index]:self.starts[index + 1]]

    def lloyd(self, centroids, labels):
        """``streaming.Passes.lloyd`` over every replica's rows: one all-reduce of the changes."""
        k, d = centroids.shape
        local = []
        for index, part in enumerate(self.parts):
            changed, sums, counts, members = part.lloyd(centroids, self._labels(labels, index))
            local.append(np.concatenate([sums.ravel(), counts, members, [changed]]))
        total = self.replicas.sum(local)
        return (int(round(total[-1])), total[:k * d].reshape(k, d), total[k * d:k * d + k],
                total[k * d + k:k * d + 2 * k])

    def final(self, centroids, labels):
        """``streaming.Passes.final`` over every replica's rows; the inertia all-reduced."""
        totals = [[part.final(centroids, self._labels(labels, index))] for index, part in enumerate(self.parts)]
        return float(self.replicas.sum(totals)[0])

    def relocate(self, sums, counts, members, centroids, labels):
        """``streaming.Passes.relocate`` over every replica: farthest rows all-gathered, the same choice everywhere."""
        empty = np.flatnonzero(members == 0)
        proposals = []
        for index, part in enumerate(self.parts):
            part_labels = self._labels(labels, index)
            distances, rows = part.farthest(centroids, part_labels, len(empty))
            weight = np.ones(len(rows)) if part.weights is None else np.asarray(part.weights[rows], np.float64)
            values = stream_passes.transformed_rows(part.source, self.prepared, rows).astype(np.float64)
            old = np.asarray(part_labels[rows], np.float64)
            proposals.append(np.column_stack([distances.astype(np.float64), self.offsets[index] + rows, weight, old,
                                              values]))
        gathered = self.replicas.gather(proposals)
        chosen = gathered[np.lexsort((gathered[:, 1], -gathered[:, 0]))[:len(empty)]]
        if chosen[0, 0] <= 0:  # every sample sits on its centroid
            return sums, counts, members
        return stream_passes.move_rows(sums, counts, members, empty, chosen[:, 4:], chosen[:, 2],
                                   chosen[:, 3].astype(np.int64))


def kmeans(samples, n_clusters, *, strategy, init, n_init, max_iter, tol, seed, batch_size, algorithm, callback,
           keep_history, init_rounds, sample_weight, memory_budget, checkpoint=None, checkpoint_every=10):
    """``compat.engine.kmeans.kmeans`` with a strategy (the module's docstring); ``samples``: this worker's rows."""
    replicas = Replicas(strategy)
    parts, starts = split(samples, replicas.local)
    dtype, n_features = parts[0].dtype, parts[0].n_features
    options = dict(
        n_init=validation.check_int("n_init", n_init, 1), max_iter=validation.check_max_iter(max_iter),
        tol=validation.check_float("tol", tol, minimum=0), seed=validation.check_seed(seed),
        batch_size=validation.check_batch_size(batch_size), algorithm=validation.check_algorithm(algorithm),
        callback=validation.check_callback(callback), keep_history=validation.check_flag("keep_history", keep_history),
        init_rounds=validation.check_int("init_rounds", init_rounds, 1),
        weights=validation.check_sample_weight(sample_weight, starts[-1]))
    # the replicas' row counts: the global first row of each, and the data set's size
    counts = replicas.gather([[[float(stop - start)]] for start, stop in zip(starts, starts[1:])])[:, 0]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n_rows = int(offsets[-1])
    n_clusters = validation.check_n_clusters(n_clusters, n_rows)
    init = validation.check_init(init, n_clusters, n_features, dtype, options["n_init"])
    directory, every = validation.check_checkpoint(checkpoint, checkpoint_every, options["n_init"],
                                                   options["keep_history"])
    plan = budget.plan(starts[-1], parts[0].row_bytes, streaming.check_memory_budget(memory_budget),
                       min(options["n_init"], 2))
    buffers = sources.chunk_buffers(parts[0], plan.chunk_rows)  # every pass of every part reads into these
    prepared = prepare_parts(replicas, parts, plan.chunk_rows, n_rows, buffers)
    scaled_tol = prepared.norm_sum / (n_rows * n_features) * options["tol"]
    saved = checkpoints.make(directory, every, replicas.first == 0, prepared, n_rows, n_clusters, n_features, dtype,
                             init, options["max_iter"], options["tol"], options["seed"], options["weights"] is not None)
    if saved is not None:
        saved.agree = functools.partial(agree_on_checkpoint, replicas, saved.path)
    passes = DistributedPasses(replicas, parts, starts, prepared, plan, n_clusters, options["batch_size"],
                               options["weights"], offsets[replicas.first:replicas.first + replicas.local], buffers)
    rng = np.random.RandomState(options["seed"])
    best = None
    for run in range(options["n_init"]):
        if isinstance(init, str):
            run_seed = rng.randint(np.iinfo(np.int32).max)
            initial = initial_centroids(passes, n_clusters, init, run_seed, n_rows, options["init_rounds"])
        else:
            initial = prepared.prepared().transformed(init)
        result = streaming.run_once(passes, initial, options["max_iter"], scaled_tol, options["keep_history"], saved)
        if options["callback"] is not None:
            options["callback"](run, result)
        if best is None or result.inertia < best.inertia:
            best = result
    return best


def agree_on_checkpoint(replicas, path, n_iter):
    """Check that every worker read the same iteration count from its checkpoint (0: none): one folder for all."""
    counts = replicas.gather([[[float(n_iter)]]] * replicas.local)[:, 0]
    if (counts != n_iter).any():
        raise ValueError(f"the workers read checkpoints of {sorted(set(counts.astype(int).tolist()))} iterations "
                         f"(0: none) from {path}; give every worker the same checkpoint folder (a shared one)")


def prepare_parts(replicas, parts, chunk_rows, n_rows, buffers):
    """``stream_prepare.prepare_stream`` over every replica's rows: the global mean, norms' sum and range check.

    ``buffers``: the chunks' buffers (``sources.chunk_buffers``), one part's pass at a time.
    """
    dtype = parts[0].dtype
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        sums = replicas.sum([_column_sums(part, 0)[0] for part in parts])
        if not np.isfinite(sums).all():
            for part in parts:
                _check_finite(part, chunk_rows, buffers)
            raise ValueError("the samples of another worker are not finite (NaN or infinity); that worker says where")
        mean = sums / n_rows
        centre = functools.partial(_centre, mean.astype(dtype))
        norms = replicas.gather([[_norms(part, chunk_rows, centre, buffers)] for part in parts])
    norm_max, norm_sum, largest = norms[:, 0].max(), math.fsum(norms[:, 1]), norms[:, 2].max()
    if not prepare.fits(_cell(largest, dtype), norm_max):
        raise ValueError("these samples need scaling by a power of two for their squared distances to fit their "
                         "dtype, which k-means with a strategy does not do; rescale the data and cluster again")
    return StreamPrepared(mean, 0, mean.astype(dtype), norm_sum)


def initial_centroids(passes, n_clusters, init, run_seed, n_rows, rounds):
    """Seed on candidates all-gathered from every replica (the module's docstring says which); the same everywhere."""
    run_rng = np.random.RandomState(run_seed)
    candidates = []
    for index, part in enumerate(passes.parts):
        rows_here = part.source.n_rows
        if n_rows <= streaming.SEEDING_SAMPLE_ROWS:
            rows = np.arange(rows_here)
        else:
            share = min(rows_here, math.ceil(streaming.SEEDING_SAMPLE_ROWS * rows_here / n_rows))
            part_rng = np.random.RandomState([run_seed, passes.replicas.first + index])
            rows = streaming.distinct_rows(rows_here, share, part_rng)
        weight = np.ones(len(rows)) if part.weights is None else np.asarray(part.weights[rows], np.float64)
        values = stream_passes.transformed_rows(part.source, passes.prepared, rows).astype(np.float64)
        candidates.append(np.column_stack([weight, values]))
    gathered = passes.replicas.gather(candidates)
    weights = None if passes.parts[0].weights is None else gathered[:, 0]
    if weights is not None and not weights.any():
        raise ValueError("the seeding's sample of rows holds no row of weight > 0; give an init array")
    dtype = passes.prepared.offset.dtype
    return seeding.initial_centroids(gathered[:, 1:].astype(dtype), n_clusters, init, run_rng, weights, rounds)

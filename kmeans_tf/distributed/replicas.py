"""k-means on several workers: ``kmeans(..., strategy=...)`` with TensorFlow's ``tf.distribute``.

Each worker process holds its own rows (an array, a memory map or ``Shards``) and calls
``kmeans`` with the same options and a ``tf.distribute.MultiWorkerMirroredStrategy``; with a
``tf.distribute.MirroredStrategy`` over several local devices, one process splits its rows
into as many contiguous ranges as the strategy has replicas. The rows of replica 0, then
replica 1, ... make the data set: global row ``i`` is the ``i``-th of that order.

Every replica makes the streamed passes of ``kmeans_tf.stream.streamed`` over its own rows
(the fused C kernel or TensorFlow's ops), and the strategy's collectives join them:

- before the loop, an all-gather of the replicas' row counts, weights > 0 and largest weights,
  one of their columns' largest magnitudes, one of their exact column sums (the global mean:
  every worker centres as one process would), and one of the centred rows' largest squared
  norms, exact sums of them and largest cells (the range check and ``tol``); for data that
  need scaling, the norms again over the scaled rows (``stream_prepare.prepare_with``
  decides, on these numbers, as for one process);
- each Lloyd iteration, one SUM all-reduce of ``3 * (k * d + k) + k + 1`` float64 numbers:
  the changes to the clusters' exact sums and weights (limbs, ``exact``: their addition is
  exact), to their members, and how many labels changed; then
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

Equality with one process (``kmeans_tf.stream.streamed`` on all the rows, same initial
centroids): the same labels, iterations and centroids, bit for bit (the sums are exact, in any
order); the inertia, a float64 sum, to its rounding.

Data whose squared distances need scaling by a power of two (cells near the dtype's
limits) are scaled as one process scales them (``stream_prepare``): the power of two comes
from the all-gathered largest cell, so it is the same on every worker and the same as one
process's, and the mean and the range check from all-gathered exact sums and norms.
"""

import functools
import math

import numpy as np

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import exact, lloyd, m_step, progress, seeding, validation
from kmeans_tf.engine.options import COSINE
from kmeans_tf.engine.result import best_of_runs, given_start
from kmeans_tf.stream import budget, datasets, sources
from kmeans_tf.stream import checkpoint as checkpoints
from kmeans_tf.stream import passes as stream_passes
from kmeans_tf.stream import prepare as stream_prepare
from kmeans_tf.stream import streamed as streaming


class Replicas:
    """The strategy's replicas in this process, and the collectives that join them with every other replica."""

    def __init__(self, strategy):
        extended = getattr(strategy, "extended", None)
        if not isinstance(strategy, tf.distribute.Strategy) or not hasattr(extended, "worker_devices"):
            raise ValueError(
                f"strategy should be a tf.distribute.MirroredStrategy or MultiWorkerMirroredStrategy, got {strategy!r}"
            )
        self.strategy = strategy
        self.local = len(extended.worker_devices)
        self.first = first_replica(strategy)  # the global index of this process's first replica
        self.total = strategy.num_replicas_in_sync

    def sum(self, per_replica):
        """All-reduce one float64 array per local replica (one shape); every replica gets the same sum."""
        arrays = [np.asarray(value, np.float64) for value in per_replica]
        stacked = tf.constant(np.stack([array.ravel() for array in arrays]))
        return self._all_reduce(stacked).numpy().reshape(arrays[0].shape)

    @functools.cached_property
    def _all_reduce(self):
        """The SUM all-reduce of one float64 vector per local replica (rows of a matrix), as a traced function.

        Traced once, its collective keeps its instance: each call is the exchange alone, without
        the set-up that an eager ``strategy.reduce`` pays at every call (a few ms over gRPC).
        """
        strategy, devices, first = self.strategy, self.strategy.extended.worker_devices, self.first

        def replica_sum(stacked):
            context = tf.distribute.get_replica_context()
            local = int(tf.get_static_value(context.replica_id_in_sync_group)) - first
            with tf.device(devices[local]):  # the collective runs on the device of its input
                mine = stacked[local]
            return context.all_reduce(tf.distribute.ReduceOp.SUM, mine)

        @tf.function(input_signature=[tf.TensorSpec([len(devices), None], tf.float64)], autograph=False)
        def all_reduce(stacked):
            return strategy.experimental_local_results(strategy.run(replica_sum, args=(stacked,)))[0]

        return all_reduce

    def gather(self, per_replica):
        """All-gather one 2-D float64 array per local replica (rows may differ), stacked in replica order.

        Two all-reduces: of the replicas' row counts, then of a matrix that each replica fills
        at its own rows with zeros elsewhere (adding zeros is exact; a -0.0 comes back 0.0).
        """
        arrays = [np.asarray(value, np.float64) for value in per_replica]
        counts = self.sum([self._at(index, [len(array)]) for index, array in enumerate(arrays)]).ravel()
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        width = arrays[0].shape[1]
        filled = []
        for index, array in enumerate(arrays):
            matrix = np.zeros((offsets[-1], width))
            first = offsets[self.first + index]
            matrix[first : first + len(array)] = array
            filled.append(matrix)
        return self.sum(filled)

    def _at(self, index, values):
        """A (total replicas, len(values)) matrix of zeros with ``values`` in the row of local replica ``index``."""
        matrix = np.zeros((self.total, len(values)))
        matrix[self.first + index] = values
        return matrix


def first_replica(strategy):
    """The global index of this process's first replica: its worker's index times its local replicas."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task = getattr(resolver, "task_id", None) if resolver is not None else None
    return (task or 0) * len(strategy.extended.worker_devices)


def split(samples, parts, name="samples"):
    """Return ``parts`` streamed ``Source``s over contiguous ranges of ``samples``' rows, and their first rows."""
    if datasets.is_dataset(samples):
        raise ValueError(
            f"{name} is a tf.data.Dataset, which is not split among replicas; give each worker its rows as an "
            f"array, a memory map or Shards"
        )
    source = sources.Source(samples, name)
    starts = [source.n_rows * part // parts for part in range(parts + 1)]
    if any(stop <= start for start, stop in zip(starts, starts[1:])):
        raise ValueError(
            f"{source.name} has {source.n_rows} rows, fewer than the {parts} replicas on this worker; "
            f"give each replica at least one row"
        )
    if parts == 1:
        return [source], starts
    return [sources.Source(row_range(samples, start, stop), name) for start, stop in zip(starts, starts[1:])], starts


def row_range(samples, start, stop):
    """Rows ``start`` to ``stop`` of an array (a view) or of ``Shards`` (``Shards`` of views), as the same kind."""
    if not isinstance(samples, sources.Shards):
        return samples[start:stop]
    firsts = np.cumsum([0] + [len(array) for array in samples.arrays])
    arrays = [
        array[max(start - first, 0) : stop - first]
        for array, first in zip(samples.arrays, firsts)
        if first < stop and first + len(array) > start
    ]
    return sources.Shards(arrays, columns=samples.columns, name=samples.name)


class DistributedPasses:
    """``lloyd.Passes`` over every local replica's rows, joined with every other replica by the strategy."""

    def __init__(
        self, replicas, parts, starts, prepared, plan, n_clusters, batch_size, weights, offsets, buffers, largest_weight
    ):
        self.replicas, self.prepared, self.plan = replicas, prepared, plan
        self.starts, self.offsets = starts, offsets  # local first rows; global first rows of the local replicas
        # The parts' passes run one at a time, into the same chunk buffers, with the exact sums' units of every worker.
        self.parts = [
            stream_passes.Passes(
                part,
                prepared,
                plan,
                n_clusters,
                batch_size,
                None if weights is None else weights[start:stop],
                buffers,
                largest_weight,
            )
            for part, start, stop in zip(parts, starts, starts[1:])
        ]
        self.exponents = self.parts[0].exponents

    def _labels(self, labels, index):
        return labels[self.starts[index] : self.starts[index + 1]]

    def lloyd(self, centroids, labels):
        """``streaming.Passes.lloyd`` over every replica's rows: one all-reduce of the changes."""
        k, d = centroids.shape
        limbs = exact.LIMBS
        local = []
        for index, part in enumerate(self.parts):
            changed, sums, counts, members = part.lloyd(centroids, self._labels(labels, index))
            local.append(np.concatenate([sums.ravel(), counts.ravel(), members, [changed]]))
        total = self.replicas.sum(local)  # exact: the limbs are integers, far from float64's limit
        return (
            int(round(total[-1])),
            exact.normalized(total[: k * d * limbs].reshape(k, d, limbs)),
            exact.normalized(total[k * d * limbs : (k * d + k) * limbs].reshape(k, limbs)),
            total[(k * d + k) * limbs : (k * d + k) * limbs + k],
        )

    def final(self, centroids, labels):
        """``streaming.Passes.final`` over every replica's rows; the inertia all-reduced."""
        totals = [[part.final(centroids, self._labels(labels, index))] for index, part in enumerate(self.parts)]
        return float(self.replicas.sum(totals)[0])

    def farthest(self, centroids, labels, count):
        """``lloyd.Passes.farthest`` over every replica: each proposes its farthest rows, all-gathered; every worker
        takes the same ``count``, farthest first, ties to the lower global row (the choice one process makes)."""
        proposals = []
        for index, part in enumerate(self.parts):
            part_labels = self._labels(labels, index)
            distances, rows = part.farthest_rows(centroids, part_labels, count)
            found = part.as_farthest(distances, rows, part_labels)
            proposals.append(
                np.column_stack(
                    [found.distances, self.offsets[index] + rows, found.weights, found.labels, found.values]
                )
            )
        gathered = self.replicas.gather(proposals)
        chosen = gathered[np.lexsort((gathered[:, 1], -gathered[:, 0]))[:count]]
        return m_step.Farthest(chosen[:, 0], chosen[:, 4:], chosen[:, 2], chosen[:, 3].astype(np.int64))

    def new_labels(self):
        """One label per local row (every local replica's, in order)."""
        return sources.new_labels(self.starts[-1], self.plan.labels_in_memory)

    def coordinates(self):
        return self.prepared.prepared()


def kmeans(samples, n_clusters, sample_weight, strategy, options):
    """``kmeans_tf.engine.kmeans.kmeans`` with a strategy (the module's docstring) and checked ``FitOptions``.

    ``samples`` and ``sample_weight``: this worker's rows and their weights.
    """
    replicas = Replicas(strategy)
    watch = progress.watch(options.callback, options.log_dir, writes=replicas.first == 0)  # worker 0 writes the log
    parts, starts = split(samples, replicas.local)
    dtype, n_features = parts[0].dtype, parts[0].n_features
    # this worker's weights, each finite and >= 0; whether enough are > 0 is a question about every worker's
    weights = validation.check_sample_weight(sample_weight, starts[-1], part=True)
    # one all-gather of the replicas' row counts, weights > 0 and largest weight: the global first row of each, the
    # data set's size, and the units of the exact sums
    counts = replicas.gather(
        [
            [[float(stop - start), *_weights_seen(None if weights is None else weights[start:stop])]]
            for start, stop in zip(starts, starts[1:])
        ]
    )
    offsets = np.concatenate([[0], np.cumsum(counts[:, 0])]).astype(np.int64)
    n_rows = int(offsets[-1])
    options = validation.check_lloyd_options(n_clusters, n_rows, n_features, dtype, options, None)
    if weights is not None:
        validation.check_positive_weights(int(counts[:, 1].sum()), n_rows, options.n_clusters, options.init)
    directory, every = validation.check_checkpoint(options), options.checkpoint_every
    plan = budget.plan(
        starts[-1], parts[0].row_bytes, streaming.budget_bytes(options.memory_budget), min(options.n_init, 2)
    )
    buffers = sources.chunk_buffers(parts[0], plan.chunk_rows)  # every pass of every part reads into these
    joined = ReplicaPasses(replicas, parts, starts, plan.chunk_rows, n_rows, buffers)
    unit = options.metric == COSINE
    prepared = stream_prepare.prepare_unit_with(joined) if unit else stream_prepare.prepare_with(joined)
    scaled_tol = m_step.tolerance(options.tol, prepared.norm_sum, n_rows * n_features)
    saved = checkpoints.make(
        directory,
        every,
        replicas.first == 0,
        prepared,
        n_rows,
        options.n_clusters,
        n_features,
        dtype,
        options.init,
        options.max_iter,
        options.tol,
        options.seed,
        weights is not None,
    )
    if saved is not None:
        saved.agree = functools.partial(agree_on_checkpoint, replicas, saved.path)
    passes = DistributedPasses(
        replicas,
        parts,
        starts,
        prepared,
        plan,
        options.n_clusters,
        options.batch_size,
        weights,
        offsets[replicas.first : replicas.first + replicas.local],
        buffers,
        1.0 if weights is None else float(counts[:, 2].max()),
    )

    def seeded(run_seed):
        return initial_centroids(passes, options.n_clusters, options.init, run_seed, n_rows, options.init_rounds)

    def run_once(initial, report):
        return lloyd.run(
            passes, initial, options.max_iter, scaled_tol, options.keep_history, saved, options.keep_iterations, report
        )

    if not isinstance(options.init, str):
        seeded = functools.partial(given_start, prepared.prepared().transformed(options.init))
    return best_of_runs(options.n_init, options.seed, seeded, run_once, watch)


def _weights_seen(weights):
    """A replica's count of weights > 0 and its largest weight (0 and 1 without weights)."""
    if weights is None:
        return [0.0, 1.0]
    return [float(np.count_nonzero(weights)), float(weights.max()) if len(weights) else 0.0]


def agree_on_checkpoint(replicas, path, n_iter):
    """Check that every worker read the same iteration count from its checkpoint (0: none): one folder for all."""
    counts = replicas.gather([[[float(n_iter)]]] * replicas.local)[:, 0]
    if (counts != n_iter).any():
        raise ValueError(
            f"the workers read checkpoints of {sorted(set(counts.astype(int).tolist()))} iterations "
            f"(0: none) from {path}; give every worker the same checkpoint folder (a shared one)"
        )


class ReplicaPasses:
    """The preparing passes over every replica's rows, joined by collectives: what ``stream_prepare.prepare_with``
    asks of the rows. Each answer is the same on every worker, so every worker takes the same branch."""

    def __init__(self, replicas, parts, starts, chunk_rows, n_rows, buffers):
        self.replicas, self.starts, self.n_rows, self.dtype = replicas, starts, n_rows, parts[0].dtype
        self.parts = [stream_prepare.SourcePasses(part, chunk_rows, buffers) for part in parts]

    def column_magnitudes(self):
        """One all-gather of each replica's columns' largest magnitudes; their largest (NaN where any is)."""
        gathered = self.replicas.gather([[part.column_magnitudes()] for part in self.parts])
        return np.max(gathered, axis=0)

    def exact_sums(self, column_exponents):
        """One all-gather of each replica's exact column sums (limbs), added: exact, so in any order."""
        gathered = self.replicas.gather([[part.exact_sums(column_exponents).ravel()] for part in self.parts])
        return exact.normalized(gathered.sum(axis=0).reshape(-1, exact.LIMBS))

    def norms(self, transform, norm_exponent):
        """The largest squared norm, the exact sum of the squared norms and the largest cell of every replica's rows,
        all-gathered."""
        found = [part.norms(transform, norm_exponent) for part in self.parts]
        norms = self.replicas.gather(
            [[np.concatenate([[norm_max], norm_sum, [largest]])] for norm_max, norm_sum, largest in found]
        )
        return norms[:, 0].max(), exact.normalized(norms[:, 1:-1].sum(axis=0)), norms[:, -1].max()

    def check_finite(self):
        """Raise ValueError on every worker if any replica's rows hold a NaN or infinity (its worker names the cell,
        counting rows among the worker's own)."""
        found = None
        for part, start in zip(self.parts, self.starts):
            try:
                part.check_finite(start)
            except ValueError as error:
                found = found or error
        self._refuse_if_any(found, "are not finite (NaN or infinity)")

    def direction_sums(self):
        """The exact column sums and summed squared norms of every replica's rows of unit length, all-gathered and
        added; ValueError on every worker if a replica's rows hold a NaN, an infinity or a row of zeros."""
        found, found_sums = None, []
        for part, start in zip(self.parts, self.starts):
            n_features = part.source.n_features
            try:
                sums, norm_sum = part.direction_sums(start)
            except ValueError as error:
                found, sums, norm_sum = found or error, np.zeros((n_features, exact.LIMBS)), np.zeros(exact.LIMBS)
            found_sums.append([np.append(sums.ravel(), norm_sum)])
        self._refuse_if_any(found, "are not finite, or hold a row of zeros")
        total = self.replicas.gather(found_sums).sum(axis=0)
        return exact.normalized(total[: -exact.LIMBS].reshape(-1, exact.LIMBS)), exact.normalized(total[-exact.LIMBS :])

    def _refuse_if_any(self, found, what):
        """Raise ``found`` (this worker's ValueError, or None) on every worker if any worker found one."""
        if self.replicas.sum([[float(found is not None)]] * self.replicas.local).any():
            raise found or ValueError(f"the samples of another worker {what}; that worker says where")


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

"""The passes of a streamed fit over its rows, a chunk at a time: Lloyd's, the farthest rows, the final one.

``Passes`` reads the data through ``sources.chunks`` (a reader thread, chunks centred into a
reused buffer as ``prepare`` centres an array in memory) and measures each chunk with the fused
C kernel or TensorFlow's ops. ``kmeans_tf.stream.streamed`` runs the loop over them;
``kmeans_tf.distributed.replicas`` joins one ``Passes`` per replica with the strategy's collectives.
The same passes serve k-means|| seeding (``seeding.SeedingPasses``), which ``seeding.kmeans_parallel`` runs.
"""

import numpy as np

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import exact, kernels, loops, m_step, prepare, seeding, tf_ops
from kmeans_tf.stream import sources


def transformed_rows(source, prepared, indices):
    """The rows at ``indices``, read from ``source``, in the loops' coordinates; ValueError if one is not finite."""
    rows = source.take(indices)
    prepared.transform(rows, rows)
    if not np.isfinite(rows).all():
        raise source.changed_rows(indices, rows)
    return rows


class Passes:
    """The streamed passes of one fit (``lloyd.Passes``): Lloyd's, the search for the farthest rows, the final one;
    and k-means||'s (``seeding.SeedingPasses``)."""

    def __init__(self, source, prepared, plan, n_clusters, batch_size, weights, buffers=None, largest_weight=None):
        self.source, self.prepared, self.plan, self.n_clusters = source, prepared, plan, n_clusters
        self.weights, self.n_rows = weights, source.n_rows
        # The units of the exact sums (``lloyd.Passes.exponents``): from the largest weight of every worker, if given.
        if largest_weight is None:
            largest_weight = 1.0 if weights is None or not len(weights) else float(np.max(weights))
        self.exponents = self.coordinates().sum_exponents([largest_weight])
        self.exponents_t = tf.constant(self.exponents)
        self.kernel = kernels.kernel(batch_size)
        # The chunks' buffers, made once for every pass (None: ``sources.chunk_buffers``'s own).
        self.buffers = sources.chunk_buffers(source, plan.chunk_rows) if buffers is None else buffers

    def rows(self, indices):
        """The rows at ``indices``, read from the source, in the loops' coordinates."""
        return transformed_rows(self.source, self.prepared, indices)

    def new_distances(self):
        """One float64 per row, in memory when the plan has room for the labels there; else None."""
        return np.empty(self.n_rows) if self.plan.labels_in_memory else None

    def new_labels(self):
        """One label per row: in memory when the plan has room for them, else in a scratch file."""
        return sources.new_labels(self.source.n_rows, self.plan.labels_in_memory)

    def coordinates(self):
        """The coordinates the passes measure in (``prepare.Prepared``)."""
        return self.prepared.prepared()

    def weights_at(self, span):
        """The weights of a chunk's rows (float64), or None without weights."""
        return None if self.weights is None else np.asarray(self.weights[span.start : span.start + span.rows])

    def weight_tensor(self, span):
        """The weights of a chunk's rows as the kernel takes them (``kernels.no_weights()`` without weights)."""
        weights = self.weights_at(span)
        return kernels.no_weights() if weights is None else tf.constant(weights)

    def chunks(self):
        """Yield ``(span, chunk, tensor over chunk)``, the chunks centred as the loops see them."""
        for span, chunk in sources.chunks(self.source, self.plan.chunk_rows, self.prepared.transform, self.buffers):
            yield span, chunk, prepare.tensor_over(chunk)

    def check(self, span, chunk, measured):
        """Raise ValueError when ``measured`` (what the pass found in ``chunk``: sums, distances) is not finite: the
        door found every row finite, so the file changed while it was read."""
        if not np.isfinite(measured).all():
            raise self.source.changed(span, chunk)

    def costs(self, span, closest):
        """The rows of ``span``: their squared distances in ``closest``, times their weights (if any)."""
        distances, weights = closest[span.start : span.start + span.rows], self.weights_at(span)
        return distances if weights is None else weights * distances

    def nearest_distances(self, centres, closest, update=False):
        """Write each row's squared distance to its nearest of ``centres`` into ``closest`` (float64, one per row;
        with ``update``, the nearer of that and the one there); return the total (weighted) distance."""
        centres_t, total = tf.constant(centres), 0.0
        for span, chunk, chunk_t in self.chunks():
            distances = seeding.nearest(chunk_t, centres_t)[1]
            self.check(span, chunk, distances)
            here = slice(span.start, span.start + span.rows)
            closest[here] = np.minimum(closest[here], distances) if update else distances
            weights = self.weights_at(span)
            total += float(closest[here].sum() if weights is None else weights @ closest[here])
        return total

    def oversample(self, candidates, oversampling, rng, closest=None, total=None):
        """One round of k-means||: the rows ``seeding.oversample`` keeps, each row's cost its (weighted) squared
        distance to the nearest of ``candidates``, or in ``closest`` (with its ``total``: no pass).

        Without ``closest``, one pass, and the total cost is known only at its end: a row is held
        while it would be kept against the running total (never more than the total), and the rows
        held are filtered against the total at the end: about ``l`` times (1 + log of the chunks)
        rows held, at most.
        """
        if closest is not None:
            return np.concatenate(
                [
                    span.start + seeding.oversample(self.costs(span, closest), total, oversampling, rng)
                    for span in self.source.spans(self.plan.chunk_rows)
                ]
            )
        candidates_t, running = tf.constant(candidates), 0.0
        rows, uniforms, costs = [], [], []
        for span, chunk, chunk_t in self.chunks():
            distances, weights = seeding.nearest(chunk_t, candidates_t)[1], self.weights_at(span)
            self.check(span, chunk, distances)
            cost = distances if weights is None else weights * distances
            running += float(cost.sum())
            draws = rng.uniform(size=len(cost))
            held = np.flatnonzero(seeding.kept(draws, cost, running, oversampling))
            rows.append(span.start + held)
            uniforms.append(draws[held])
            costs.append(cost[held])
        rows, uniforms, costs = (np.concatenate(each) for each in (rows, uniforms, costs))
        return rows[seeding.kept(uniforms, costs, running, oversampling)]

    def nearest_weights(self, candidates):
        """The (weighted) number of rows nearest to each of ``candidates``, float64."""
        candidates_t, counts = tf.constant(candidates), np.zeros(len(candidates))
        for span, chunk, chunk_t in self.chunks():
            labels, distances = seeding.nearest(chunk_t, candidates_t)
            self.check(span, chunk, distances)
            counts += np.bincount(labels, weights=self.weights_at(span), minlength=len(candidates))
        return counts

    def lloyd(self, centroids, labels):
        """Label every row for ``centroids`` (``labels`` updated); return the changes' count and exact sums and
        counts (weights; limbs in the units of ``exponents``) and members (of weight > 0)."""
        centroids_t, (n_clusters, n_features) = tf.constant(centroids), centroids.shape
        changed, members = 0, np.zeros(n_clusters)
        sums, counts = np.zeros((n_clusters, n_features, exact.LIMBS)), np.zeros((n_clusters, exact.LIMBS))
        for span, chunk, chunk_t in self.chunks():
            new, sum_changes, count_changes, member_changes, chunk_changed = (
                value.numpy()
                for value in self.kernel.nearest_centroid_changes(
                    chunk_t,
                    centroids_t,
                    tf.constant(_labels_at(labels, span)),
                    self.weight_tensor(span),
                    self.exponents_t,
                )
            )
            self.check(span, chunk, sum_changes)
            sums = exact.add(sums, sum_changes)
            counts = exact.add(counts, count_changes)
            members += member_changes
            changed += int(chunk_changed)
            if chunk_changed:
                labels[span.start : span.start + span.rows] = new
        return changed, sums, counts, members

    def final(self, centroids, labels):
        """Label every row for ``centroids`` (``labels`` updated); return the inertia in the data's units (float64,
        inf when float64 cannot hold it)."""
        coordinates, centroids_t, total = self.coordinates(), tf.constant(centroids), 0.0
        if coordinates.shrunk:
            return self._final_measured(coordinates.unscaled(centroids, centroids.dtype), centroids_t, labels)
        for span, chunk, chunk_t in self.chunks():
            new = loops.labels_of(chunk_t, centroids_t, self.kernel)
            inertia = float(loops.inertia_of(chunk_t, centroids_t, new, self.kernel, self.weight_tensor(span)))
            self.check(span, chunk, inertia)
            total += inertia
            labels[span.start : span.start + span.rows] = new.numpy()
        return coordinates.unscaled_inertia(total)

    def _final_measured(self, found, centroids_t, labels):
        """``final`` for data scaled down (``prepare.Prepared.shrunk``): each chunk labelled in the loops' coordinates,
        its inertia measured on the rows as read, for the centroids ``found`` (the fit's, in the data's units)."""
        scaled, total = sources.aligned_empty(self.plan.chunk_rows, self.source.n_features, self.source.dtype), 0.0
        for span, rows in sources.chunks(self.source, self.plan.chunk_rows, buffers=self.buffers):
            self.prepared.transform(rows, scaled[: span.rows])
            new = loops.labels_of(prepare.tensor_over(scaled[: span.rows]), centroids_t, self.kernel).numpy()
            labels[span.start : span.start + span.rows] = new
            inertia = prepare.exact_inertia(rows, found, new, self.weights_at(span))
            if not np.isfinite(inertia) and not np.isfinite(rows).all():  # else beyond float64: inf is the answer
                raise self.source.changed(span, rows)
            total += inertia
        return total

    def farthest(self, centroids, labels, count):
        """``m_step.Farthest``: the ``count`` rows farthest from their labelled centroid (ties: lower row first)."""
        return self.as_farthest(*self.farthest_rows(centroids, labels, count), labels)

    def as_farthest(self, distances, rows, labels):
        """``m_step.Farthest`` of the ``rows`` at ``distances``: their values, weights and labels read."""
        weights = np.ones(len(rows)) if self.weights is None else np.asarray(self.weights[rows], np.float64)
        values = self.rows(rows).astype(np.float64)
        return m_step.Farthest(distances.astype(np.float64), values, weights, np.asarray(labels[rows], np.int64))

    def farthest_rows(self, centroids, labels, count):
        """Return the ``count`` largest squared distances to the own centroid and their rows (ties: lower row first)."""
        centroids_t = tf.constant(centroids)
        best, rows = np.empty(0, centroids.dtype), np.empty(0, np.int64)
        for span, chunk, chunk_t in self.chunks():
            distances = tf_ops.squared_distance_to_own(chunk_t, centroids_t, tf.constant(_labels_at(labels, span)))
            distances = distances.numpy()
            self.check(span, chunk, distances)
            if len(distances) > count:  # the candidates: every row at least as far as the count-th farthest
                threshold = np.partition(distances, len(distances) - count)[len(distances) - count]
                here = np.flatnonzero(distances >= threshold)
            else:
                here = np.arange(len(distances))
            best, rows = np.concatenate([best, distances[here]]), np.concatenate([rows, span.start + here])
            order = np.lexsort((rows, -best))[:count]
            best, rows = best[order], rows[order]
        return best, rows


def _labels_at(labels, span):
    return np.asarray(labels[span.start : span.start + span.rows], np.int64)

"""Lloyd's k-means over passes: the one driver of a fit whose rows are read a pass at a time, and its interface.

``run`` makes the iterations: a pass (``Passes.lloyd``) labels every row and returns the
float64 sums of the rows whose label changed, which update the running cluster sums; then
the M-step and the stopping rule of ``m_step`` (the rules every fit follows); last, one pass
for the final labels and the inertia. The rows are wherever ``Passes`` reads them: a file
or a folder of shards streamed from disk (``kmeans_tf.stream.passes.Passes``), or every
worker's rows joined by a ``tf.distribute`` strategy (``kmeans_tf.distributed``). Data in
memory run the same rules inside one ``tf.function`` (``loops``).
"""

import typing

import numpy as np

from kmeans_tf.engine import exact, m_step, prepare
from kmeans_tf.engine.result import Iterations, KMeansResult

# A fit never returns NaN or infinity: the door found every row finite, so a pass that finds otherwise read rows that
# changed since (each ``Passes`` names the file where it can).
NOT_FINITE_ANY_MORE = "the samples changed while the fit read them: they hold a NaN or an infinity now"


class Passes(typing.Protocol):
    """What ``run`` asks of the rows it fits. Rows and centroids are in the loops' coordinates (``coordinates()``).

    ``exponents``: the units of the exact sums (``exact.sum_exponents``), the same for every worker.
    """

    exponents: object

    def new_labels(self):
        """Return a writable int array of one label per row labelled here (in memory, or a scratch file's map)."""

    def lloyd(self, centroids, labels):
        """Label every row for ``centroids``, updating ``labels`` (-1: none yet) in place.

        Return how many labels changed (an int, over every worker) and the exact changes of
        the clusters' sums (n_clusters, n_features, LIMBS) and counts (weights; n_clusters,
        LIMBS), in the units of ``exponents``, and of their members (rows of weight > 0): each
        changed row added to its new cluster and taken from its old one.
        """

    def farthest(self, centroids, labels, count):
        """Return ``m_step.Farthest``: the ``count`` rows (of every worker) farthest from their labelled centroid."""

    def final(self, centroids, labels):
        """Label every row for ``centroids`` (``labels`` updated); return the (weighted) inertia, a float64 in the
        data's units (``coordinates().unscaled_inertia``, or measured on the rows when the scale shrank them),
        inf when float64 cannot hold it."""

    def coordinates(self):
        """Return the ``prepare.Prepared`` whose ``unscaled`` maps the loops' coordinates back to the data's."""


def run(passes, initial, max_iter, tol, keep_history, checkpoint=None, keep_iterations=False, report=None):
    """Run one k-means over ``passes`` from ``initial`` (in the loops' coordinates) and return a ``KMeansResult``.

    ``tol``: the squared shift that stops the run (``m_step.tolerance``). With a
    ``checkpoint.Checkpoint``: resume from its file if there is one, save to it every few
    iterations, and remove it at the end. With ``keep_iterations``, one more pass an
    iteration measures the inertia of its labels for the centroids they were measured against.
    ``report`` (a ``progress.RunWatch``, or None) is called after each iteration, with that
    inertia (the same pass); when it answers False, the run ends there (not saved).
    """
    labels, unit = passes.new_labels(), passes.coordinates().unit
    n_clusters, n_features = initial.shape
    sums, counts = np.zeros((n_clusters, n_features, exact.LIMBS)), np.zeros((n_clusters, exact.LIMBS))
    members = np.zeros(n_clusters)
    centroids, history, progress = initial, [initial], []
    n_iter, converged, goes_on = 0, False, True
    prepared = passes.coordinates()
    resumed = None if checkpoint is None else checkpoint.load(initial)
    if resumed is not None:
        # Resume after iteration n_iter: label the rows for the centroids of iteration n_iter - 1, and sum them from
        # scratch. The labels depend on the centroids alone, so they are the ones the uninterrupted run held; the
        # next pass counts the same changed labels (none changed: converged, as there), and the sums, exact, equal
        # the uninterrupted run's, and so the centroids and shifts that follow.
        n_iter, previous, centroids = resumed
        _, sums, counts, members = _lloyd_pass(passes, previous, labels)
    while n_iter < max_iter and not converged and goes_on:
        changed, sum_changes, count_changes, member_changes = _lloyd_pass(passes, centroids, labels)
        # the (weighted) sums of the new labels' clusters, and their members of weight > 0
        sums, counts = exact.add(sums, sum_changes), exact.add(counts, count_changes)
        members = members + member_changes
        new_centroids, shift = m_step.centroids_from_sums(
            sums,
            counts,
            members,
            centroids,
            lambda: passes.farthest(centroids, labels, n_clusters),
            passes.exponents,
            unit,
        )
        new_centroids, shift = new_centroids.numpy(), float(shift)
        converged = bool(m_step.converged(changed, shift, tol))
        if keep_iterations or report is not None:
            inertia = passes.final(centroids, labels)
        if keep_iterations:
            progress.append((inertia, changed, shift))
        if report is not None:
            squared_shift, squared_tol = prepared.unscaled_squared([shift, tol])
            sizes = exact.value(counts, passes.exponents[-1])
            goes_on = report(n_iter, inertia, changed, squared_shift, sizes, converged, squared_tol, skipped=0.0)
        previous, centroids, n_iter = centroids, new_centroids, n_iter + 1
        if keep_history:
            history.append(centroids)
        if checkpoint is not None and not converged and goes_on and n_iter < max_iter:
            checkpoint.save(n_iter, previous, centroids)
    total = passes.final(centroids, labels)
    if checkpoint is not None:
        checkpoint.remove()
    if isinstance(labels, np.memmap):
        labels.flags.writeable = False
    dtype = initial.dtype
    found = prepared.unscaled(centroids, dtype)
    if np.isnan(total) or not np.isfinite(found).all():
        raise ValueError(NOT_FINITE_ANY_MORE)
    return KMeansResult(
        centroids=found,
        labels=labels,
        inertia=prepare.inertia_in_range(total),
        n_iter=n_iter,
        converged=converged,
        centroid_history=prepared.unscaled(np.stack(history), dtype) if keep_history else None,
        iterations=Iterations.from_rows(progress, tol, prepared, inertia_unscaled=True) if keep_iterations else None,
    )


def _lloyd_pass(passes, centroids, labels):
    """``passes.lloyd``, its sums checked: they are finite unless rows changed since the door checked them."""
    changed, sums, counts, members = passes.lloyd(centroids, labels)
    if not np.isfinite(sums).all():
        raise ValueError(NOT_FINITE_ANY_MORE)
    return changed, sums, counts, members

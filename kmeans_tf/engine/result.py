"""What a k-means fit returns (``KMeansResult``), and the best of ``n_init`` runs, for every way of fitting."""

import dataclasses

import numpy as np

from kmeans_tf.engine.options import DEFAULT_METRIC


@dataclasses.dataclass(frozen=True)
class Iterations:
    """What each iteration of a run did, in the samples' units (``kmeans(..., keep_iterations=True)``).

    Attributes
    ----------
    inertia : float64 array of shape (n_iter,)
        The (weighted) inertia of the iteration's labels for the centroids they were measured
        against, before the M-step moved them (what scikit-learn's ``verbose`` prints).
    changed : int64 array of shape (n_iter,), the labels the iteration changed (the first: every one)
    shift : float64 array of shape (n_iter,), the total squared distance the M-step moved the centroids
    tol : float, the total squared shift at or below which a run stops (``tol`` times the mean variance)
    """

    inertia: np.ndarray
    changed: np.ndarray
    shift: np.ndarray
    tol: float

    @classmethod
    def from_rows(cls, rows, tol, prepared, *, inertia_unscaled=False):
        """The record of ``rows`` (n_iter, 3) of (inertia, changed, shift) and ``tol``, in ``prepared``'s units.

        With ``inertia_unscaled``, the inertia is in the data's units already (a pass over the rows measured it).
        """
        rows = np.asarray(rows, np.float64).reshape(-1, 3)
        return cls(
            inertia=rows[:, 0] if inertia_unscaled else prepared.unscaled_costs(rows[:, 0]),
            changed=rows[:, 1].astype(np.int64),
            shift=prepared.unscaled_squared(rows[:, 2]),
            tol=float(prepared.unscaled_squared(tol)),
        )


@dataclasses.dataclass(frozen=True)
class KMeansResult:
    """What ``kmeans`` found.

    Attributes
    ----------
    centroids : array of shape (n_clusters, n_features), the input's dtype
    labels : array of shape (n_samples,), int64, the nearest centroid of each sample
    inertia : float, the sum of squared distances of samples to their centroid (times their weights)
    n_iter : int, Lloyd iterations run
    converged : bool, whether the labels stopped changing or the centroids moved less than ``tol``
    centroid_history : array of shape (n_iter + 1, n_clusters, n_features), or None
        With ``kmeans(..., keep_history=True)``: the initial centroids, then those after each iteration.
    iterations : Iterations or None
        With ``kmeans(..., keep_iterations=True)``: each iteration's inertia, labels changed and shift.
    """

    centroids: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    converged: bool
    centroid_history: np.ndarray | None = None
    iterations: Iterations | None = None

    def export(self, path, *, metric=DEFAULT_METRIC):
        """Write the centroids as a SavedModel in ``path/1`` (``kmeans_tf.export_saved_model``); return that folder."""
        from kmeans_tf.serving import export_saved_model  # here: the engine's modules import this one

        return export_saved_model(self.centroids, path, metric=metric)


def best_of_runs(n_init, seed, seeded, run_once, watch=None):
    """Run k-means ``n_init`` times and return the ``KMeansResult`` of lowest inertia (the first of equal ones).

    Each run draws its seed from ``np.random.RandomState(seed)`` (an int in [0, 2**31 - 1))
    and starts from ``seeded(run_seed)``, its initial centroids; ``run_once(initial, report)``
    runs one k-means from them, calling ``report`` (the run's ``progress.RunWatch``, or None
    without a ``watch``) after each iteration. Once a callback of ``watch`` (a ``progress.Watch``
    or None) stops the fit, no further run starts: the best of the runs made is returned.
    Assumes checked options.
    """
    rng = np.random.RandomState(seed)
    best = best_run = None
    try:
        for run in range(n_init):
            result = run_once(seeded(rng.randint(np.iinfo(np.int32).max)), None if watch is None else watch.start(run))
            if best is None or result.inertia < best.inertia:
                best, best_run = result, run
            if watch is not None and watch.stopped:
                break
        if watch is not None:
            watch.finish(best_run, best)
    finally:
        if watch is not None:
            watch.close()
    return best


def given_start(initial, run_seed):
    """The seeding of an ``init`` array: ``initial`` itself, whatever the run's seed."""
    return initial

"""A fit's progress, iteration by iteration: what a ``callback`` receives (``IterationState``), and who receives it.

Every way of fitting (in memory, streamed, on several workers, mini-batch) reports each
iteration alike: the driver calls its run's ``RunWatch`` with the iteration's numbers, which
makes one ``IterationState`` in the data's units and hands it to the fit's ``Watch``: the
TensorBoard log first (``kmeans_tf.engine.tensorboard``), then the user's ``callback``. A
callback that returns False stops the fit after that iteration, and no further run starts.

This module imports no TensorFlow.
"""

import dataclasses
import time

import numpy as np


@dataclasses.dataclass(frozen=True)
class IterationState:
    """One iteration of a run, as ``kmeans(..., callback=...)`` and ``minibatch_kmeans`` report it.

    Values are in the data's units, as in ``Iterations`` (``kmeans(..., keep_iterations=True)``).

    Attributes
    ----------
    run : int, which of the ``n_init`` runs (from 0; always 0 for mini-batch k-means)
    iteration : int, the iteration in its run (from 0): a Lloyd iteration, or a mini-batch step
    inertia : float
        The (weighted) inertia of the iteration's labels for the centroids they were measured
        against, before the M-step moved them; of a mini-batch step: its batch's.
    shift : float, the total squared distance the iteration moved the centroids
    changed : int or None, the labels the iteration changed (the first: every one); None for a mini-batch step
    sizes : float64 array of shape (n_clusters,)
        Each cluster's (weighted) size: for Lloyd, the rows of the iteration's labels; for a
        mini-batch step, the weight of every row the centroid has had so far.
    seconds : float, since the run began (its seeding excluded)
    converged : bool, whether the stopping rule ends the run at this iteration
    tol : float, the total squared shift at or below which a run stops (0: never, for mini-batch's default)
    skipped : float or None
        The share of rows (0 to 1) whose label Hamerly's bounds proved without measuring every
        centroid: 0 for a pass without bounds (``algorithm="lloyd"``, the first passes of
        ``"auto"``, a streamed or TensorFlow-ops pass); None for a mini-batch step
    """

    run: int
    iteration: int
    inertia: float
    shift: float
    changed: int | None
    sizes: np.ndarray
    seconds: float
    converged: bool
    tol: float
    skipped: float | None = None


def stops(answer):
    """Whether a callback's answer stops the fit: False (Python's or NumPy's), not merely a false value like None."""
    return answer is False or answer is np.False_


class Watch:
    """The callbacks of one fit, called as one: a TensorBoard log (or None), then the user's ``callback`` (or None).

    ``stopped`` turns True once a callback returns False.
    """

    def __init__(self, callback, log=None):
        self.callback, self.log, self.stopped = callback, log, False

    def start(self, run):
        """Return the ``RunWatch`` of run number ``run``, its clock started now."""
        return RunWatch(self, run)

    def __call__(self, state):
        """Hand ``state`` to the log, then to the callback; return whether the fit goes on."""
        if self.log is not None:
            self.log(state)
        if self.callback is not None and stops(self.callback(state)):
            self.stopped = True
        return not self.stopped

    def finish(self, run, result):
        """The fit returns ``result``, from run number ``run``: the log writes what it keeps of it."""
        if self.log is not None:
            self.log.finish(run, result)

    def close(self):
        if self.log is not None:
            self.log.close()


class RunWatch:
    """One run's reporter: what a driver calls after each iteration."""

    def __init__(self, watch, run):
        self.watch, self.run, self.began = watch, run, time.perf_counter()

    def __call__(self, iteration, inertia, changed, shift, sizes, converged, tol, skipped=None):
        """Report an iteration (values in the data's units); return whether the run goes on."""
        state = IterationState(
            run=self.run,
            iteration=int(iteration),
            inertia=float(inertia),
            shift=float(shift),
            changed=None if changed is None else int(changed),
            sizes=np.asarray(sizes, np.float64),
            seconds=time.perf_counter() - self.began,
            converged=bool(converged),
            tol=float(tol),
            skipped=None if skipped is None else float(skipped),
        )
        return self.watch(state)

    def forward(self, state):
        """Report the ``state`` of a one-run fit made for this run (an estimator's callable ``init``) as this run's."""
        return self.watch(dataclasses.replace(state, run=self.run))


def watch(callback, log_dir, *, writes=True):
    """Return the ``Watch`` of a fit's ``callback`` and ``log_dir`` (checked), or None when both are None.

    ``writes``: whether this process writes the log (worker 0 of several). ImportError, naming
    the extra to install, when ``log_dir`` is given and TensorBoard is not installed.
    """
    if log_dir is None:
        return None if callback is None else Watch(callback)
    from kmeans_tf.engine import tensorboard

    log = tensorboard.TensorBoardLog(log_dir)
    return Watch(callback, log if writes else None)

"""Lloyd's iterations for data in memory, inside one ``tf.function``, over the kernel (``kernels``).

``loop`` makes each pass with the kernel's ``nearest_centroid_changes`` (or its bounded
pass): the new labels and the float64 sums of the samples whose label changed, which update
the running cluster sums; then the M-step and scikit-learn's stopping rule, by the rules of
``m_step`` that every fit follows (``lloyd`` runs them over passes over data on disk or on
several workers; in memory, one graph keeps the whole loop fast). ``labels_of`` and
``inertia_of`` make one pass. All assume checked input.

Sample weights travel as a float64 tensor of one weight per sample, or an empty one for
none (``kernels.no_weights()``); the Python option ``weighted`` says which, so that the
unweighted loops are traced, and run, without them.

A run with a ``report`` (a callback's, ``progress.RunWatch``) is traced apart (the Python
option ``reporting``): each iteration measures its inertia and hands its numbers to the report
through ``tf.py_function``, still inside the one ``tf.while_loop``, whose other ops are the
same: the labels and centroids are those of a run without it, bit for bit.
"""

import itertools

import numpy as np

from kmeans_tf._tensorflow import quietly, tf
from kmeans_tf.engine import exact, m_step, tf_ops
from kmeans_tf.engine.kernels import no_weights
from kmeans_tf.engine.options import HAMERLY, LLOYD, SAME_ALGORITHM
from kmeans_tf.engine.tracing import matrix, scalar, traced_per_dtype, vector

# The "auto" loop turns Hamerly's bounds on once fewer than this fraction of labels changed in a pass.
BOUNDS_AFTER_CHANGED_FRACTION = 0.02

# The reports of the runs in progress, by the key that their loop holds as a tensor (``run``).
_REPORTS = {}
_REPORT_KEYS = itertools.count()


def labels_of(samples, centroids, kernel):
    """Labels (int64) of the nearest centroid, by ``kernel``."""
    return kernel.nearest_centroid_sums(samples, centroids, no_weights())[0]


def inertia_of(samples, centroids, labels, kernel, weights=None):
    """The exact (weighted) sum of squared distances to the labelled centroids (float64), by ``kernel``."""
    return kernel.sum_squared_distances(samples, centroids, labels, no_weights() if weights is None else weights)


def _history(initial, keep_history):
    """Start the record of the centroids: a TensorArray growing by one entry per iteration, or of the start alone."""
    history = tf.TensorArray(initial.dtype, size=1, dynamic_size=keep_history, element_shape=initial.shape)
    return history.write(0, initial)


def _record(history, index, centroids):
    """Add an iteration's centroids to ``history`` when it grows (``keep_history``)."""
    return history.write(index, centroids) if history.dynamic_size else history


def _progress(keep_iterations):
    """Start the record of each iteration's (inertia, labels changed, squared shift): growing, or empty for good."""
    return tf.TensorArray(tf.float64, size=0, dynamic_size=keep_iterations, element_shape=[3])


@traced_per_dtype(
    lambda dtype: [
        matrix(dtype),
        matrix(dtype),
        scalar(tf.int32),
        scalar(tf.float64),
        vector(tf.float64),
        scalar(tf.float64),
        vector(tf.float64),
        vector(tf.float64),
        scalar(tf.int64),
    ]
)
def loop(
    samples, initial, max_iter, tol, norms, norm_bound, weights, exponents, report_to, kernel, algorithm,
    keep_history=False, weighted=False, keep_iterations=False, reporting=False, unit=False,
):  # fmt: skip
    """Lloyd's iterations by ``kernel``, with Hamerly's bounds as ``algorithm`` says: the same labels either way.

    Each pass (``nearest_centroid_changes``) gives the new labels and the exact sums and
    counts of the samples whose label changed (in the units of ``exponents``, ``exact``: the same
    however the rows are split), which update the running cluster sums: late
    passes, where few labels change, then need not add up every sample. Sparse rows keep
    running counts alone: their sums come whole each pass (``cluster_sums``), since running
    sums' (n_clusters, n_features, LIMBS) limbs would outweigh rows of many columns. A bounded pass
    (``nearest_centroid_changes_bounded``) also keeps, per sample, an upper bound on the
    distance to its centroid and a lower bound on the distance to any other, widened by the
    kernel's rounding error, and measures only the samples whose bounds cannot prove their
    label, with the plain pass's kernel. ``algorithm`` (a Python str) says when bounds are
    kept: never (LLOYD); once fewer than ``BOUNDS_AFTER_CHANGED_FRACTION`` of the labels
    changed in a pass (AUTO: while many change, bounds prove little); or from the first
    pass (HAMERLY). ``norms`` holds each sample's squared norm and ``norm_bound`` (float64)
    bounds that of every sample and centroid: they size the rounding error the bounds allow
    for. Every choice measures the same labels, so the changes, sums and centroids are equal
    bit for bit. ``weights`` go to the kernel as they are (empty: every weight 1); with
    ``weighted`` the relocation of empty clusters reads them too. The running ``members``
    (samples of weight > 0 per cluster, exact) say which clusters are empty: running sums
    of weights need not come back to 0 exactly. A kernel without bounds (``keeps_bounds``
    False) makes plain passes whatever ``algorithm`` says. With ``unit`` (rows of unit length:
    spherical k-means), the M-step keeps the centroids at unit length (``m_step``).

    Returns the final centroids, the labels for them, the iterations run, whether the labels
    stopped changing (strict convergence) or the total squared shift fell to ``tol``, the
    centroids at the start and after each iteration (with ``keep_history``; else the start alone),
    and with ``keep_iterations`` a float64 row per iteration: the (weighted) inertia of the pass's
    labels for the centroids it measured, the labels it changed and the M-step's squared shift
    (one more pass an iteration, for the inertia; else no rows).

    With ``reporting``, each iteration also calls the report registered under the key
    ``report_to`` (``_report``) with its inertia (the same pass as ``keep_iterations``'),
    labels changed, shift, cluster sizes (the running counts), whether it converged and the
    share of the labels that the bounds proved without measuring every centroid; an
    answer of False ends the loop after that iteration, as ``max_iter`` would.
    """
    n_samples, n_clusters = tf_ops.n_rows(samples), tf.shape(initial)[0]
    sparse_rows = tf_ops.is_sparse(samples)  # no running sums: the passes give none (``kernels``)
    no_upper = tf.fill([n_samples], tf.constant(np.inf, tf.float64))  # an infinite bound: measure the sample
    no_lower = tf.zeros([n_samples], tf.float64)
    if not kernel.keeps_bounds:
        algorithm = LLOYD
    if algorithm == LLOYD:
        switch_at = tf.constant(-1, tf.int64)
    else:
        switch_at = tf.cast(tf.cast(n_samples, tf.float64) * BOUNDS_AFTER_CHANGED_FRACTION, tf.int64)

    sample_weights = weights if weighted else None

    def measure(bounded, centroids, previous, labels, upper, lower):
        def plain():
            new_labels, *changes = kernel.nearest_centroid_changes(samples, centroids, labels, weights, exponents)
            return (new_labels, no_upper, no_lower, *changes, tf.constant(0, tf.int64))  # no label proved by bounds

        def with_bounds():
            return tuple(
                kernel.nearest_centroid_changes_bounded(
                    samples, centroids, previous, labels, upper, lower, norms, norm_bound, weights, exponents
                )
            )

        if algorithm == LLOYD:
            return plain()
        return tf.cond(bounded, with_bounds, plain)

    def iterate(
        iteration, centroids, previous, labels, upper, lower, sums, counts, members, bounded, converged, stopped,
        moved, history, progress,
    ):  # fmt: skip
        new_labels, upper, lower, sum_changes, count_changes, member_changes, changed, skipped = measure(
            bounded, centroids, previous, labels, upper, lower
        )
        # The sums of the new labels' clusters: running sums, or for sparse rows made whole (their means, where the
        # rows are not of unit length: no float64 sums of every cell are held).
        if sparse_rows:
            sum_values = kernel.cluster_sums(samples, centroids, new_labels, weights, exponents) if unit else None

            def means(divisors):  # used where no cluster is empty and the rows are not of unit length (m_step)
                return kernel.cluster_means(samples, centroids, new_labels, divisors, weights, exponents)

            def whole_sums():  # their limbs, where a cluster is empty: a pass that gives them whole, the same labels
                return kernel.nearest_centroid_sums(samples, centroids, weights, exponents)[1]

        else:
            sums, sum_values = kernel.exact_add(sums, sum_changes, exponents[:-1])
            whole_sums, means = sums, None
        counts, count_values = kernel.exact_add(counts[:, None], count_changes[:, None], exponents[-1:])
        counts, count_values = counts[:, 0], count_values[:, 0]
        members = members + member_changes
        new_centroids, shift = m_step.centroids_from_sums(
            whole_sums,
            counts,
            members,
            centroids,
            lambda: m_step.farthest_rows(kernel.readable(samples), centroids, new_labels, sample_weights),
            exponents,
            unit,
            values=(sum_values, count_values),
            means=means,
        )
        converged = m_step.converged(changed, shift, tol)
        # The centroids the next pass's bounds are for: these, after a bounded pass; after a plain one its bounds are
        # infinite (every sample measured), and the new centroids stand in, so that these need not be kept.
        if algorithm == LLOYD:
            measured = new_centroids
        else:
            measured = tf.cond(bounded, lambda: centroids, lambda: new_centroids)
        bounded = bounded | (changed < switch_at)
        if keep_iterations or reporting:
            inertia = kernel.sum_squared_distances(samples, centroids, new_labels, weights)
        if keep_iterations:
            progress = progress.write(iteration, tf.stack([inertia, tf.cast(changed, tf.float64), shift]))
        if reporting:
            skipped_share = tf.cast(skipped, tf.float64) / tf.cast(n_samples, tf.float64)
            goes_on = tf.py_function(
                _report,
                [report_to, iteration, inertia, changed, shift, count_values, converged, skipped_share],
                tf.bool,
            )
            stopped = ~tf.reshape(goes_on, [])
        return (
            iteration + 1,
            new_centroids,
            measured,
            new_labels,
            upper,
            lower,
            sums,
            counts,
            members,
            bounded,
            converged,
            stopped,
            shift > 0,
            _record(history, iteration + 1, new_centroids),
            progress,
        )

    def keep_going(
        iteration, centroids, previous, labels, upper, lower, sums, counts, members, bounded, converged, stopped, *_
    ):  # fmt: skip
        return (iteration < max_iter) & ~converged & ~stopped

    start = (
        tf.constant(0),
        initial,
        initial,
        -tf.ones([n_samples], tf.int64),
        no_upper,
        no_lower,
        tf.zeros([n_clusters, 0 if sparse_rows else tf_ops.n_columns(samples), exact.LIMBS], tf.float64),
        tf.zeros([n_clusters, exact.LIMBS], tf.float64),
        tf.zeros([n_clusters], tf.float64),
        tf.constant(algorithm == HAMERLY),
        tf.constant(False),
        tf.constant(False),
        tf.constant(True),
        _history(initial, keep_history),
        _progress(keep_iterations),
    )
    iteration, centroids, previous, labels, upper, lower, *_, bounded, converged, _, moved, history, progress = (
        tf.while_loop(keep_going, iterate, start)
    )
    # The final E-step: labels that match the returned centroids. Where the last M-step moved none (a shift of 0: the
    # same centroids to the bit), the last pass's labels are theirs already, and scikit-learn too skips the pass.
    final_labels = tf.cond(
        moved, lambda: measure(bounded, centroids, previous, labels, upper, lower)[0], lambda: labels
    )
    return centroids, final_labels, iteration, converged, history.stack(), progress.stack()


def run(
    samples, initial, max_iter, tol, norms, norm_bound, algorithm, keep_history, kernel, exponents, weights=None,
    keep_iterations=False, unit=False, report=None,
):  # fmt: skip
    """Run ``loop`` by ``kernel``; ``weights``: a float64 tensor of one weight per sample, or None (every weight 1);
    ``exponents``: the units of the exact sums (``exact.sum_exponents``).

    ``algorithm`` is any of ``ALGORITHMS``: another library's name runs the engine's algorithm of the same kind.
    ``report``, or None: called as ``report(iteration, inertia, changed, shift, sizes, converged, skipped)``
    (Python numbers, in the loop's coordinates; ``skipped``: the share of labels the bounds proved) after each
    iteration; False ends the run. What it raises ends the
    run too, and is raised here once the loop has returned.
    """
    weighted = weights is not None
    relay = None if report is None else _Relay(report)
    key = next(_REPORT_KEYS)
    if relay is not None:
        _REPORTS[key] = relay
    try:
        with quietly():  # TensorFlow's graph rewrites comment on float64 ops
            found = loop(
                samples,
                initial,
                max_iter,
                tol,
                norms,
                norm_bound,
                weights if weighted else no_weights(),
                tf.constant(exponents, tf.float64),
                tf.constant(key, tf.int64),
                kernel=kernel,
                algorithm=SAME_ALGORITHM.get(algorithm, algorithm),
                keep_history=keep_history,
                weighted=weighted,
                keep_iterations=keep_iterations,
                reporting=relay is not None,
                unit=unit,
            )
    finally:
        _REPORTS.pop(key, None)
    if relay is not None and relay.error is not None:
        raise relay.error
    return found


class _Relay:
    """A run's report, called from inside the loop: what it raises is kept for ``run`` to raise, and ends the run."""

    def __init__(self, report):
        self.report, self.error = report, None

    def __call__(self, *values):
        try:
            return bool(self.report(*values))
        except BaseException as error:  # raised again by ``run``, outside TensorFlow's call
            self.error = error
            return False


def _report(key, iteration, inertia, changed, shift, sizes, converged, skipped):
    """Call the report registered under ``key`` with an iteration's numbers (``tf.py_function``'s Python side)."""
    return _REPORTS[int(key)](
        int(iteration), float(inertia), int(changed), float(shift), sizes.numpy(), bool(converged), float(skipped)
    )

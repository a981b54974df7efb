"""The engine's public functions: ``kmeans``, ``predict`` and ``inertia``, and what ``kmeans`` returns.

``kmeans`` checks its inputs at the door (``validation``), centres the data once
(``prepare``), chooses initial centroids (``seeding``) and runs the loop for this
machine (``loops``) ``n_init`` times, keeping the run with the lowest inertia.
"""

import functools

import numpy as np

from kmeans_tf._tensorflow import tf
from kmeans_tf.distributed import replicas as distributed
from kmeans_tf.engine import kernels, loops, m_step, prepare, progress, seeding, sparse, spherical, validation
from kmeans_tf.engine.options import (
    COSINE,
    DEFAULT_ALGORITHM,
    DEFAULT_CHECKPOINT_EVERY,
    DEFAULT_INIT,
    DEFAULT_INIT_ROUNDS,
    DEFAULT_MAX_ITER,
    DEFAULT_METRIC,
    DEFAULT_N_INIT,
    DEFAULT_TOL,
    check_options,
)
from kmeans_tf.engine.result import Iterations, KMeansResult, best_of_runs, given_start
from kmeans_tf.stream import streamed as streaming


def kmeans(
    samples, n_clusters, *, metric=DEFAULT_METRIC, init=DEFAULT_INIT, n_init=DEFAULT_N_INIT,
    max_iter=DEFAULT_MAX_ITER, tol=DEFAULT_TOL, seed=None, batch_size=None, algorithm=DEFAULT_ALGORITHM,
    callback=None, keep_history=False, init_rounds=DEFAULT_INIT_ROUNDS, sample_weight=None, memory_budget=None,
    strategy=None, checkpoint=None, checkpoint_every=DEFAULT_CHECKPOINT_EVERY, keep_iterations=False, log_dir=None,
):  # fmt: skip
    """Cluster ``samples`` into ``n_clusters`` groups with Lloyd's k-means.

    Parameters
    ----------
    samples : array of shape (n_samples, n_features), float32 or float64
        Integers are converted to float64. The result keeps the float dtype. A memory map
        (``np.load(path, mmap_mode="r")``) or ``Shards`` is streamed from disk, never copied:
        ``kmeans_tf.stream.streamed`` says how, and what changes (plain passes, the seeding).
        So is a finite ``tf.data.Dataset`` of float batches (rows, n_features), or
        ``DatasetRows(dataset, feature=NAME)`` for dicts of them (``kmeans_tf.stream.datasets``).
    n_clusters : int, 1 <= n_clusters <= n_samples
    metric : {"euclidean", "cosine"}, default="euclidean"
        "euclidean": Lloyd's k-means, by squared Euclidean distance. "cosine": spherical
        k-means (Dhillon and Modha 2001; faiss's ``spherical=True``), rows compared by direction:
        each row is scaled to unit length for the computation (``samples`` are never written),
        a row's cluster is the centroid of largest cosine similarity, each centroid is the
        normalised (weighted) mean direction of its rows (unit length), the inertia is the
        (weighted) sum of ``1 - cos`` to the own centroid, and the seedings and the relocation
        of empty clusters use that distance. A row of zeros has no direction: ValueError naming it.
    init : {"k-means++", "random", "k-means||"} or array of shape (n_clusters, n_features), default="k-means++"
        "random" picks distinct samples, as the lesson does; "k-means++" is scikit-learn's
        greedy k-means++; "k-means||" is Bahmani et al.'s scalable k-means++ (VLDB 2012): a
        few passes over the data oversample about ``2 * n_clusters`` candidates each, and
        greedy k-means++ on the candidates, weighted by the samples nearest to each, chooses
        the centroids (k passes over the data become ``init_rounds + 2``); an array gives the
        initial centroids.
    n_init : int, default=1
        Runs from different initialisations; the one with the lowest inertia is kept.
        Must be 1 when ``init`` is an array.
    max_iter : int, default=300
    tol : float, default=1e-4
        As in scikit-learn: the run stops when the labels stop changing, or when the total
        squared centroid shift is at most ``tol`` times the mean per-feature variance.
    seed : int in [0, 2**32 - 1] or None, default=None
        Makes the whole call reproducible.
    batch_size : int or None, default=None
        Rows per chunk of the distance computation when TensorFlow's ops run (the C
        kernel works a few rows at a time anyway); by default chosen so that one
        (rows, n_clusters) block takes about 4 MiB.
    algorithm : {"auto", "lloyd", "hamerly", "elkan"}, default="auto"
        How each Lloyd iteration is computed; all give the same labels. "lloyd"
        measures every sample against every centroid; "hamerly" keeps distance bounds
        (Hamerly 2010) and measures only the samples whose label may change; "auto" makes
        "lloyd" passes while many labels change, then "hamerly" ones; "elkan", scikit-learn's
        name for its bounded algorithm, runs "hamerly" (one lower bound a sample, where Elkan's
        keeps one a centroid). Bounds need the fused C kernel (``kmeans_tf.native``), where the
        answers are bit for bit equal; on TensorFlow's ops every algorithm runs the plain passes.
    callback : callable or None
        Called as ``callback(state)`` after each iteration of each run, with a
        ``kmeans_tf.engine.progress.IterationState`` (the run, the iteration, its inertia, centroid
        shift, labels changed, cluster sizes, seconds since the run began, whether it converged). Each
        iteration then costs one more pass, for its inertia (shared with ``keep_iterations``); the
        labels and centroids are those of the fit without a callback. Returning False stops the fit
        after that iteration: that run keeps its centroids, the labels for them (one more pass),
        ``n_iter`` counting that iteration and ``converged`` as the stopping rule found it there
        (False unless that very iteration converged); no further run starts, and the best of the
        runs made (the stopped one among them) is returned. What the callback raises ends the fit.
    keep_history : bool, default=False
        Keep each iteration's centroids in ``result.centroid_history`` (to draw the run, say).
    keep_iterations : bool, default=False
        Keep each iteration's inertia, labels changed and centroid shift in ``result.iterations``
        (``Iterations``), at the cost of one more pass an iteration for the inertia.
    init_rounds : int >= 1, default=2
        The sampling rounds of ``init="k-means||"`` (Spark MLlib's default); ignored by the others.
    sample_weight : array of shape (n_samples,), finite and >= 0, or None, default=None
        As in scikit-learn: a sample counts as its weight in the cluster means, the inertia,
        and the initialisation ("random" draws samples, and k-means++ its first centroid and
        its candidates, with probability proportional to the weight). Integer weights give
        the answer of repeating each sample that many times, except that ``tol`` stays
        relative to the variance of the samples as given (unweighted, as in scikit-learn).
        Zero weights are allowed, but not all of them. None: every weight 1.
    memory_budget : int or None, default=None
        Bytes that a streamed fit may hold besides TensorFlow (chunks, labels; at least 1 MiB);
        None: about a quarter of physical memory. Labels that do not fit go to a scratch file.
    strategy : tf.distribute.MultiWorkerMirroredStrategy or MirroredStrategy, or None, default=None
        k-means on several workers (``kmeans_tf.distributed.replicas``): ``samples`` and ``sample_weight``
        are this worker's rows; every worker gets the same centroids, and its own rows' labels.
    checkpoint : str or path-like (an existing folder) or None, default=None
        With a strategy or streamed samples (``kmeans_tf.stream.checkpoint``): every ``checkpoint_every``
        iterations, worker 0 saves the centroids and iteration count to ``kmeans-checkpoint.npz`` in
        this folder (every worker's folder, shared); a rerun with the same folder, data and options
        resumes there and gives the uninterrupted run's answer. Removed when the fit ends. Needs
        ``n_init=1``, ``keep_history=False`` and ``keep_iterations=False``.
    checkpoint_every : int >= 1, default=10
    log_dir : str or path-like or None, default=None
        Write each iteration's inertia, shift, labels changed, seconds and cluster sizes for
        TensorBoard in this folder, a subfolder ``run-0``, ``run-1``, ... per run, and the centroids
        returned for its Embedding Projector (``kmeans_tf.engine.tensorboard``); with a strategy,
        worker 0 writes. Needs TensorBoard (``pip install 'kmeans-tf[tensorboard]'``) and costs what
        a ``callback`` costs.

    Returns
    -------
    KMeansResult
    """
    options = check_options(
        metric=metric,
        init=init,
        n_init=n_init,
        max_iter=max_iter,
        tol=tol,
        seed=seed,
        batch_size=batch_size,
        algorithm=algorithm,
        callback=callback,
        log_dir=log_dir,
        keep_history=keep_history,
        keep_iterations=keep_iterations,
        init_rounds=init_rounds,
        memory_budget=memory_budget,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
    )
    if strategy is not None:
        return distributed.kmeans(samples, n_clusters, sample_weight, strategy, options)
    if streaming.is_streamed(samples):
        return streaming.kmeans(samples, n_clusters, sample_weight, options)
    if checkpoint is not None:
        raise ValueError(
            f"checkpoint={checkpoint!r} needs a strategy or streamed samples (a memory map or Shards); "
            f"give checkpoint=None for samples in memory"
        )
    watch = progress.watch(options.callback, options.log_dir)
    rows_are_sparse = sparse.is_sparse(samples)
    if rows_are_sparse:
        samples, largest = sparse.check(samples), None
    else:
        samples, largest = validation.check_samples_and_largest(samples)
    n_samples, n_features = samples.shape
    options = validation.check_lloyd_options(n_clusters, n_samples, n_features, samples.dtype, options, sample_weight)

    if rows_are_sparse:  # not centred, which would make them dense
        prepared = sparse.prepared(samples, unit=options.metric == COSINE)
    elif options.metric == COSINE:
        prepared = prepare.unit_length(samples)
    else:  # centred, as scikit-learn does: the matmul distance loses less to rounding
        prepared = prepare.centre_and_scale(samples, largest)
    # tol is relative to the mean per-feature variance (unweighted), as in scikit-learn.
    scaled_tol = m_step.tolerance(options.tol, prepared.spread, n_samples * n_features)
    largest_norm = float(prepared.norms.max())
    norms = tf.constant(prepared.norms)
    kernel = kernels.kernel(options.batch_size, sparse=rows_are_sparse)
    weights = None if options.weights is None else tf.constant(options.weights)

    def seeded(run_seed):
        return seeding.initial_centroids(
            prepared.centred,
            options.n_clusters,
            options.init,
            np.random.RandomState(run_seed),
            options.weights,
            options.init_rounds,
        )

    @functools.cache
    def data():  # made at the first run, once its start is drawn: seeding holds the rows in a layout of its own
        if rows_are_sparse:
            return sparse.to_tensor(prepared.centred, in_place=kernel.reads_in_place)
        return prepare.tensor_over(prepared.centred)

    def run_once(initial, report):
        # Bounds the norm of every centroid to come: they stay in the samples' convex hull, or of unit length.
        norm_bound = max(largest_norm, prepare.largest_squared_norm(initial))
        if prepared.unit:
            norm_bound = max(norm_bound, 1.0) * (1 + 8 * float(np.finfo(samples.dtype).eps))
        return _run_once(
            samples,
            data(),
            initial,
            kernel,
            options.max_iter,
            scaled_tol,
            prepared,
            options.algorithm,
            norms,
            norm_bound,
            options.keep_history,
            weights,
            options.weights,
            options.keep_iterations,
            report,
        )

    if not isinstance(options.init, str):
        seeded = functools.partial(given_start, prepared.transformed(options.init))
    return best_of_runs(options.n_init, options.seed, seeded, run_once, watch)


def predict(samples, centroids, *, metric=DEFAULT_METRIC, batch_size=None, memory_budget=None):
    """Return the index (int64 array) of the nearest of ``centroids`` for each sample (streamed: see ``kmeans``).

    ``metric="cosine"``: the centroid of largest cosine similarity (a row of zeros: ValueError naming it).
    """
    metric = validation.check_metric(metric)
    if streaming.is_streamed(samples):
        return streaming.predict(samples, centroids, metric=metric, batch_size=batch_size, memory_budget=memory_budget)
    samples = _checked_samples(samples)
    centroids = validation.check_centroids(centroids, None, samples.shape[1], samples.dtype)
    kernel = kernels.kernel(validation.check_batch_size(batch_size), sparse=sparse.is_sparse(samples))
    data, centroids, _ = _about_the_centroids(samples, centroids, metric)
    return loops.labels_of(data, centroids, kernel).numpy()


def inertia(samples, centroids, *, metric=DEFAULT_METRIC, sample_weight=None):
    """Return the sum of squared distances from each sample to its nearest centroid, as a float.

    With ``sample_weight`` (shape (n_samples,), finite and >= 0), each distance is multiplied by its sample's weight.
    ``metric="cosine"``: the sum of ``1 - cos`` to the centroid of largest cosine similarity.
    """
    metric = validation.check_metric(metric)
    if streaming.is_streamed(samples):
        return streaming.inertia(samples, centroids, metric=metric, sample_weight=sample_weight)
    samples = _checked_samples(samples)
    centroids = validation.check_centroids(centroids, None, samples.shape[1], samples.dtype)
    sample_weight = validation.check_sample_weight(sample_weight, samples.shape[0])
    data, centroids_t, coordinates = _about_the_centroids(samples, centroids, metric)
    kernel = kernels.kernel(sparse=sparse.is_sparse(samples))
    labels = loops.labels_of(data, centroids_t, kernel)
    if coordinates.shrunk:
        return prepare.inertia_in_range(_exact_inertia(samples, centroids, labels.numpy(), sample_weight))
    weights = None if sample_weight is None else tf.constant(sample_weight)
    return coordinates.unscaled_inertia(float(loops.inertia_of(data, centroids_t, labels, kernel, weights)))


def _about_the_centroids(samples, centroids, metric):
    """Samples and centroids as tensors in the coordinates the kernel measures in, and those (``prepare.Prepared``).

    Euclidean: less the centroids' mean and scaled as ``prepare.scale_exponent`` says (distances by
    matmul lose less to rounding near 0: float32 rows around 1e4 would be mislabelled); sparse rows
    are not centred. Cosine: both scaled to unit length (ValueError naming a row of zeros).
    """
    if sparse.is_sparse(samples):
        rows = sparse.prepared(samples, unit=metric == COSINE, centroids=None if metric == COSINE else centroids)
        if rows.unit:
            centroids = spherical.unit_copy(centroids, "centroids")
        return sparse.to_tensor(rows.centred), tf.constant(np.ldexp(centroids, rows.exponent)), rows
    if metric == COSINE:
        data = prepare.unit_length(samples)
        unit_centroids = spherical.unit_copy(centroids, "centroids")
        return prepare.tensor_over(data.centred), tf.constant(unit_centroids), data
    exponent = prepare.scale_exponent(samples, centroids)
    offset = np.ldexp(centroids.mean(axis=0, dtype=np.float64), exponent).astype(samples.dtype)
    data, centroids = np.ldexp(samples, exponent), np.ldexp(centroids, exponent)
    data -= offset
    centroids -= offset
    return tf.constant(data), tf.constant(centroids), prepare.Prepared(None, None, 0.0, exponent)


def _checked_samples(samples):
    """The door's check of samples in memory: an array, or sparse rows (canonical CSR)."""
    return sparse.check(samples) if sparse.is_sparse(samples) else validation.check_samples(samples)


def _exact_inertia(samples, centroids, labels, weights):
    """``prepare.exact_inertia`` of an array or of sparse rows."""
    if sparse.is_sparse(samples):
        return sparse.exact_inertia(samples, centroids, labels, weights)
    return prepare.exact_inertia(samples, centroids, labels, weights)


def _run_once(
    samples, data, initial, kernel, max_iter, tol, prepared, algorithm, norms, norm_bound, keep_history, weights,
    sample_weight, keep_iterations, report=None,
):  # fmt: skip
    """Run one k-means from ``initial`` (in the prepared coordinates) and return a KMeansResult.

    ``samples`` and ``sample_weight`` (numpy, or None): what the inertia of data scaled down is measured on.
    ``report``: the run's ``progress.RunWatch``, or None.
    """
    centroids, labels, n_iter, converged, history, progress = loops.run(
        data,
        tf.constant(initial),
        tf.constant(max_iter),
        tf.constant(tol, tf.float64),
        norms,
        tf.constant(norm_bound, tf.float64),
        algorithm,
        keep_history,
        kernel,
        prepared.sum_exponents(sample_weight),
        weights,
        keep_iterations,
        prepared.unit,
        None if report is None else _in_data_units(report, prepared, tol),
    )
    dtype = data.dtype.as_numpy_dtype
    found = prepared.unscaled(centroids, dtype)  # a tensor: read in place, one copy made
    if prepared.shrunk:
        inertia = prepare.inertia_in_range(_exact_inertia(samples, found, labels.numpy(), sample_weight))
    else:
        inertia = prepared.unscaled_inertia(loops.inertia_of(data, centroids, labels, kernel, weights))
    return KMeansResult(
        centroids=found,
        labels=labels.numpy(),
        inertia=inertia,
        n_iter=int(n_iter),
        converged=bool(converged),
        centroid_history=prepared.unscaled(history.numpy(), dtype) if keep_history else None,
        iterations=Iterations.from_rows(progress.numpy(), tol, prepared) if keep_iterations else None,
    )


def _in_data_units(report, prepared, tol):
    """``report`` (a ``progress.RunWatch``) called with the loop's numbers: squared distances in the data's units."""

    def call(iteration, inertia, changed, shift, sizes, converged, skipped):
        shift, tol_here = prepared.unscaled_squared([shift, tol])
        return report(iteration, prepared.unscaled_costs(inertia), changed, shift, sizes, converged, tol_here, skipped)

    return call

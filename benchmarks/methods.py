"""The benchmark's methods: the data, the numpy reference, each library's runner, and the
timing of one method on one size inside a child process of its own.

Every method starts from the same initial centroids on the same seeded float32 data and
returns ``(centroids, n_iter)``; the inertia all of them are judged by is computed here, in
float64, by one formula. ``engine-weighted`` runs the engine with seeded random sample
weights in [0.5, 2): its answer is another problem's, so only its time is compared (with
the unweighted engine's). ``engine-cosine`` and ``faiss-spherical`` run spherical k-means
(``metric="cosine"``; faiss's ``spherical=True``) on the same data, from the same initial
centroids scaled to unit length: they are judged by the cosine inertia (the sum of ``1 - cos``),
against each other.
"""

import argparse
import dataclasses
import functools
import importlib
import json
import time

import numpy as np

from kmeans_tf.engine.options import COSINE, DEFAULT_ALGORITHM, DEFAULT_METRIC

NUMPY = "numpy"
SKLEARN_LLOYD = "sklearn-lloyd"
SKLEARN_ELKAN = "sklearn-elkan"
FAISS = "faiss"
ENGINE = "engine"
ENGINE_WEIGHTED = "engine-weighted"
ENGINE_COSINE = "engine-cosine"
FAISS_SPHERICAL = "faiss-spherical"
# In running order: a faiss convergence run needs the iteration count of the method in CONVERGENCE_CAPS.
METHODS = (NUMPY, SKLEARN_LLOYD, SKLEARN_ELKAN, FAISS, ENGINE, ENGINE_WEIGHTED, ENGINE_COSINE, FAISS_SPHERICAL)
# Run only when --methods names them: faiss-spherical takes as long as faiss (about a second an iteration at
# 200k x 128, k=256, on 2 cores), and with engine-cosine it would add over a fifth to the default run.
OPT_IN_METHODS = (FAISS_SPHERICAL,)
DEFAULT_METHODS = tuple(method for method in METHODS if method not in OPT_IN_METHODS)
PEERS = (SKLEARN_LLOYD, SKLEARN_ELKAN, FAISS)
ENGINES = (ENGINE, ENGINE_WEIGHTED, ENGINE_COSINE)
# Spherical k-means: judged by the cosine inertia, against COSINE_PEERS.
COSINE_METHODS = (ENGINE_COSINE, FAISS_SPHERICAL)
COSINE_PEERS = (FAISS_SPHERICAL,)
# faiss has no tolerance: its convergence run makes as many iterations as this method's needed.
CONVERGENCE_CAPS = {FAISS: SKLEARN_LLOYD, FAISS_SPHERICAL: ENGINE_COSINE}
# The module each method imports before its memory baseline is taken.
METHOD_MODULES = {
    NUMPY: "numpy",
    SKLEARN_LLOYD: "sklearn.cluster",
    SKLEARN_ELKAN: "sklearn.cluster",
    FAISS: "faiss",
    ENGINE: "kmeans_tf.engine.kmeans",
    ENGINE_WEIGHTED: "kmeans_tf.engine.kmeans",
    ENGINE_COSINE: "kmeans_tf.engine.kmeans",
    FAISS_SPHERICAL: "faiss",
}
WEIGHTS_RANGE = (0.5, 2.0)  # engine-weighted's sample weights, uniform in this range

CONVERGENCE_TOL = 1e-4
CONVERGENCE_MAX_ITER = 300
# OpenBLAS overrides removed from the children's environment, so that numpy, scikit-learn
# and faiss get the BLAS kernel OpenBLAS picks for this CPU.
BLAS_ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
CHUNK_BYTES = 4 * 2**20  # one (rows, n_clusters) float block of the numpy reference
DATA_SEED = 0


@dataclasses.dataclass(frozen=True)
class Size:
    """A problem size: ``n_samples`` rows of ``n_features`` float32 in ``n_clusters`` clusters."""

    n_samples: int
    n_features: int
    n_clusters: int

    @classmethod
    def parse(cls, text):
        """Read ``NxD:K`` (``1e6x16:100``); raise ``argparse.ArgumentTypeError`` otherwise."""
        try:
            shape, clusters = text.split(":")
            rows, features = shape.lower().split("x")
            size = cls(*(int(float(part)) for part in (rows, features, clusters)))
        except ValueError:
            raise argparse.ArgumentTypeError(f"size {text!r} should read NxD:K, e.g. 100000x32:64") from None
        if min(size.n_samples, size.n_features, size.n_clusters) < 1 or size.n_samples < size.n_clusters:
            raise argparse.ArgumentTypeError(f"size {text!r} should have N >= K >= 1 and D >= 1")
        return size

    def __str__(self):
        return f"{self.n_samples}x{self.n_features}:{self.n_clusters}"

    @property
    def data_mb(self):
        """The samples' size in MiB."""
        return self.n_samples * self.n_features * 4 / 2**20


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def make_blobs(size, seed=DATA_SEED):
    """Make seeded float32 blobs and initial centroids for one size.

    Parameters
    ----------
    size : Size
    seed : int, default=0

    Returns
    -------
    samples : float32 array of shape (n_samples, n_features)
        ``n_clusters`` standard-normal centres, each sample one of them plus standard-normal
        noise: the blobs overlap, so Lloyd needs tens of iterations to converge.
    init : float32 array of shape (n_clusters, n_features)
        ``n_clusters`` distinct samples, the initial centroids of every method.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((size.n_clusters, size.n_features), dtype=np.float32)
    samples = rng.standard_normal((size.n_samples, size.n_features), dtype=np.float32)
    samples += centres[rng.integers(size.n_clusters, size=size.n_samples)]
    init = samples[rng.choice(size.n_samples, size.n_clusters, replace=False)]
    return samples, init


# ---------------------------------------------------------------------------
# The numpy reference, and the inertia every method is judged by
# ---------------------------------------------------------------------------


def nearest(samples, centroids):
    """Return the nearest centroid of each sample and the squared distance to it.

    Distances are ``||c||^2 - 2 x.c + ||x||^2``, computed in ``centroids.dtype`` a chunk of
    rows at a time, so the full (n_samples, n_clusters) matrix is never held.

    Parameters
    ----------
    samples : array of shape (n_samples, n_features)
    centroids : float array of shape (n_clusters, n_features)

    Returns
    -------
    labels : int64 array of shape (n_samples,)
    distances : float64 array of shape (n_samples,)
    """
    n_samples, n_clusters = samples.shape[0], centroids.shape[0]
    rows = max(1, CHUNK_BYTES // (n_clusters * centroids.itemsize))
    squared_norms = np.einsum("ij,ij->i", centroids, centroids)
    labels = np.empty(n_samples, np.int64)
    distances = np.empty(n_samples, np.float64)
    for start in range(0, n_samples, rows):
        chunk = samples[start : start + rows].astype(centroids.dtype, copy=False)
        partial = chunk @ centroids.T
        partial *= -2
        partial += squared_norms
        chunk_labels = partial.argmin(axis=1)
        labels[start : start + rows] = chunk_labels
        distances[start : start + rows] = partial[np.arange(len(chunk)), chunk_labels] + np.einsum(
            "ij,ij->i", chunk, chunk
        )
    return labels, np.maximum(distances, 0)


def update_centroids(samples, labels, previous):
    """Return the mean of each cluster's samples (float64); an empty cluster keeps ``previous``."""
    n_clusters = previous.shape[0]
    counts = np.bincount(labels, minlength=n_clusters)
    sums = np.stack(
        [np.bincount(labels, weights=samples[:, feature], minlength=n_clusters) for feature in range(samples.shape[1])],
        axis=1,
    )
    return np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], previous)


def numpy_lloyd(samples, init, *, max_iter, tol):
    """Run Lloyd's k-means in plain numpy, with scikit-learn's stopping rule.

    Distances are float32 like the peers'; centroid sums are float64. Stops when the labels
    stop changing or when the total squared centroid shift is at most ``tol`` times the mean
    per-feature variance. (Unlike scikit-learn, an empty cluster keeps its centroid; the
    benchmark's blobs leave none empty.)

    Parameters
    ----------
    samples : float32 array of shape (n_samples, n_features)
    init : array of shape (n_clusters, n_features)
    max_iter : int
    tol : float

    Returns
    -------
    centroids : float32 array of shape (n_clusters, n_features)
    n_iter : int
    """
    scaled_tol = tol * float(np.mean(np.var(samples, axis=0, dtype=np.float64)))
    centroids = init.astype(np.float64)
    previous_labels = None
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is read after the loop)
        labels, _ = nearest(samples, centroids.astype(samples.dtype))
        new_centroids = update_centroids(samples, labels, centroids)
        shift = float(np.sum((new_centroids - centroids) ** 2))
        centroids = new_centroids
        if np.array_equal(labels, previous_labels) or shift <= scaled_tol:
            break
        previous_labels = labels
    return centroids.astype(samples.dtype), n_iter


def inertia(samples, centroids):
    """Return the sum of squared distances to the nearest of ``centroids``, computed in float64."""
    _, distances = nearest(samples, np.asarray(centroids, np.float64))
    return float(distances.sum())


def unit_rows(points):
    """Return ``points`` with each row scaled to unit length (a new array of their dtype)."""
    lengths = np.linalg.norm(np.asarray(points, np.float64), axis=1, keepdims=True)
    return (points / lengths).astype(points.dtype)


def cosine_inertia(samples, centroids):
    """Return the sum of ``1 - cos`` to the most similar of ``centroids``, computed in float64.

    For rows of unit length, ``1 - cos`` is half the squared distance.
    """
    return inertia(unit_rows(samples), unit_rows(np.asarray(centroids, np.float64))) / 2


# ---------------------------------------------------------------------------
# The methods: each returns (centroids, n_iter) after a run from ``init``
# ---------------------------------------------------------------------------


def one_run(init, max_iter, tol):
    """The keywords of one run from ``init`` that scikit-learn's ``KMeans`` and ``kmeans_tf.kmeans`` share."""
    return {"init": init, "n_init": 1, "max_iter": max_iter, "tol": tol}


def run_sklearn(samples, init, *, max_iter, tol, algorithm):
    """Run ``sklearn.cluster.KMeans`` with one initialisation, ``init``."""
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=len(init), **one_run(init, max_iter, tol), algorithm=algorithm, random_state=DATA_SEED)
    model.fit(samples)
    return model.cluster_centers_, int(model.n_iter_)


def run_faiss(samples, init, *, max_iter, tol, spherical=False):
    """Run ``faiss.Kmeans`` for ``max_iter`` iterations on all samples (``tol`` is ignored).

    ``spherical``: spherical k-means on the samples scaled to unit length (a copy, made in the
    call as the engine makes its own), from ``init`` scaled to unit length.
    """
    import faiss

    n_samples, n_features = samples.shape
    if spherical:
        samples, init = np.array(samples, np.float32), unit_rows(init)
        faiss.normalize_L2(samples)
    # faiss subsamples to 256 points per centroid by default; here it trains on every sample.
    every_sample = {"max_points_per_centroid": n_samples, "min_points_per_centroid": 1}
    model = faiss.Kmeans(
        n_features, len(init), niter=max_iter, seed=DATA_SEED, verbose=False, spherical=spherical, **every_sample
    )
    model.train(samples, init_centroids=init)
    return model.centroids, len(model.iteration_stats)


def run_engine(
    samples, init, *, max_iter, tol, batch_size=None, algorithm=DEFAULT_ALGORITHM, weighted=False, metric=DEFAULT_METRIC
):  # fmt: skip
    """Run ``kmeans_tf.kmeans`` from ``init`` (with ``weighted``, with ``bench_weights``; with ``metric="cosine"``,
    from ``init`` scaled to unit length)."""
    import kmeans_tf

    weights = bench_weights(len(samples)) if weighted else None
    start = unit_rows(init) if metric == COSINE else init
    result = kmeans_tf.kmeans(
        samples,
        len(init),
        **one_run(start, max_iter, tol),
        metric=metric,
        seed=DATA_SEED,
        batch_size=batch_size,
        algorithm=algorithm,
        sample_weight=weights,
    )
    return result.centroids, result.n_iter


@functools.lru_cache(maxsize=1)
def bench_weights(n_samples):
    """Seeded sample weights, uniform in WEIGHTS_RANGE (made once per process: not timed after the first call)."""
    return np.random.default_rng(DATA_SEED + 1).uniform(*WEIGHTS_RANGE, n_samples)


def method_runner(method, batch_size, algorithm):
    """Return the function that runs ``method`` as ``run(samples, init, *, max_iter, tol)``."""
    runners = {
        NUMPY: numpy_lloyd,
        SKLEARN_LLOYD: functools.partial(run_sklearn, algorithm="lloyd"),
        SKLEARN_ELKAN: functools.partial(run_sklearn, algorithm="elkan"),
        FAISS: run_faiss,
        ENGINE: functools.partial(run_engine, batch_size=batch_size, algorithm=algorithm),
        ENGINE_WEIGHTED: functools.partial(run_engine, batch_size=batch_size, algorithm=algorithm, weighted=True),
        ENGINE_COSINE: functools.partial(run_engine, batch_size=batch_size, algorithm=algorithm, metric=COSINE),
        FAISS_SPHERICAL: functools.partial(run_faiss, spherical=True),
    }
    return runners[method]


def method_device(method):
    """Name the device that runs ``method``: the engine's GPUs when TensorFlow sees any, else CPU
    (with the engine's kernel: its fused C kernel, or TensorFlow's ops)."""
    if method not in ENGINES:
        return "CPU"
    import tensorflow as tf  # already imported, quietly, by kmeans_tf's engine

    from kmeans_tf import native

    gpus = tf.config.list_physical_devices("GPU")
    cpu = "CPU, C kernel" if native.kernel() is not None else "CPU, TF ops"
    return ", ".join(gpu.name.replace("/physical_device:", "") for gpu in gpus) or cpu


# ---------------------------------------------------------------------------
# The child process: one method, one size
# ---------------------------------------------------------------------------


def memory_mb(field):
    """Return a ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def blas_libraries():
    """Describe the BLAS libraries threadpoolctl finds loaded in this process."""
    from threadpoolctl import threadpool_info

    return [
        f"{info['internal_api']} {info['version']} ({info['prefix']}, "
        f"{info.get('architecture')} kernel, {info['num_threads']} threads)"
        for info in threadpool_info()
        if info["user_api"] == "blas"
    ]


def timed(run, *args, **kwargs):
    """Call ``run`` and return (seconds, its result)."""
    start = time.perf_counter()
    result = run(*args, **kwargs)
    return time.perf_counter() - start, result


def measure(method, workdir, settings):
    """Measure one method on the data in ``workdir``; write its results in ``workdir / method``.

    ``settings``: the child's command line (``iters``, ``repeats``, ``converge_max_iter``,
    ``batch_size``, ``algorithm``). result.json holds the timings and memory; centroids.npy the
    centroids after ``iters`` iterations, and converged.npy those of the convergence run (when
    ``converge_max_iter``).
    """
    samples = np.load(workdir / "samples.npy")
    init = np.load(workdir / "init.npy")
    importlib.import_module(METHOD_MODULES[method])
    run = method_runner(method, settings.batch_size, settings.algorithm)
    start_rss = memory_mb("VmRSS")

    first_call_s, _ = timed(run, samples, init, max_iter=settings.iters, tol=0.0)
    per_iter_s = []
    for _ in range(settings.repeats):
        seconds, (centroids, n_iter) = timed(run, samples, init, max_iter=settings.iters, tol=0.0)
        per_iter_s.append(seconds / n_iter)
    result = {"first_call_s": first_call_s, "ms_per_iter": 1000 * float(np.median(per_iter_s)), "iters_run": n_iter}
    if settings.converge_max_iter:
        converge_s, (converged, converge_n_iter) = timed(
            run, samples, init, max_iter=settings.converge_max_iter, tol=CONVERGENCE_TOL
        )
        result.update(converge_s=converge_s, converge_n_iter=converge_n_iter)
        np.save(workdir / method / "converged.npy", converged)
    result.update(
        peak_rss_mb=memory_mb("VmHWM"), start_rss_mb=start_rss, device=method_device(method), blas=blas_libraries()
    )
    np.save(workdir / method / "centroids.npy", centroids)
    (workdir / method / "result.json").write_text(json.dumps(result))

"""Benchmark ``compat.eager.kmeans`` against scikit-learn, faiss and a numpy Lloyd reference.

Issue 5 asks the engine to be faster than its peers (scikit-learn's "lloyd" and "elkan",
faiss) on this machine, measured in one run. Every method starts from the same initial
centroids on the same seeded float32 data, and runs in a Python process of its own, so
its peak memory is its own.

Usage
-----
::

    make bench                                             # installs the bench extra, runs the defaults
    python benchmarks/bench_kmeans.py                      # issue 5's three sizes (15-20 min on 2 cores)
    python benchmarks/bench_kmeans.py --quick              # one small size: a smoke run (< 2 min)
    python benchmarks/bench_kmeans.py --sizes 1e6x16:100 --repeats 3
    python benchmarks/bench_kmeans.py --methods engine sklearn-lloyd --batch-size 65536
    python benchmarks/bench_kmeans.py --algorithm lloyd    # the engine without distance bounds
    KMEANS_TF_NATIVE=0 python benchmarks/bench_kmeans.py   # the engine on TensorFlow's ops only
    python benchmarks/bench_kmeans.py --scaling --plot     # time against n, saves benchmarks/scaling.png

A size is ``NxD:K``: N samples of D features in K clusters (``1e6`` is read as 1000000).

What the table shows, per size and method
-----------------------------------------
ms/iter
    Median over ``--repeats`` runs of ``--iters`` Lloyd iterations (``tol=0``), divided by
    the iterations each run made (a run stops early only if the labels stop changing).
1st call
    One untimed warm-up run with the same settings, done first: for the engine this
    includes TensorFlow's tracing.
converge s, iters, conv inertia
    One run with ``tol=1e-4, max_iter=300``: seconds, iterations, and the inertia reached
    (float32 rounding sends the methods down slightly different paths, so they may stop at
    different iterations). faiss has no such tolerance, so it runs as many iterations as
    sklearn-lloyd needed (it stops earlier when its objective stops changing).
vs peer
    The time divided by the fastest peer's (peers: sklearn-lloyd, sklearn-elkan, faiss).
    Issue 5's targets for the engine: <= 0.8 per iteration, <= 1 to convergence.
peak RSS, above start
    The child's ``VmHWM`` (peak resident memory), and how much of it came after the
    imports and the data were loaded. ``ru_maxrss`` is not used: on Linux it carries the
    parent's peak over fork and exec, so it would report the parent's data too.
inertia, rel. diff
    The sum of squared distances to the nearest centroid after ``--iters`` iterations,
    evaluated here in float64 from each method's centroids (one formula for all), and its
    relative difference to the numpy reference. Above 1e-4 the run prints FAIL and exits 1.
device
    Where the work ran: the engine's GPUs when TensorFlow lists any, else CPU; for the
    engine on the CPU also which kernel ran (its fused C kernel, or TensorFlow's ops).

The children run without ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` (both are
removed; this process keeps its environment), so that numpy, scikit-learn and faiss get
the BLAS kernel OpenBLAS picks for this CPU; each table says which one threadpoolctl saw.
"""
import argparse
import dataclasses
import functools
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent

NUMPY = "numpy"
SKLEARN_LLOYD = "sklearn-lloyd"
SKLEARN_ELKAN = "sklearn-elkan"
FAISS = "faiss"
ENGINE = "engine"
# In running order: faiss's convergence run needs sklearn-lloyd's iteration count.
METHODS = (NUMPY, SKLEARN_LLOYD, SKLEARN_ELKAN, FAISS, ENGINE)
PEERS = (SKLEARN_LLOYD, SKLEARN_ELKAN, FAISS)
# The module each method imports before its memory baseline is taken.
METHOD_MODULES = {NUMPY: "numpy", SKLEARN_LLOYD: "sklearn.cluster", SKLEARN_ELKAN: "sklearn.cluster",
                  FAISS: "faiss", ENGINE: "compat.eager"}

DEFAULT_SIZES = ("100000x32:64", "1000000x16:100", "200000x128:256")
QUICK_SIZES = ("20000x16:32",)
SCALING_FEATURES = 16
SCALING_CLUSTERS = 100
SCALING_SAMPLES = (10**5, 3 * 10**5, 10**6, 3 * 10**6, 10**7)
QUICK_SCALING_SAMPLES = (10**4, 3 * 10**4, 10**5)
SCALING_METHODS = (ENGINE, SKLEARN_LLOYD)
DEFAULT_PLOT = REPO_ROOT / "benchmarks" / "scaling.png"

CONVERGENCE_TOL = 1e-4
CONVERGENCE_MAX_ITER = 300
INERTIA_RTOL = 1e-4
ENGINE_ITER_TARGET = 0.8  # engine ms/iter over the fastest peer's
ENGINE_CONVERGE_TARGET = 1.0
FIRST_CALL_TARGET_S = 1.0
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
        chunk = samples[start:start + rows].astype(centroids.dtype, copy=False)
        partial = chunk @ centroids.T
        partial *= -2
        partial += squared_norms
        chunk_labels = partial.argmin(axis=1)
        labels[start:start + rows] = chunk_labels
        distances[start:start + rows] = (partial[np.arange(len(chunk)), chunk_labels]
                                         + np.einsum("ij,ij->i", chunk, chunk))
    return labels, np.maximum(distances, 0)


def update_centroids(samples, labels, previous):
    """Return the mean of each cluster's samples (float64); an empty cluster keeps ``previous``."""
    n_clusters = previous.shape[0]
    counts = np.bincount(labels, minlength=n_clusters)
    sums = np.stack([np.bincount(labels, weights=samples[:, feature], minlength=n_clusters)
                     for feature in range(samples.shape[1])], axis=1)
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
    for n_iter in range(1, max_iter + 1):
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


# ---------------------------------------------------------------------------
# The methods: each returns (centroids, n_iter) after a run from ``init``
# ---------------------------------------------------------------------------

def run_sklearn(samples, init, *, max_iter, tol, algorithm):
    """Run ``sklearn.cluster.KMeans`` with one initialisation, ``init``."""
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=max_iter, tol=tol,
                   algorithm=algorithm, random_state=DATA_SEED).fit(samples)
    return model.cluster_centers_, int(model.n_iter_)


def run_faiss(samples, init, *, max_iter, tol):
    """Run ``faiss.Kmeans`` for ``max_iter`` iterations on all samples (``tol`` is ignored).

    faiss subsamples to 256 points per centroid by default; here it trains on every sample.
    """
    import faiss

    n_samples, n_features = samples.shape
    model = faiss.Kmeans(n_features, len(init), niter=max_iter, seed=DATA_SEED, verbose=False,
                         max_points_per_centroid=n_samples, min_points_per_centroid=1)
    model.train(samples, init_centroids=init)
    return model.centroids, len(model.iteration_stats)


def run_engine(samples, init, *, max_iter, tol, batch_size=None, algorithm="auto"):
    """Run ``compat.eager.kmeans`` from ``init``."""
    from compat import eager

    result = eager.kmeans(samples, len(init), init=init, n_init=1, max_iter=max_iter, tol=tol,
                          seed=DATA_SEED, batch_size=batch_size, algorithm=algorithm)
    return result.centroids, result.n_iter


def method_runner(method, batch_size, algorithm):
    """Return the function that runs ``method`` as ``run(samples, init, *, max_iter, tol)``."""
    runners = {
        NUMPY: numpy_lloyd,
        SKLEARN_LLOYD: functools.partial(run_sklearn, algorithm="lloyd"),
        SKLEARN_ELKAN: functools.partial(run_sklearn, algorithm="elkan"),
        FAISS: run_faiss,
        ENGINE: functools.partial(run_engine, batch_size=batch_size, algorithm=algorithm),
    }
    return runners[method]


def method_device(method):
    """Name the device that runs ``method``: the engine's GPUs when TensorFlow sees any, else CPU
    (with the engine's kernel: its fused C kernel, or TensorFlow's ops)."""
    if method != ENGINE:
        return "CPU"
    import tensorflow as tf  # already imported, quietly, by compat.eager

    from compat import native

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

    return [f"{info['internal_api']} {info['version']} ({info['prefix']}, "
            f"{info.get('architecture')} kernel, {info['num_threads']} threads)"
            for info in threadpool_info() if info["user_api"] == "blas"]


def timed(run, *args, **kwargs):
    """Call ``run`` and return (seconds, its result)."""
    start = time.perf_counter()
    result = run(*args, **kwargs)
    return time.perf_counter() - start, result


def measure(method, workdir, *, iters, repeats, converge_max_iter, batch_size, algorithm):
    """Measure one method on the data in ``workdir``; write its results in ``workdir / method``.

    result.json holds the timings and memory; centroids.npy the centroids after ``iters``
    iterations, and converged.npy those of the convergence run (when ``converge_max_iter``).
    """
    samples = np.load(workdir / "samples.npy")
    init = np.load(workdir / "init.npy")
    importlib.import_module(METHOD_MODULES[method])
    run = method_runner(method, batch_size, algorithm)
    start_rss = memory_mb("VmRSS")

    first_call_s, _ = timed(run, samples, init, max_iter=iters, tol=0.0)
    per_iter_s = []
    for _ in range(repeats):
        seconds, (centroids, n_iter) = timed(run, samples, init, max_iter=iters, tol=0.0)
        per_iter_s.append(seconds / n_iter)
    result = {"first_call_s": first_call_s, "ms_per_iter": 1000 * float(np.median(per_iter_s)),
              "iters_run": n_iter}
    if converge_max_iter:
        converge_s, (converged, converge_n_iter) = timed(run, samples, init, max_iter=converge_max_iter,
                                                         tol=CONVERGENCE_TOL)
        result.update(converge_s=converge_s, converge_n_iter=converge_n_iter)
        np.save(workdir / method / "converged.npy", converged)
    result.update(peak_rss_mb=memory_mb("VmHWM"), start_rss_mb=start_rss,
                  device=method_device(method), blas=blas_libraries())
    np.save(workdir / method / "centroids.npy", centroids)
    (workdir / method / "result.json").write_text(json.dumps(result))


# ---------------------------------------------------------------------------
# The parent: data, children, checks
# ---------------------------------------------------------------------------

def child_environment():
    """Return this environment without the OpenBLAS overrides, with the repository importable."""
    env = {name: value for name, value in os.environ.items() if name not in BLAS_ENV_VARS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return env


def write_data(size, workdir):
    """Generate the data of ``size`` into ``workdir``; return the samples (for the inertia check)."""
    samples, init = make_blobs(size)
    np.save(workdir / "samples.npy", samples)
    np.save(workdir / "init.npy", init)
    return samples


def run_child(method, workdir, args, *, converge_max_iter):
    """Measure ``method`` in a fresh Python process; return its result dict, or None if it crashed."""
    shutil.rmtree(workdir / method, ignore_errors=True)  # no results left from another size
    (workdir / method).mkdir()
    command = [sys.executable, str(Path(__file__).resolve()), "--child", method, "--workdir", str(workdir),
               "--iters", str(args.iters), "--repeats", str(args.repeats),
               "--converge-max-iter", str(converge_max_iter)]
    if args.batch_size:
        command += ["--batch-size", str(args.batch_size)]
    command += ["--algorithm", args.algorithm]
    process = subprocess.run(command, env=child_environment(), capture_output=True, text=True)
    if process.returncode != 0:
        print(f"{method} exited with status {process.returncode}:\n{process.stderr[-3000:]}", flush=True)
        return None
    return json.loads((workdir / method / "result.json").read_text())


def add_inertias(result, samples, directory):
    """Add the inertias of the centroids a child left in ``directory`` to its ``result``."""
    result["inertia"] = inertia(samples, np.load(directory / "centroids.npy"))
    if (directory / "converged.npy").exists():
        result["converged_inertia"] = inertia(samples, np.load(directory / "converged.npy"))


def benchmark_size(size, methods, args, workdir):
    """Run ``methods`` on one size.

    Returns
    -------
    results : dict
        ``{method: result}`` for the methods that ran, each result with its inertia added.
    failures : list of str
        A FAIL line for each method whose process crashed.
    """
    samples = write_data(size, workdir)
    results, failures = {}, []
    for method in methods:
        if method == FAISS and SKLEARN_LLOYD in results:
            converge_max_iter = results[SKLEARN_LLOYD]["converge_n_iter"]
        else:
            converge_max_iter = CONVERGENCE_MAX_ITER
        print(f"  {size} {method} ...", flush=True)
        result = run_child(method, workdir, args, converge_max_iter=converge_max_iter)
        if result is None:
            failures.append(f"FAIL {method} at {size}: its process crashed")
            continue
        add_inertias(result, samples, workdir / method)
        results[method] = result
    return results, failures


def check_inertias(results):
    """Compare every inertia with the numpy reference's (else the first method's); return FAIL lines."""
    if not results:
        return []
    reference = NUMPY if NUMPY in results else next(iter(results))
    expected = results[reference]["inertia"]
    failures = []
    for method, result in results.items():
        result["inertia_rel_diff"] = abs(result["inertia"] - expected) / expected
        if result["inertia_rel_diff"] > INERTIA_RTOL:
            failures.append(f"FAIL {method}: inertia {result['inertia']:.8g} differs from {reference}'s "
                            f"{expected:.8g} by {result['inertia_rel_diff']:.2e} relative (> {INERTIA_RTOL:g})")
    return failures


def fastest_peer(results, key):
    """Return the smallest ``key`` among the peers that ran, or None."""
    values = [results[peer][key] for peer in PEERS if peer in results and key in results[peer]]
    return min(values) if values else None


def ratio(value, reference):
    """Format ``value / reference``, or "-" when either is missing."""
    return f"{value / reference:.2f}" if value is not None and reference else "-"


# ---------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------

def format_table(headers, rows):
    """Lay out ``rows`` (lists of strings) under ``headers``, the first column left-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        return "  ".join(str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
                         for i, (cell, width) in enumerate(zip(cells, widths)))

    return "\n".join([line(headers), line(["-" * width for width in widths])] + [line(row) for row in rows])


def size_table(results):
    """Return the table of one size's results, one row per method."""
    best_iter = fastest_peer(results, "ms_per_iter")
    best_converge = fastest_peer(results, "converge_s")
    headers = ["method", "ms/iter", "vs peer", "1st call s", "converge s", "iters", "vs peer", "conv inertia",
               "peak RSS MB", "above start", "inertia", "rel. diff", "device"]
    rows = []
    for method, r in results.items():
        rows.append([method, f"{r['ms_per_iter']:.1f}", ratio(r["ms_per_iter"], best_iter),
                     f"{r['first_call_s']:.2f}", f"{r['converge_s']:.2f}", str(r["converge_n_iter"]),
                     ratio(r["converge_s"], best_converge), f"{r['converged_inertia']:.7g}", f"{r['peak_rss_mb']:.0f}",
                     f"{r['peak_rss_mb'] - r['start_rss_mb']:.0f}", f"{r['inertia']:.7g}",
                     f"{r['inertia_rel_diff']:.1e}", r["device"]])
    return format_table(headers, rows)


def engine_verdicts(results):
    """Return lines comparing the engine with issue 5's targets."""
    if ENGINE not in results:
        return []
    engine = results[ENGINE]
    overhead_s = engine["first_call_s"] - engine["ms_per_iter"] * engine["iters_run"] / 1000
    verdict = "met" if overhead_s < FIRST_CALL_TARGET_S else "MISSED"
    lines = [f"engine first call: {engine['first_call_s']:.2f} s, about {overhead_s:.2f} s more than "
             f"a warm call (target < {FIRST_CALL_TARGET_S:g} s): {verdict}"]
    checks = [("per iteration", engine["ms_per_iter"], fastest_peer(results, "ms_per_iter"), ENGINE_ITER_TARGET),
              ("to convergence", engine.get("converge_s"), fastest_peer(results, "converge_s"),
               ENGINE_CONVERGE_TARGET)]
    for what, value, best, target in checks:
        if value is not None and best:
            verdict = "met" if value / best <= target else "MISSED"
            lines.append(f"engine {what}: {value / best:.2f}x the fastest peer (target <= {target:g}): {verdict}")
    return lines


def blas_lines(results):
    """Return one line per BLAS library the children saw, with the methods that saw it."""
    seen = {}
    for method, result in results.items():
        for library in result["blas"]:
            seen.setdefault(library, []).append(method)
    return [f"BLAS {library}: {', '.join(methods)}" for library, methods in seen.items()]


def package_version(name):
    """Return the installed version of distribution ``name``, or "not installed"."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_info():
    """Return lines describing this machine, the library versions and the BLAS environment."""
    with open("/proc/cpuinfo") as cpuinfo:
        models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    with open("/proc/meminfo") as meminfo:
        memory_gb = int(meminfo.readline().split()[1]) / 2**20
    versions = ", ".join(f"{name} {package_version(name)}"
                         for name in ("numpy", "scikit-learn", "tensorflow", "faiss-cpu", "threadpoolctl"))
    blas_env = ", ".join(f"{name}={os.environ[name]}" if name in os.environ else f"{name} unset"
                         for name in BLAS_ENV_VARS)
    load = os.getloadavg()
    busy = " - BUSY: other work will skew the timings" if load[0] > 0.5 * os.cpu_count() else ""
    return [f"CPU: {models[0] if models else platform.processor()}, {os.cpu_count()} cores "
            f"({len(os.sched_getaffinity(0))} usable), {memory_gb:.0f} GB RAM",
            f"Python {platform.python_version()}; {versions}",
            f"Environment here: {blas_env}; the children run with both removed",
            f"Load average (1, 5, 15 min) before the run: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}{busy}"]


def print_size_report(size, results, iters, repeats):
    """Print one size's table, the engine's verdicts and the BLAS libraries; return FAIL lines."""
    failures = check_inertias(results)
    print(f"\n== {size.n_samples} x {size.n_features} float32 ({size.data_mb:.0f} MB), "
          f"k={size.n_clusters}: {iters} iterations, median of {repeats} ==")
    if results:
        print(size_table(results))
    if FAISS in results:
        print("faiss has no tol: its convergence run is capped at the iterations sklearn-lloyd needed.")
    for line in engine_verdicts(results) + blas_lines(results) + failures:
        print(line)
    print(f"Load average (1 min) after this size: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return failures


# ---------------------------------------------------------------------------
# Scaling in n
# ---------------------------------------------------------------------------

def run_scaling(args, workdir):
    """Time the engine and sklearn-lloyd per iteration for growing n; print the fit; return FAIL lines."""
    sample_counts = QUICK_SCALING_SAMPLES if args.quick else SCALING_SAMPLES
    methods = [method for method in SCALING_METHODS if method in args.methods]
    timings = {method: [] for method in methods}
    failures = []
    for n_samples in sample_counts:
        samples = write_data(Size(n_samples, SCALING_FEATURES, SCALING_CLUSTERS), workdir)
        results = {}
        for method in methods:
            print(f"  n={n_samples} {method} ...", flush=True)
            result = run_child(method, workdir, args, converge_max_iter=0)
            if result is None:
                failures.append(f"FAIL {method} at n={n_samples}: its process crashed")
                continue
            add_inertias(result, samples, workdir / method)
            results[method] = result
            timings[method].append((n_samples, result["ms_per_iter"]))
        failures += check_inertias(results)
    print(f"\n== Scaling in n: d={SCALING_FEATURES}, k={SCALING_CLUSTERS}, ms per iteration "
          f"({args.iters} iterations, median of {args.repeats}) ==")
    rows = [[str(n)] + [f"{dict(timings[m]).get(n, float('nan')):.1f}" for m in methods] for n in sample_counts]
    print(format_table(["n"] + methods, rows))
    for method in methods:
        print(linear_fit_line(method, timings[method]))
    if args.plot:
        plot_scaling(timings, args.plot)
        print(f"plot written to {args.plot}")
    return failures


def short_count(n):
    """Write a count as ``1e5`` or ``3e6``."""
    return f"{n:.0e}".replace("e+0", "e")


def linear_fit_line(method, timings):
    """Describe a least-squares line through (n, ms/iter): its slope and the growth end to end."""
    if len(timings) < 2:
        return f"{method}: too few points to fit"
    counts, ms = (np.array(column, dtype=float) for column in zip(*timings))
    slope, intercept = np.polyfit(counts / 1e6, ms, 1)
    return (f"{method}: {slope:.1f} ms per iteration per million rows (intercept {intercept:.1f} ms); "
            f"time(n={short_count(counts[-1])}) / time(n={short_count(counts[0])}) = {ms[-1] / ms[0]:.1f} "
            f"(linear: {counts[-1] / counts[0]:.0f})")


def plot_scaling(timings, path):
    """Save a log-log plot of ms per iteration against n, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4.5))
    for method, points in timings.items():
        if points:
            counts, ms = (np.array(column, dtype=float) for column in zip(*points))
            line, = axes.loglog(counts, ms, marker="o", label=method)
            axes.loglog(counts, ms[0] * counts / counts[0], ":", color=line.get_color(), alpha=0.6)
    axes.plot([], [], ":", color="grey", label="linear in n, from the first point")
    axes.set_xlabel("n (samples)")
    axes.set_ylabel("ms per Lloyd iteration")
    axes.set_title(f"k-means, d={SCALING_FEATURES}, k={SCALING_CLUSTERS}, float32")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=Size.parse, metavar="NxD:K",
                        help=f"problem sizes (default: {' '.join(DEFAULT_SIZES)})")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per method (default: 7)")
    parser.add_argument("--iters", type=int, default=10, help="Lloyd iterations per timed run (default: 10)")
    parser.add_argument("--quick", action="store_true", help=f"small sizes for a smoke run ({' '.join(QUICK_SIZES)})")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), metavar="METHOD",
                        help=f"methods to run, among {', '.join(METHODS)} (default: all)")
    parser.add_argument("--batch-size", type=int, help="the engine's rows per chunk (default: its own)")
    parser.add_argument("--algorithm", choices=("auto", "lloyd", "hamerly"), default="auto",
                        help="the engine's algorithm (default: auto, its own default)")
    parser.add_argument("--scaling", action="store_true",
                        help=f"instead of the size tables, time {' and '.join(SCALING_METHODS)} for n in "
                             f"{', '.join(map(short_count, SCALING_SAMPLES))} "
                             f"(d={SCALING_FEATURES}, k={SCALING_CLUSTERS})")
    parser.add_argument("--plot", nargs="?", const=DEFAULT_PLOT, type=Path, metavar="PATH",
                        help="with --scaling, save a log-log plot of ms/iter against n "
                             f"(default path: {DEFAULT_PLOT.relative_to(REPO_ROOT)})")
    # The child process's options.
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--converge-max-iter", type=int, default=CONVERGENCE_MAX_ITER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.iters < 1:
        parser.error(f"--repeats={args.repeats} and --iters={args.iters} should be >= 1")
    if args.plot and not args.scaling:
        parser.error("--plot draws the --scaling study: add --scaling")
    if args.sizes is None:
        args.sizes = [Size.parse(text) for text in (QUICK_SIZES if args.quick else DEFAULT_SIZES)]
    return args


def available_methods(requested):
    """Drop faiss, with a note, when it cannot be imported."""
    if FAISS in requested and importlib.util.find_spec("faiss") is None:
        print("note: faiss is not installed (pip install faiss-cpu, or the bench extra): skipping it")
        return [method for method in requested if method != FAISS]
    return list(requested)


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        measure(args.child, args.workdir, iters=args.iters, repeats=args.repeats,
                converge_max_iter=args.converge_max_iter, batch_size=args.batch_size, algorithm=args.algorithm)
        return 0
    print("\n".join(machine_info()), flush=True)
    args.methods = [method for method in METHODS if method in available_methods(args.methods)]
    failures = []
    with tempfile.TemporaryDirectory(prefix="bench_kmeans_") as directory:
        workdir = Path(directory)
        if args.scaling:
            failures += run_scaling(args, workdir)
        else:
            for size in args.sizes:
                results, crashes = benchmark_size(size, args.methods, args, workdir)
                failures += crashes + print_size_report(size, results, args.iters, args.repeats)
    if failures:
        print(f"\n{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

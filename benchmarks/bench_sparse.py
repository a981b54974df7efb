"""Benchmark ``kmeans_tf.kmeans`` on sparse rows against scikit-learn's ``KMeans``, on one random CSR matrix.

The matrix is ``--rows`` x ``--columns`` with about ``--per-row`` non-zeros a row (float32, a
TF-IDF shape), clustered into ``--clusters`` groups. ``--data random`` (the default) puts the
non-zeros at random columns with normal values: rows without structure, on which two k-means++
draws may stop after very different iteration counts (2, 41 and 79 for three draws at the
default size, scikit-learn and the engine agreeing from each). ``--data topics`` draws rows like
TF-IDF rows of documents on ``--clusters`` topics (``bench_sparse_kernel.topic_csr``: each topic
owns a slice of the columns, a row takes most of its non-zeros there, rows of unit length).
Each method runs in a Python process of its own (so one's threads and memory do not disturb the
other's), on the same matrix, never made dense:

- ``engine``: ``kmeans_tf.kmeans`` with its default algorithm (plain passes, then distance bounds);
- ``engine-lloyd``: the same with ``algorithm="lloyd"`` (every row against every centroid);
- ``sklearn-lloyd``: ``sklearn.cluster.KMeans(algorithm="lloyd", n_init=1)``.

What it prints, with the engine's targets and a PASS or FAIL for each:

per iteration (target <= 0.1x scikit-learn)
    ``--iters`` Lloyd iterations (``tol=0``) from the same initial centroids (``--clusters``
    rows of the matrix, dense), the time of a call divided by the iterations it made: the median
    of ``--repeats`` calls, the engine's after one untimed warm-up call (its tracing). Wall time
    is judged; the CPU time (the child's threads together) is shown beside it, the steadier
    number on a busy machine. Then the share of rows whose labels agree with scikit-learn's
    (float32 rounding may part rows within rounding of a tie; the largest relative distance gap
    of the rows that differ says whether that is all it is).
the whole fit (target <= 0.2x scikit-learn)
    Each library's own k-means++ seeding (``kmeans_plusplus``, ``random_state=0``) and then its fit
    with ``tol=1e-4`` to convergence (at most ``--fit-max-iter`` iterations, 300 by default, for
    both), timed together. The fits start from one k-means++ draw, scikit-learn's, made before the
    children run: the two libraries' draws differ (the engine draws its own way), and on rows
    without structure the iterations a draw needs are luck, so that from their own draws the two
    fits would compare the draws more than the libraries. Both then make the same iterations, and
    their inertias, computed here by one formula in float64, should agree to ``INERTIA_RTOL``; the
    engine's labels must equal ``kmeans_tf.predict`` of its centroids.
memory (target < 3x)
    The engine's peak resident memory above its resident memory just before its first call
    (TensorFlow, the engine, the matrix and both starts loaded: what a process that only
    imported TensorFlow and loaded its inputs holds), against the CSR arrays' size plus the
    centroids'. The peak is the child's ``VmHWM``, reset after the inputs are loaded (so that
    loading them does not count) and again before the whole fit, once the timed calls' last
    answer is on disk and let go: the table shows both phases' peaks. A timed call runs while
    the previous call's answer is still held, as a caller's loop would hold it.

Results, dated, with the machine and the command: docs/performance.md.

Usage
-----
::

    python benchmarks/bench_sparse.py              # 100,000 x 50,000, 100 a row, k=100 (about 10 min on 2 cores)
    python benchmarks/bench_sparse.py --quick      # a small matrix: a smoke run (< 1 min)
    python benchmarks/bench_sparse.py --rows 20000 --repeats 1
    python benchmarks/bench_sparse.py --data topics  # rows like TF-IDF rows of documents on topics
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_kmeans import child_environment  # noqa: E402
from benchmarks.bench_sparse_kernel import random_csr, topic_csr  # noqa: E402
from benchmarks.methods import CONVERGENCE_MAX_ITER, CONVERGENCE_TOL, DATA_SEED, memory_mb, one_run  # noqa: E402
from benchmarks.report import format_table, machine_info  # noqa: E402

ENGINE = "engine"
ENGINE_LLOYD = "engine-lloyd"
SKLEARN = "sklearn-lloyd"
METHODS = (SKLEARN, ENGINE, ENGINE_LLOYD)
ENGINES = (ENGINE, ENGINE_LLOYD)
FITTED = (SKLEARN, ENGINE)  # the methods that also run the whole fit from k-means++
# The module each method imports before its memory baseline is taken.
METHOD_MODULES = {
    SKLEARN: "sklearn.cluster",
    ENGINE: "kmeans_tf.engine.kmeans",
    ENGINE_LLOYD: "kmeans_tf.engine.kmeans",
}

ITER_TARGET = 0.1  # the engine's time per iteration over scikit-learn's, at most
FIT_TARGET = 0.2  # the engine's whole fit over scikit-learn's, at most
MEMORY_TARGET = 3.0  # the engine's peak memory above its start over the CSR arrays plus the centroids, below
INERTIA_RTOL = 0.01  # the two fits' inertias, from the same k-means++ start, within this of each other

DEFAULT_SHAPE = {"rows": 100_000, "columns": 50_000, "per_row": 100, "clusters": 100}
QUICK_SHAPE = {"rows": 5_000, "columns": 5_000, "per_row": 20, "clusters": 20}
# /proc/self/clear_refs: writing this resets the process's peak resident memory (VmHWM) to its current one.
RESET_PEAK_RSS = "5"


# ---------------------------------------------------------------------------
# The child process: one method
# ---------------------------------------------------------------------------


def run_engine(matrix, n_clusters, init, *, max_iter, tol, algorithm):
    """Run ``kmeans_tf.kmeans`` from ``init`` (an array, or "k-means++"); return (labels, centroids, n_iter)."""
    import kmeans_tf

    result = kmeans_tf.kmeans(matrix, n_clusters, **one_run(init, max_iter, tol), seed=DATA_SEED, algorithm=algorithm)
    return result.labels, result.centroids, result.n_iter


def run_sklearn(matrix, n_clusters, init, *, max_iter, tol):
    """Run scikit-learn's ``KMeans(algorithm="lloyd")`` from ``init``; return (labels, centroids, n_iter)."""
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters, **one_run(init, max_iter, tol), algorithm="lloyd", random_state=DATA_SEED)
    model.fit(matrix)
    return model.labels_, model.cluster_centers_, int(model.n_iter_)


RUNNERS = {
    SKLEARN: run_sklearn,
    ENGINE: lambda *args, **kwargs: run_engine(*args, **kwargs, algorithm="auto"),
    ENGINE_LLOYD: lambda *args, **kwargs: run_engine(*args, **kwargs, algorithm="lloyd"),
}


def seed_engine(matrix, n_clusters):
    """Draw k-means++ centroids with the engine's ``kmeans_plusplus``."""
    import kmeans_tf

    return kmeans_tf.kmeans_plusplus(matrix, n_clusters, random_state=DATA_SEED)[0]


def seed_sklearn(matrix, n_clusters):
    """Draw k-means++ centroids with scikit-learn's ``kmeans_plusplus``."""
    from sklearn.cluster import kmeans_plusplus

    return kmeans_plusplus(matrix, n_clusters, random_state=DATA_SEED)[0]


SEEDERS = {SKLEARN: seed_sklearn, ENGINE: seed_engine}


def reset_peak_rss():
    """Make this process's peak resident memory (VmHWM) its current one."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write(RESET_PEAK_RSS)


def clocked(run, *args, **kwargs):
    """Call ``run``; return its wall seconds, its CPU seconds (this process's threads together) and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def measure(method, workdir, settings):
    """Measure ``method`` on the matrix in ``workdir``; write result.json and its labels and centroids there.

    ``settings``: the child's command line (``iters``, ``repeats``, ``fit_max_iter``).
    """
    import importlib

    import scipy.sparse

    importlib.import_module(METHOD_MODULES[method])
    if method in ENGINES:
        import kmeans_tf  # noqa: F401 (its public names, before the baseline)
    imports_rss = memory_mb("VmRSS")
    matrix = scipy.sparse.load_npz(workdir / "samples.npz")
    init, fit_start = np.load(workdir / "init.npy"), np.load(workdir / "fit_init.npy")  # inputs: before the baseline
    n_clusters, run, out = len(init), RUNNERS[method], workdir / method
    start_rss = memory_mb("VmRSS")
    reset_peak_rss()
    result = {"imports_rss_mb": imports_rss, "start_rss_mb": start_rss}
    if method in ENGINES:
        result["first_call_s"], _, _ = clocked(run, matrix, n_clusters, init, max_iter=settings.iters, tol=0.0)
    per_iter_s, per_iter_cpu_s = [], []
    for _ in range(settings.repeats):
        wall, cpu, (labels, centroids, n_iter) = clocked(run, matrix, n_clusters, init, max_iter=settings.iters, tol=0)
        per_iter_s.append(wall / n_iter)
        per_iter_cpu_s.append(cpu / n_iter)
    result.update(
        ms_per_iter=1000 * float(np.median(per_iter_s)),
        cpu_ms_per_iter=1000 * float(np.median(per_iter_cpu_s)),
        iters_run=n_iter,
        iter_peak_rss_mb=memory_mb("VmHWM"),
    )
    np.save(out / "labels.npy", labels)
    np.save(out / "centroids.npy", centroids)
    del labels, centroids  # on disk now: the whole fit's peak is its own
    if method in FITTED:
        reset_peak_rss()
        seed_s, seed_cpu_s, _ = clocked(SEEDERS[method], matrix, n_clusters)
        wall, cpu, (labels, centroids, n_iter) = clocked(
            run, matrix, n_clusters, fit_start, max_iter=settings.fit_max_iter, tol=CONVERGENCE_TOL
        )
        result.update(fit_s=seed_s + wall, fit_cpu_s=seed_cpu_s + cpu, seed_s=seed_s, fit_n_iter=n_iter)
        result["fit_peak_rss_mb"] = memory_mb("VmHWM")
        np.save(out / "fit_centroids.npy", centroids)
        if method in ENGINES:
            import kmeans_tf

            result["fit_labels_are_predict"] = bool(np.array_equal(labels, kmeans_tf.predict(matrix, centroids)))
    result["peak_rss_mb"] = max(result["iter_peak_rss_mb"], result.get("fit_peak_rss_mb", 0))
    (out / "result.json").write_text(json.dumps(result))


# ---------------------------------------------------------------------------
# The parent: the matrix, the children, the verdicts
# ---------------------------------------------------------------------------


def write_data(options, workdir):
    """Write the CSR matrix, the per-iteration start (rows of it, dense) and the whole fits' start (scikit-learn's
    k-means++ draw) into ``workdir``; return the matrix and the per-iteration start."""
    import scipy.sparse
    from sklearn.cluster import kmeans_plusplus

    if options.data == "random":
        matrix = random_csr(options.rows, options.columns, options.per_row, DATA_SEED)
    else:
        matrix = topic_csr(options.rows, options.columns, options.per_row, options.clusters, DATA_SEED)
    rng = np.random.default_rng(DATA_SEED)
    init = matrix[rng.choice(options.rows, options.clusters, replace=False)].toarray()
    scipy.sparse.save_npz(workdir / "samples.npz", matrix, compressed=False)
    np.save(workdir / "init.npy", init)
    np.save(workdir / "fit_init.npy", kmeans_plusplus(matrix, options.clusters, random_state=DATA_SEED)[0])
    return matrix, init


def run_child(method, workdir, options):
    """Measure ``method`` in a fresh Python process; return its result dict, or None if it crashed."""
    (workdir / method).mkdir()
    command = [sys.executable, "-m", "benchmarks.bench_sparse", "--child", method, "--workdir", str(workdir)]
    command += ["--iters", str(options.iters), "--repeats", str(options.repeats)]
    command += ["--fit-max-iter", str(options.fit_max_iter)]
    process = subprocess.run(command, env=child_environment(), capture_output=True, text=True)
    if process.returncode != 0:
        print(f"{method} exited with status {process.returncode}:\n{process.stderr[-3000:]}", flush=True)
        return None
    return json.loads((workdir / method / "result.json").read_text())


def distances(matrix, centroids):
    """Return the squared distances (float64, shape (n_rows, n_clusters)) of every row to every centroid."""
    centroids = np.asarray(centroids, np.float64)
    rows = matrix.astype(np.float64)
    squared = np.asarray(rows.multiply(rows).sum(axis=1)).ravel()
    return np.maximum(squared[:, None] - 2 * (rows @ centroids.T) + (centroids**2).sum(axis=1), 0)


def inertia(matrix, centroids):
    """Return the sum of squared distances to the nearest of ``centroids``, in float64."""
    return float(distances(matrix, centroids).min(axis=1).sum())


def verdict(value, target, *, strict=False):
    """PASS when ``value`` is at most ``target`` (below it with ``strict``), else FAIL."""
    return "PASS" if (value < target if strict else value <= target) else "FAIL"


def agreement_lines(matrix, labels, reference, reference_centroids, name):
    """Say on what share of rows ``labels`` agree with scikit-learn's ``reference``, and how near a tie the rest are.

    The gap of a row that differs is ``|d(x, c_a) - d(x, c_b)| / d(x, c_b)``, both distances to scikit-learn's
    centroids in float64 (a and b: the two labels); within float32 rounding it is below about 1e-6.
    """
    differ = np.flatnonzero(labels != reference)
    line = f"{name} labels agree with {SKLEARN}'s on {1 - len(differ) / len(labels):.4%} of the rows"
    if len(differ) == 0:
        return [line]
    rows = distances(matrix[differ], reference_centroids)
    ours, theirs = rows[np.arange(len(differ)), labels[differ]], rows[np.arange(len(differ)), reference[differ]]
    gap = np.abs(ours - theirs) / np.maximum(theirs, np.finfo(np.float64).tiny)
    return [f"{line} ({len(differ)} differ; their largest relative distance gap: {gap.max():.1e})"]


def ratio_line(what, result, reference, key, cpu_key, target):
    """Say what ``result[key]`` is over ``reference[key]`` (and the same of CPU times), with PASS or FAIL."""
    ratio, cpu_ratio = result[key] / reference[key], result[cpu_key] / reference[cpu_key]
    return (
        f"{what}: {ratio:.3f}x {SKLEARN} (CPU time {cpu_ratio:.3f}x) (target <= {target:g}x): {verdict(ratio, target)}"
    )


def table(results):
    """Return the table of the results, one row per method."""
    headers = ["method", "ms/iter", "CPU ms/iter", "iters", "fit s", "of it seeding", "fit CPU s", "fit iters"]
    headers += ["fit inertia"]
    headers += ["peak RSS MB", "above start: iters", "fit"]
    rows = []
    for method, result in results.items():
        fitted = "fit_s" in result
        rows.append(
            [
                method,
                f"{result['ms_per_iter']:.1f}",
                f"{result['cpu_ms_per_iter']:.1f}",
                str(result["iters_run"]),
                f"{result['fit_s']:.1f}" if fitted else "-",
                f"{result['seed_s']:.1f}" if fitted else "-",
                f"{result['fit_cpu_s']:.1f}" if fitted else "-",
                str(result["fit_n_iter"]) if fitted else "-",
                f"{result['fit_inertia']:.7g}" if fitted else "-",
                f"{result['peak_rss_mb']:.0f}",
                f"{result['iter_peak_rss_mb'] - result['start_rss_mb']:.0f}",
                f"{result['fit_peak_rss_mb'] - result['start_rss_mb']:.0f}" if fitted else "-",
            ]
        )
    return format_table(headers, rows)


def report(matrix, init, results, workdir):
    """Print the table and the verdicts; return the FAIL lines."""
    for method in FITTED:
        if method in results:
            fit_centroids = np.load(workdir / method / "fit_centroids.npy")
            results[method]["fit_inertia"] = inertia(matrix, fit_centroids)
    print(table(results))
    sklearn, engine, lines = results.get(SKLEARN), results.get(ENGINE), []
    if sklearn:
        reference = np.load(workdir / SKLEARN / "labels.npy")
        reference_centroids = np.load(workdir / SKLEARN / "centroids.npy")
        for method in ENGINES:
            if method in results:
                what = f"{method} per iteration"
                lines.append(ratio_line(what, results[method], sklearn, "ms_per_iter", "cpu_ms_per_iter", ITER_TARGET))
                labels = np.load(workdir / method / "labels.npy")
                lines += agreement_lines(matrix, labels, reference, reference_centroids, method)
    if engine and sklearn:
        lines.append(
            ratio_line(f"{ENGINE} whole fit from k-means++", engine, sklearn, "fit_s", "fit_cpu_s", FIT_TARGET)
        )
        difference = engine["fit_inertia"] / sklearn["fit_inertia"] - 1
        lines.append(
            f"fit inertias: {ENGINE} {engine['fit_inertia']:.7g}, {SKLEARN} {sklearn['fit_inertia']:.7g} "
            f"({difference:+.2%}; target within {INERTIA_RTOL:.0%}): {verdict(abs(difference), INERTIA_RTOL)}"
        )
        lines.append(
            f"fit iterations from the same start: {ENGINE} {engine['fit_n_iter']}, {SKLEARN} {sklearn['fit_n_iter']}"
        )
    if engine:
        same = "PASS" if engine["fit_labels_are_predict"] else "FAIL"
        lines.append(f"{ENGINE} fit labels equal kmeans_tf.predict of its centroids: {same}")
        data_mb = (sum(array.nbytes for array in (matrix.data, matrix.indices, matrix.indptr)) + init.nbytes) / 2**20
        above = engine["peak_rss_mb"] - engine["start_rss_mb"]
        lines.append(
            f"{ENGINE} memory: peak {above:.0f} MiB above its start ({engine['start_rss_mb']:.0f} MiB: TensorFlow, "
            f"the engine and the matrix loaded) = {above / data_mb:.2f}x the CSR arrays plus the centroids "
            f"({data_mb:.0f} MiB) (target < {MEMORY_TARGET:g}x): {verdict(above / data_mb, MEMORY_TARGET, strict=True)}"
        )
        with_data = engine["peak_rss_mb"] - engine["imports_rss_mb"]
        lines.append(
            f"  above the imports alone, the matrix included: {with_data:.0f} MiB = {with_data / data_mb:.2f}x"
        )
    for line in lines:
        print(line)
    return [line for line in lines if line.endswith("FAIL")]


def parse_args(argv=None):
    """Read the command line; ``--quick`` fills in the small shape, else the default one, where not given."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in DEFAULT_SHAPE.items():
        quick = QUICK_SHAPE[name]
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, help=f"(default: {default}; --quick: {quick})")
    parser.add_argument("--quick", action="store_true", help="a small matrix for a smoke run (< 1 min)")
    parser.add_argument("--data", choices=["random", "topics"], default="random", help="(default: random)")
    parser.add_argument("--iters", type=int, default=3, help="Lloyd iterations per timed run (default: 3)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method (default: 3)")
    fit_cap = f"the whole fits' cap on iterations, both libraries' (default: {CONVERGENCE_MAX_ITER})"
    parser.add_argument("--fit-max-iter", type=int, default=CONVERGENCE_MAX_ITER, help=fit_cap)
    # The child process's options.
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    shape = QUICK_SHAPE if options.quick else DEFAULT_SHAPE
    for name, default in shape.items():
        if getattr(options, name) is None:
            setattr(options, name, default)
    if min(options.iters, options.repeats, options.fit_max_iter, options.per_row, options.columns) < 1:
        parser.error("--iters, --repeats, --fit-max-iter, --per-row and --columns should be >= 1")
    if not 1 <= options.clusters <= options.rows:
        parser.error(f"--clusters={options.clusters} should be in [1, --rows={options.rows}]")
    return options


def main(argv=None):
    """Run the benchmark, or with ``--child`` one method's measurement; return the exit status (1 on a FAIL)."""
    options = parse_args(argv)
    if options.child:
        measure(options.child, options.workdir, options)
        return 0
    print("\n".join(machine_info()), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_sparse_") as directory:
        workdir = Path(directory)
        matrix, init = write_data(options, workdir)
        print(
            f"\n== {options.rows} x {options.columns} CSR ({options.data}), {matrix.nnz / options.rows:.1f} non-zeros "
            f"a row (float32), "
            f"k={options.clusters}: {options.iters} iterations from the same start, median of {options.repeats}; "
            f"the whole fits: k-means++ seeding, then from one k-means++ start to convergence "
            f"(tol={CONVERGENCE_TOL:g}, "
            f"at most {options.fit_max_iter} iterations) ==",
            flush=True,
        )
        results, failures = {}, []
        for method in METHODS:
            print(f"  {method} ...", flush=True)
            result = run_child(method, workdir, options)
            if result is None:
                failures.append(f"FAIL {method}: its process crashed")
            else:
                results[method] = result
        failures += report(matrix, init, results, workdir)
    print(f"Load average (1 min) after the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if failures:
        print(f"\n{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

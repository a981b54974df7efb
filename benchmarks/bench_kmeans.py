"""Benchmark ``kmeans_tf.kmeans`` against scikit-learn, faiss and a numpy Lloyd reference.

The engine's targets: at most 0.8x the fastest peer's time per iteration and at most 1x
its time to convergence (peers: scikit-learn's "lloyd" and "elkan", faiss), measured in
one run on one machine; sample weights at most 1.1x the unweighted engine's time per
iteration (``engine-weighted``: seeded random weights in [0.5, 2)); and ``metric="cosine"``
at most 1.1x the Euclidean engine's time per iteration (``engine-cosine``: spherical k-means;
its peer ``faiss-spherical``, faiss's ``spherical=True``, runs only when ``--methods`` names
it). Every method starts from the same initial centroids (scaled to unit length for the
cosine methods) on the same seeded float32 data, and runs in a Python process of its own, so
its peak memory is its own. Measurements, dated, with their machine and command:
docs/performance.md.

Usage
-----
::

    make bench                                             # installs the bench extra, runs the defaults
    python benchmarks/bench_kmeans.py                      # the three default sizes (15-20 min on 2 cores)
    python benchmarks/bench_kmeans.py --quick              # one small size: a smoke run (< 2 min)
    python benchmarks/bench_kmeans.py --sizes 1e6x16:100 --repeats 3
    python benchmarks/bench_kmeans.py --methods engine sklearn-lloyd --batch-size 65536
    python benchmarks/bench_kmeans.py --methods engine engine-weighted --repeats 3   # the cost of weights
    python benchmarks/bench_kmeans.py --methods engine engine-cosine                # the cost of metric="cosine"
    python benchmarks/bench_kmeans.py --methods engine-cosine faiss-spherical       # spherical k-means, faiss's too
    python benchmarks/bench_kmeans.py --algorithm lloyd    # the engine without distance bounds
    KMEANS_TF_NATIVE=0 python benchmarks/bench_kmeans.py   # the engine on TensorFlow's ops only
    python -m benchmarks.bench_kmeans --scaling --plot     # time against n, saves benchmarks/scaling.png

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
    sklearn-lloyd needed, faiss-spherical as many as engine-cosine needed (each stops
    earlier when its objective stops changing).
vs peer
    The time divided by the fastest peer's (peers: sklearn-lloyd, sklearn-elkan, faiss; of
    the cosine methods: faiss-spherical). The engine's targets: <= 0.8 per iteration, <= 1
    to convergence.
peak RSS, above start
    The child's ``VmHWM`` (peak resident memory), and how much of it came after the
    imports and the data were loaded. ``ru_maxrss`` is not used: on Linux it carries the
    parent's peak over fork and exec, so it would report the parent's data too.
inertia, rel. diff
    The sum of squared distances to the nearest centroid after ``--iters`` iterations,
    evaluated here in float64 from each method's centroids (one formula for all), and its
    relative difference to the numpy reference. Above 1e-4 the run prints FAIL and exits 1.
    engine-weighted's inertia is unweighted too, of its (weighted) centroids, and not checked.
    The cosine methods' inertia is the sum of ``1 - cos`` to the most similar centroid,
    compared with faiss-spherical's.
device
    Where the work ran: the engine's GPUs when TensorFlow lists any, else CPU; for the
    engine on the CPU also which kernel ran (its fused C kernel, or TensorFlow's ops).

The children run without ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` (both are
removed; this process keeps its environment), so that numpy, scikit-learn and faiss get
the BLAS kernel OpenBLAS picks for this CPU; each table says which one threadpoolctl saw.
"""

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import report  # noqa: E402
from benchmarks.methods import (  # noqa: E402
    BLAS_ENV_VARS,
    CONVERGENCE_CAPS,
    CONVERGENCE_MAX_ITER,
    COSINE_METHODS,
    DEFAULT_METHODS,
    ENGINE,
    METHOD_MODULES,
    METHODS,
    OPT_IN_METHODS,
    SKLEARN_LLOYD,
    Size,
    cosine_inertia,
    inertia,
    make_blobs,
    measure,
)
from kmeans_tf.engine.options import ALGORITHMS, DEFAULT_ALGORITHM  # noqa: E402

DEFAULT_SIZES = ("100000x32:64", "1000000x16:100", "200000x128:256")
QUICK_SIZES = ("20000x16:32",)
SCALING_FEATURES = 16
SCALING_CLUSTERS = 100
SCALING_SAMPLES = (10**5, 3 * 10**5, 10**6, 3 * 10**6, 10**7)
QUICK_SCALING_SAMPLES = (10**4, 3 * 10**4, 10**5)
SCALING_METHODS = (ENGINE, SKLEARN_LLOYD)
DEFAULT_PLOT = REPO_ROOT / "benchmarks" / "scaling.png"


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
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_kmeans",
        "--child",
        method,
        "--workdir",
        str(workdir),
        "--iters",
        str(args.iters),
        "--repeats",
        str(args.repeats),
        "--converge-max-iter",
        str(converge_max_iter),
    ]
    if args.batch_size:
        command += ["--batch-size", str(args.batch_size)]
    command += ["--algorithm", args.algorithm]
    process = subprocess.run(command, env=child_environment(), capture_output=True, text=True)
    if process.returncode != 0:
        print(f"{method} exited with status {process.returncode}:\n{process.stderr[-3000:]}", flush=True)
        return None
    return json.loads((workdir / method / "result.json").read_text())


def add_inertias(method, result, samples, directory):
    """Add the inertias of the centroids a child left in ``directory`` to its ``result`` (of ``method``: the
    cosine inertia for spherical k-means)."""
    measure_inertia = cosine_inertia if method in COSINE_METHODS else inertia
    result["inertia"] = measure_inertia(samples, np.load(directory / "centroids.npy"))
    if (directory / "converged.npy").exists():
        result["converged_inertia"] = measure_inertia(samples, np.load(directory / "converged.npy"))


def run_methods(size, methods, args, workdir, *, where, converge=True):
    """Run ``methods`` on one size, each in a child process.

    Parameters
    ----------
    size : Size
    methods : sequence of str
    args : argparse.Namespace
    workdir : Path
    where : str
        How the progress and FAIL lines name the size (``100000x32:64``, ``n=100000``).
    converge : bool, default=True
        Whether each child also runs to convergence. faiss, which has no tolerance, runs
        as many iterations as sklearn-lloyd needed (faiss-spherical: engine-cosine) when that
        method ran before it (``CONVERGENCE_CAPS``).

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
        if not converge:
            converge_max_iter = 0
        elif CONVERGENCE_CAPS.get(method) in results:
            converge_max_iter = results[CONVERGENCE_CAPS[method]]["converge_n_iter"]
        else:
            converge_max_iter = CONVERGENCE_MAX_ITER
        print(f"  {where} {method} ...", flush=True)
        result = run_child(method, workdir, args, converge_max_iter=converge_max_iter)
        if result is None:
            failures.append(f"FAIL {method} at {where}: its process crashed")
            continue
        add_inertias(method, result, samples, workdir / method)
        results[method] = result
    return results, failures


def run_scaling(args, workdir):
    """Time the engine and sklearn-lloyd per iteration for growing n; print the fit; return FAIL lines."""
    sample_counts = QUICK_SCALING_SAMPLES if args.quick else SCALING_SAMPLES
    methods = [method for method in SCALING_METHODS if method in args.methods]
    timings = {method: [] for method in methods}
    failures = []
    for n_samples in sample_counts:
        size = Size(n_samples, SCALING_FEATURES, SCALING_CLUSTERS)
        results, crashes = run_methods(size, methods, args, workdir, where=f"n={n_samples}", converge=False)
        for method, result in results.items():
            timings[method].append((n_samples, result["ms_per_iter"]))
        failures += crashes + report.check_inertias(results)
    report.print_scaling_report(
        timings,
        sample_counts,
        n_features=SCALING_FEATURES,
        n_clusters=SCALING_CLUSTERS,
        iters=args.iters,
        repeats=args.repeats,
        plot=args.plot,
    )
    return failures


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def parse_args(argv=None):
    """Read the command line; fill in the default sizes."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=Size.parse,
        metavar="NxD:K",
        help=f"problem sizes (default: {' '.join(DEFAULT_SIZES)})",
    )
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per method (default: 7)")
    parser.add_argument("--iters", type=int, default=10, help="Lloyd iterations per timed run (default: 10)")
    parser.add_argument("--quick", action="store_true", help=f"small sizes for a smoke run ({' '.join(QUICK_SIZES)})")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=list(DEFAULT_METHODS),
        metavar="METHOD",
        help=f"methods to run, among {', '.join(METHODS)} (default: all but {', '.join(OPT_IN_METHODS)})",
    )
    parser.add_argument("--batch-size", type=int, help="the engine's rows per chunk (default: its own)")
    parser.add_argument(
        "--algorithm",
        choices=ALGORITHMS,
        default=DEFAULT_ALGORITHM,
        help=f"the engine's algorithm, among {', '.join(ALGORITHMS)} (default: {DEFAULT_ALGORITHM}, its own default)",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help=f"instead of the size tables, time {' and '.join(SCALING_METHODS)} for n in "
        f"{', '.join(map(report.short_count, SCALING_SAMPLES))} "
        f"(d={SCALING_FEATURES}, k={SCALING_CLUSTERS})",
    )
    parser.add_argument(
        "--plot",
        nargs="?",
        const=DEFAULT_PLOT,
        type=Path,
        metavar="PATH",
        help="with --scaling, save a log-log plot of ms/iter against n "
        f"(default path: {DEFAULT_PLOT.relative_to(REPO_ROOT)})",
    )
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
    """Drop the methods whose library is not installed (faiss: an extra), with a note."""
    missing = [method for method in requested if importlib.util.find_spec(library(method)) is None]
    for name in sorted({library(method) for method in missing}):
        skipped = ", ".join(method for method in missing if library(method) == name)
        print(f"note: {name} is not installed (the bench extra installs it): skipping {skipped}")
    return [method for method in requested if method not in missing]


def library(method):
    """Return the top-level package ``method`` needs (found without importing it)."""
    return METHOD_MODULES[method].split(".")[0]


def main(argv=None):
    """Run the benchmark, or with ``--child`` one method's measurement; return the exit status."""
    args = parse_args(argv)
    if args.child:
        measure(args.child, args.workdir, args)
        return 0
    print("\n".join(report.machine_info()), flush=True)
    args.methods = [method for method in METHODS if method in available_methods(args.methods)]
    failures = []
    with tempfile.TemporaryDirectory(prefix="bench_kmeans_") as directory:
        workdir = Path(directory)
        if args.scaling:
            failures += run_scaling(args, workdir)
        else:
            ratios_by_size = {}
            for size in args.sizes:
                results, crashes = run_methods(size, args.methods, args, workdir, where=str(size))
                failures += crashes + report.print_size_report(size, results, args.iters, args.repeats)
                ratios_by_size[size] = report.iter_ratios(results)
            report.print_ratio_summary(ratios_by_size)
    if failures:
        print(f"\n{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

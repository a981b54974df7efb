"""The benchmark's report: the tables, the ratios to the fastest peer, the engine's verdicts
against its targets, the inertia checks, the machine's description and the scaling plot.
"""

import importlib.metadata
import os
import platform

import numpy as np

from benchmarks.methods import (
    BLAS_ENV_VARS,
    CONVERGENCE_CAPS,
    COSINE_METHODS,
    COSINE_PEERS,
    ENGINE,
    ENGINE_COSINE,
    ENGINE_WEIGHTED,
    NUMPY,
    PEERS,
)

INERTIA_RTOL = 1e-4
# The engine's targets: at most 0.8x the fastest peer's time per iteration, at most 1x its
# time to convergence, and a first call less than a second slower than a warm one.
ENGINE_ITER_TARGET = 0.8
ENGINE_CONVERGE_TARGET = 1.0
FIRST_CALL_TARGET_S = 1.0
# Targets per iteration against the Euclidean, unweighted engine: method -> (what it is compared with, at most).
ITER_RATIO_TARGETS = {
    ENGINE_WEIGHTED: ("the unweighted engine", 1.1),
    ENGINE_COSINE: ("the Euclidean engine", 1.1),
}


def check_inertias(results):
    """Compare inertias with a reference's; return FAIL lines.

    The Euclidean methods: with the numpy reference's (else the first method's); the cosine
    methods (their inertia the sum of ``1 - cos``): with faiss-spherical's (else the first
    one's). engine-weighted solves another problem (weighted samples): its inertia is shown, not checked.
    """
    euclidean = [method for method in results if method != ENGINE_WEIGHTED and method not in COSINE_METHODS]
    cosine = [method for method in results if method in COSINE_METHODS]
    return check_against_reference(results, euclidean, NUMPY) + check_against_reference(
        results, cosine, COSINE_PEERS[0]
    )


def check_against_reference(results, methods, preferred):
    """Compare the inertias of ``methods`` with ``preferred``'s (else the first method's); return FAIL lines."""
    if not methods:
        return []
    reference = preferred if preferred in methods else methods[0]
    expected = results[reference]["inertia"]
    failures = []
    for method in methods:
        result = results[method]
        result["inertia_rel_diff"] = abs(result["inertia"] - expected) / expected
        if result["inertia_rel_diff"] > INERTIA_RTOL:
            failures.append(
                f"FAIL {method}: inertia {result['inertia']:.8g} differs from {reference}'s "
                f"{expected:.8g} by {result['inertia_rel_diff']:.2e} relative (> {INERTIA_RTOL:g})"
            )
    return failures


def fastest_peer(results, key, peers=PEERS):
    """Return the smallest ``key`` among the ``peers`` that ran, or None."""
    values = [results[peer][key] for peer in peers if peer in results and key in results[peer]]
    return min(values) if values else None


def peers_of(method):
    """Return the peers ``method`` is compared with: faiss-spherical for spherical k-means, else PEERS."""
    return COSINE_PEERS if method in COSINE_METHODS else PEERS


def ratio(value, reference):
    """Format ``value / reference``, or "-" when either is missing."""
    return f"{value / reference:.2f}" if value is not None and reference else "-"


def format_table(headers, rows):
    """Lay out ``rows`` (lists of strings) under ``headers``, the first column left-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        return "  ".join(
            str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths))
        )

    return "\n".join([line(headers), line(["-" * width for width in widths])] + [line(row) for row in rows])


def size_table(results):
    """Return the table of one size's results, one row per method."""
    headers = [
        "method",
        "ms/iter",
        "vs peer",
        "1st call s",
        "converge s",
        "iters",
        "vs peer",
        "conv inertia",
        "peak RSS MB",
        "above start",
        "inertia",
        "rel. diff",
        "device",
    ]
    rows = []
    for method, r in results.items():
        peers = peers_of(method)
        rows.append(
            [
                method,
                f"{r['ms_per_iter']:.1f}",
                ratio(r["ms_per_iter"], fastest_peer(results, "ms_per_iter", peers)),
                f"{r['first_call_s']:.2f}",
                f"{r['converge_s']:.2f}",
                str(r["converge_n_iter"]),
                ratio(r["converge_s"], fastest_peer(results, "converge_s", peers)),
                f"{r['converged_inertia']:.7g}",
                f"{r['peak_rss_mb']:.0f}",
                f"{r['peak_rss_mb'] - r['start_rss_mb']:.0f}",
                f"{r['inertia']:.7g}",
                f"{r['inertia_rel_diff']:.1e}" if "inertia_rel_diff" in r else "-",
                r["device"],
            ]
        )
    return format_table(headers, rows)


def iter_ratios(results):
    """Return ``{method: time per iteration / the engine's}`` for the methods of ITER_RATIO_TARGETS that ran
    beside the engine."""
    if ENGINE not in results:
        return {}
    return {
        method: results[method]["ms_per_iter"] / results[ENGINE]["ms_per_iter"]
        for method in ITER_RATIO_TARGETS
        if method in results
    }


def ratio_verdict(method, ratio_):
    """Return the line comparing ``method``'s time per iteration with the engine's, against its target."""
    compared_with, target = ITER_RATIO_TARGETS[method]
    return f"{method} per iteration: {ratio_:.2f}x {compared_with} (target <= {target:g}): {verdict(ratio_, target)}"


def ratio_verdicts(results):
    """Return a line per method of ITER_RATIO_TARGETS that ran beside the engine (``ratio_verdict``)."""
    return [ratio_verdict(method, ratio_) for method, ratio_ in iter_ratios(results).items()]


def print_ratio_summary(ratios_by_size):
    """Print each ratio target's ratio and verdict at every size, when more than one size ran.

    ``ratios_by_size``: ``{size: iter_ratios(results)}``.
    """
    methods = [method for method in ITER_RATIO_TARGETS if any(method in ratios for ratios in ratios_by_size.values())]
    if len(ratios_by_size) < 2 or not methods:
        return
    rows = []
    for method in methods:
        target = ITER_RATIO_TARGETS[method][1]
        cells = [ratios_by_size[size].get(method) for size in ratios_by_size]
        rows.append(
            [f"{method} / engine (target <= {target:g})"]
            + ["-" if value is None else f"{value:.2f} {verdict(value, target)}" for value in cells]
        )
    print("\n== Per iteration, against the engine (ms/iter ratio) ==")
    print(format_table(["ratio"] + [str(size) for size in ratios_by_size], rows))


def verdict(ratio_, target):
    """Return "met" when ``ratio_`` is at most ``target``, else "MISSED"."""
    return "met" if ratio_ <= target else "MISSED"


def engine_verdicts(results):
    """Return lines comparing the engine with its targets (first call, per iteration, to convergence)."""
    if ENGINE not in results:
        return []
    engine = results[ENGINE]
    overhead_s = engine["first_call_s"] - engine["ms_per_iter"] * engine["iters_run"] / 1000
    first_call = "met" if overhead_s < FIRST_CALL_TARGET_S else "MISSED"
    lines = [
        f"engine first call: {engine['first_call_s']:.2f} s, about {overhead_s:.2f} s more than "
        f"a warm call (target < {FIRST_CALL_TARGET_S:g} s): {first_call}"
    ]
    checks = [
        ("per iteration", engine["ms_per_iter"], fastest_peer(results, "ms_per_iter"), ENGINE_ITER_TARGET),
        ("to convergence", engine.get("converge_s"), fastest_peer(results, "converge_s"), ENGINE_CONVERGE_TARGET),
    ]
    for what, value, best, target in checks:
        if value is not None and best:
            lines.append(
                f"engine {what}: {value / best:.2f}x the fastest peer (target <= {target:g}): "
                f"{verdict(value / best, target)}"
            )
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
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("numpy", "scikit-learn", "tensorflow", "faiss-cpu", "threadpoolctl")
    )
    blas_env = ", ".join(
        f"{name}={os.environ[name]}" if name in os.environ else f"{name} unset" for name in BLAS_ENV_VARS
    )
    load = os.getloadavg()
    busy = " - BUSY: other work will skew the timings" if load[0] > 0.5 * os.cpu_count() else ""
    return [
        f"CPU: {models[0] if models else platform.processor()}, {os.cpu_count()} cores "
        f"({len(os.sched_getaffinity(0))} usable), {memory_gb:.0f} GB RAM",
        f"Python {platform.python_version()}; {versions}",
        f"Environment here: {blas_env}; the children run with both removed",
        f"Load average (1, 5, 15 min) before the run: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}{busy}",
    ]


def print_size_report(size, results, iters, repeats):
    """Print one size's table, the engine's verdicts and the BLAS libraries; return FAIL lines."""
    failures = check_inertias(results)
    print(
        f"\n== {size.n_samples} x {size.n_features} float32 ({size.data_mb:.0f} MB), "
        f"k={size.n_clusters}: {iters} iterations, median of {repeats} =="
    )
    if results:
        print(size_table(results))
    for method, capped_by in CONVERGENCE_CAPS.items():
        if method in results and capped_by in results:
            print(f"{method} has no tol: its convergence run is capped at the iterations {capped_by} needed.")
    for line in engine_verdicts(results) + ratio_verdicts(results) + blas_lines(results) + failures:
        print(line)
    print(f"Load average (1 min) after this size: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return failures


def print_scaling_report(timings, sample_counts, *, n_features, n_clusters, iters, repeats, plot):
    """Print ms per iteration against n, one column per method, and a linear fit per method.

    Parameters
    ----------
    timings : dict
        ``{method: [(n_samples, ms_per_iter), ...]}``.
    sample_counts : sequence of int
    n_features, n_clusters : int
    iters, repeats : int
        The iterations per timed run and the runs per median, for the title.
    plot : path or None
        Where to save the log-log plot, if anywhere.
    """
    methods = list(timings)
    print(
        f"\n== Scaling in n: d={n_features}, k={n_clusters}, ms per iteration "
        f"({iters} iterations, median of {repeats}) =="
    )
    rows = [[str(n)] + [f"{dict(timings[m]).get(n, float('nan')):.1f}" for m in methods] for n in sample_counts]
    print(format_table(["n"] + methods, rows))
    for method in methods:
        print(linear_fit_line(method, timings[method]))
    if plot:
        plot_scaling(timings, plot, title=f"k-means, d={n_features}, k={n_clusters}, float32")
        print(f"plot written to {plot}")


def short_count(n):
    """Write a count as ``1e5`` or ``3e6``."""
    return f"{n:.0e}".replace("e+0", "e")


def linear_fit_line(method, timings):
    """Describe a least-squares line through (n, ms/iter): its slope and the growth end to end."""
    if len(timings) < 2:
        return f"{method}: too few points to fit"
    counts, ms = (np.array(column, dtype=float) for column in zip(*timings))
    slope, intercept = np.polyfit(counts / 1e6, ms, 1)
    return (
        f"{method}: {slope:.1f} ms per iteration per million rows (intercept {intercept:.1f} ms); "
        f"time(n={short_count(counts[-1])}) / time(n={short_count(counts[0])}) = {ms[-1] / ms[0]:.1f} "
        f"(linear: {counts[-1] / counts[0]:.0f})"
    )


def plot_scaling(timings, path, *, title):
    """Save a log-log plot of ms per iteration against n, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4.5))
    for method, points in timings.items():
        if points:
            counts, ms = (np.array(column, dtype=float) for column in zip(*points))
            (line,) = axes.loglog(counts, ms, marker="o", label=method)
            axes.loglog(counts, ms[0] * counts / counts[0], ":", color=line.get_color(), alpha=0.6)
    axes.plot([], [], ":", color="grey", label="linear in n, from the first point")
    axes.set_xlabel("n (samples)")
    axes.set_ylabel("ms per Lloyd iteration")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)

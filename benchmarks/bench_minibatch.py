"""Time the engine's mini-batch k-means against scikit-learn's MiniBatchKMeans, on the benchmark's blobs.

For each size and each ``--batch-sizes`` batch size, both fit from the benchmark's initial
centroids (``methods.make_blobs``) with their defaults otherwise (``max_iter=100``,
``max_no_improvement=10``, ``reassignment_ratio=0.01``, labels and inertia computed at the
end), once per seed of ``--seeds``: the same seed gives the two different batches, so the
table gives means over the seeds. Columns: seconds of the whole fit, steps made, and the
final inertia by ``methods.inertia`` (float64 numpy, the same judge for both). With
``--lloyd``, a row per size gives Lloyd's k-means by the engine (``eager.kmeans``, tol=1e-4)
from the same centroids, for what the mini-batches give up. Results, dated, go in
docs/performance.md.

Usage
-----
::

    python benchmarks/bench_minibatch.py                       # the three sizes, batches of 1024 and 4096
    python benchmarks/bench_minibatch.py --sizes 100000x32:64 --batch-sizes 1024 --seeds 5 --lloyd
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.methods import Size, inertia, make_blobs  # noqa: E402

SIZES = ("100000x32:64", "1000000x16:100", "200000x128:256")
BATCH_SIZES = (1024, 4096)
OURS = "engine"
THEIRS = "sklearn"


def fit(library, samples, init, batch_size, seed):
    """Fit one library's mini-batch k-means; return seconds, steps and the centroids."""
    if library == OURS:
        from kmeans_tf import MiniBatchKMeans
    else:
        from sklearn.cluster import MiniBatchKMeans
    model = MiniBatchKMeans(len(init), init=init, n_init=1, batch_size=batch_size, random_state=seed)
    start = time.perf_counter()
    model.fit(samples)
    return time.perf_counter() - start, model.n_steps_, model.cluster_centers_


def lloyd(samples, init):
    """Seconds, iterations and inertia of the engine's Lloyd k-means from ``init``."""
    from compat import eager

    start = time.perf_counter()
    result = eager.kmeans(samples, len(init), init=init)
    return time.perf_counter() - start, result.n_iter, inertia(samples, result.centroids)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=Size.parse,
        nargs="+",
        default=[Size.parse(size) for size in SIZES],
        help=f"NxD:K sizes [default: {' '.join(SIZES)}]",
    )
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=list(BATCH_SIZES),
        help=f"rows per step [default: {' '.join(map(str, BATCH_SIZES))}]",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per size and batch size [default: 3]")
    parser.add_argument("--lloyd", action="store_true", help="add a row of Lloyd's k-means by the engine per size")
    args = parser.parse_args(argv)
    warm_samples, warm_init = make_blobs(Size(20000, 8, 8))
    for library in (OURS, THEIRS):  # tracing, kernel loading, OpenMP start-up: untimed
        fit(library, warm_samples, warm_init, 1024, 0)
    print(f"mean over {args.seeds} seeds\n")
    print(
        "| size | batch | engine s | sklearn s | engine / sklearn | engine steps | sklearn steps "
        "| engine inertia | sklearn inertia | inertia ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        samples, init = make_blobs(size)
        for batch_size in args.batch_sizes:
            runs = {
                library: [fit(library, samples, init, batch_size, seed) for seed in range(args.seeds)]
                for library in (OURS, THEIRS)
            }
            seconds = {library: np.mean([run[0] for run in runs[library]]) for library in runs}
            steps = {library: np.mean([run[1] for run in runs[library]]) for library in runs}
            inertias = {library: np.mean([inertia(samples, run[2]) for run in runs[library]]) for library in runs}
            print(
                f"| {size} | {batch_size} | {seconds[OURS]:.3f} | {seconds[THEIRS]:.3f} "
                f"| {seconds[OURS] / seconds[THEIRS]:.2f}x | {steps[OURS]:.0f} | {steps[THEIRS]:.0f} "
                f"| {inertias[OURS]:.6g} | {inertias[THEIRS]:.6g} | {inertias[OURS] / inertias[THEIRS]:.4f} |",
                flush=True,
            )
        if args.lloyd:
            seconds, n_iter, cost = lloyd(samples, init)
            print(
                f"| {size} | Lloyd (engine, {n_iter} iterations) | {seconds:.3f} | | | | | {cost:.6g} | | |", flush=True
            )


if __name__ == "__main__":
    main()

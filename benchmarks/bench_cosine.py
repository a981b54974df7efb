"""Where ``metric="cosine"`` spends its time against the Euclidean engine, in one process, calls alternating.

For each size (the benchmark's seeded float32 blobs, the same initial centroids, scaled to unit
length for cosine) it prints:

- the preparation: ``prepare.centre_and_scale`` against ``prepare.unit_length`` (ms a call);
- one Lloyd iteration, Euclidean / cosine, for each ``--algorithms``: ``(t(11) - t(1)) / 10`` of
  ``kmeans_tf.kmeans`` with ``tol=0``, the minimum over ``--rounds``;
- the share of rows Hamerly's bounds proved in each of the first 10 iterations of ``"auto"``
  (``IterationState.skipped``): when the bounds turn on, for each metric.

``--switch-at`` sets the share of changed labels below which ``"auto"`` turns the bounds on
(``loops.BOUNDS_AFTER_CHANGED_FRACTION``) for this run. Results, dated: docs/performance.md.

Usage
-----
::

    python benchmarks/bench_cosine.py
    python benchmarks/bench_cosine.py --sizes 200000x128:256 --algorithms auto --switch-at 0.1
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_kmeans import DEFAULT_SIZES  # noqa: E402
from benchmarks.methods import Size, make_blobs  # noqa: E402

METRICS = ("euclidean", "cosine")
SHOWN_ITERATIONS = 10


def seconds(run):
    """The wall seconds of ``run()``."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=Size.parse, default=[Size.parse(size) for size in DEFAULT_SIZES])
    parser.add_argument("--algorithms", nargs="+", default=["auto", "lloyd", "hamerly"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--switch-at", type=float, help="loops.BOUNDS_AFTER_CHANGED_FRACTION for this run")
    options = parser.parse_args(argv)

    import kmeans_tf
    from kmeans_tf.engine import loops, prepare

    if options.switch_at is not None:
        loops.BOUNDS_AFTER_CHANGED_FRACTION = options.switch_at  # read when the loop is traced: before any fit
    print(f'bounds turn on below {loops.BOUNDS_AFTER_CHANGED_FRACTION:g} of the labels changed ("auto")')
    for size in options.sizes:
        samples, initial = make_blobs(size)
        starts = {"euclidean": initial, "cosine": initial / np.linalg.norm(initial, axis=1, keepdims=True)}

        def fit(metric, algorithm, max_iter, callback=None):
            return kmeans_tf.kmeans(
                samples, size.n_clusters, init=starts[metric], max_iter=max_iter, tol=0, metric=metric,
                algorithm=algorithm, callback=callback,
            )  # fmt: skip

        for algorithm in options.algorithms:
            for metric in METRICS:
                fit(metric, algorithm, 2)  # tracing, untimed
        column_sums = prepare.column_sums(samples)
        preparation = {
            "euclidean": min(seconds(lambda: prepare.centre_and_scale(samples, column_sums)) for _ in range(5)),
            "cosine": min(seconds(lambda: prepare.unit_length(samples)) for _ in range(5)),
        }
        iteration = {}
        for _ in range(options.rounds):
            for algorithm in options.algorithms:
                for metric in METRICS:
                    one = seconds(lambda: fit(metric, algorithm, 1))
                    eleven = seconds(lambda: fit(metric, algorithm, 11))
                    iteration.setdefault((algorithm, metric), []).append((eleven - one) / 10)
        print(f"\n== {size} ==")
        print(
            f"preparation, ms a call: centre_and_scale {preparation['euclidean'] * 1e3:.1f}, "
            f"unit_length {preparation['cosine'] * 1e3:.1f}"
        )
        for algorithm in options.algorithms:
            euclidean, cosine = (min(iteration[algorithm, metric]) * 1e3 for metric in METRICS)
            print(f"one iteration, {algorithm}: {euclidean:.1f} / {cosine:.1f} ms = {cosine / euclidean:.2f}")
        for metric in METRICS:
            states = []
            fit(metric, "auto", SHOWN_ITERATIONS, callback=states.append)
            print(f"share skipped by the bounds, {metric}: " + " ".join(f"{state.skipped:.2f}" for state in states))
    return 0


if __name__ == "__main__":
    sys.exit(main())

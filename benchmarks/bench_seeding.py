"""Time the engine's seedings, k-means++ against k-means||, on the benchmark's blobs.

For each ``--init`` and each of ``--seeds`` seeds: the seconds the seeding alone takes (on
the centred data, as ``kmeans`` seeds), the cost of the initial centroids, and a whole
``kmeans_tf.kmeans`` run from that seed to convergence (seconds, iterations, final
inertia). The table gives the mean over the seeds. Results, dated, go in docs/performance.md.

Usage
-----
::

    python benchmarks/bench_seeding.py                           # 1M x 16, k=100, 3 seeds
    python benchmarks/bench_seeding.py --size 100000x32:64 --seeds 5 --init-rounds 5
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.methods import Size, make_blobs  # noqa: E402
from kmeans_tf.engine.options import DEFAULT_INIT_ROUNDS, KMEANS_PARALLEL_INIT, KMEANS_PLUSPLUS_INIT  # noqa: E402


def measure(samples, n_clusters, init, seed, init_rounds):
    """Return seconds to seed, the initial cost, and seconds, iterations and inertia of a whole run."""
    from compat import eager
    from kmeans_tf.engine import prepare, seeding

    prepared = prepare.centre_and_scale(samples, prepare.column_sums(samples))
    start = time.perf_counter()
    initial = seeding.initial_centroids(
        prepared.centred, n_clusters, init, np.random.RandomState(seed), rounds=init_rounds
    )
    seeding_s = time.perf_counter() - start
    initial_cost = eager.inertia(samples, prepared.unscaled(initial).astype(samples.dtype))
    start = time.perf_counter()
    result = eager.kmeans(samples, n_clusters, init=init, seed=seed, init_rounds=init_rounds)
    return seeding_s, initial_cost, time.perf_counter() - start, result.n_iter, result.inertia


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size",
        type=Size.parse,
        default=Size.parse("1000000x16:100"),
        help="NxD:K, N samples of D features in K clusters [default: 1000000x16:100]",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per method [default: 3]")
    parser.add_argument(
        "--init-rounds",
        type=int,
        default=DEFAULT_INIT_ROUNDS,
        help=f"k-means|| rounds [default: {DEFAULT_INIT_ROUNDS}]",
    )
    args = parser.parse_args(argv)
    samples, _ = make_blobs(args.size)
    measure(samples[:20000], 8, KMEANS_PARALLEL_INIT, 0, 1)  # tracing and kernel loading, untimed
    print(f"{args.size}, mean over {args.seeds} seeds; k-means|| with {args.init_rounds} rounds\n")
    print("| init | seeding s | initial cost | whole run s | iterations | final inertia |")
    print("|---|---|---|---|---|---|")
    for init in (KMEANS_PLUSPLUS_INIT, KMEANS_PARALLEL_INIT):
        rows = np.array(
            [measure(samples, args.size.n_clusters, init, seed, args.init_rounds) for seed in range(args.seeds)]
        )
        seeding_s, cost, run_s, n_iter, final = rows.mean(axis=0)
        print(f"| {init} | {seeding_s:.2f} | {cost:.6g} | {run_s:.2f} | {n_iter:.0f} | {final:.6g} |", flush=True)


if __name__ == "__main__":
    main()

"""k-means on several worker processes (``kmeans(..., strategy=MultiWorkerMirroredStrategy)``) against one process.

Per Lloyd iteration at 1M x 16 float32, k = 100: one process with no strategy, in memory
(``algorithm="lloyd"``) and streamed (``Shards``: the plain passes a worker makes); one
worker process with a strategy (the passes plus the collectives); two worker processes on
this machine holding the same total data (500k rows each) and the same data per worker
(1M rows each); and the all-reduce of the k * d + 2k + 1 float64 numbers alone. Then, as two
machines of one core each would run: one process pinned to one CPU, against two worker processes
pinned to a CPU each with 1M rows each, and against two such processes without a strategy run
side by side (what the two CPUs' shared memory bandwidth and caches cost on one machine, which
two machines would not pay): the difference between the last two is what the all-reduce and
the coordination add to a worker's pass (target: at most 10%).
An iteration's time is (the fit of ITERATIONS + 1 iterations - the fit of 1) / ITERATIONS,
which leaves out the preparation and the final pass. Results in docs/performance.md.

    python benchmarks/bench_distributed.py [--rows 1000000]
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES, CLUSTERS, ITERATIONS, ALL_REDUCES = 16, 100, 10, 200
WORKER_TIMEOUT = 600  # seconds one worker process may take


def worker(index, ports, rows, streamed, pinned):
    """One worker's measurements (with ``ports``: a MultiWorkerMirroredStrategy over them), printed as JSON.

    ``pinned``: the worker runs on CPU ``index`` alone (the kernel's threads follow the affinity).
    """
    sys.path.insert(0, ROOT)
    if pinned:
        os.sched_setaffinity(0, {index})
    strategy = None
    if ports:
        os.environ["TF_CONFIG"] = json.dumps(
            {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]}, "task": {"type": "worker", "index": index}}
        )
        import tensorflow as tf

        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    from compat import eager
    from kmeans_tf.distributed.replicas import Replicas

    rng = np.random.RandomState(index)
    samples = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    initial = np.random.RandomState(99).normal(size=(CLUSTERS, FEATURES)).astype(np.float32)

    def fit(iterations):
        started = time.perf_counter()
        data = eager.Shards([samples]) if streamed else samples
        result = eager.kmeans(
            data, CLUSTERS, init=initial, max_iter=iterations, tol=0, strategy=strategy, algorithm="lloyd"
        )
        assert result.n_iter == iterations
        return time.perf_counter() - started

    fit(1)  # warm-up: TensorFlow's start, the collectives' set-up
    iteration = (fit(ITERATIONS + 1) - fit(1)) / ITERATIONS
    all_reduce = None
    if strategy is not None:
        replicas, numbers = Replicas(strategy), np.zeros(CLUSTERS * FEATURES + 2 * CLUSTERS + 1)
        replicas.sum([numbers])
        started = time.perf_counter()
        for _ in range(ALL_REDUCES):
            replicas.sum([numbers])
        all_reduce = (time.perf_counter() - started) / ALL_REDUCES
    print(json.dumps({"iteration_s": iteration, "all_reduce_s": all_reduce}))


def measure(workers, rows_per_worker, streamed=False, pinned=False, side_by_side=0):
    """Run ``workers`` processes joined by a strategy (0: ``side_by_side`` processes, default 1, each on its own
    without one) and return worker 0's measurements (side by side: the slower process's)."""
    sys.path.insert(0, ROOT)
    from tests.cases import free_ports

    ports = free_ports(workers) if workers else []
    command = [
        sys.executable,
        __file__,
        "--rows",
        str(rows_per_worker),
        "--ports",
        ",".join(map(str, ports)),
        *(["--streamed"] if streamed else []),
        *(["--pinned"] if pinned else []),
    ]
    processes = [
        subprocess.Popen(
            [*command, "--worker", str(index)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        for index in range(max(workers, side_by_side, 1))
    ]
    outputs = []
    for process in processes:
        try:
            outputs.append(process.communicate(timeout=WORKER_TIMEOUT)[0])
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        if process.returncode:
            raise RuntimeError(f"a worker failed with exit status {process.returncode}")
    results = [json.loads(output.splitlines()[-1]) for output in outputs]
    if side_by_side:  # what the slower of the processes took: joined, each iteration would wait for it
        return max(results, key=lambda result: result["iteration_s"])
    return results[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of one process")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ports", default="", help=argparse.SUPPRESS)
    parser.add_argument("--streamed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pinned", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        return worker(
            args.worker, [int(port) for port in args.ports.split(",") if port], args.rows, args.streamed, args.pinned
        )
    in_memory, one = measure(0, args.rows), measure(0, args.rows, streamed=True)
    alone = measure(1, args.rows)
    same_total = measure(2, args.rows // 2)
    same_each = measure(2, args.rows)
    pinned_one = measure(0, args.rows, streamed=True, pinned=True)
    pinned_apart = measure(0, args.rows, streamed=True, pinned=True, side_by_side=2)
    pinned_two = measure(2, args.rows, pinned=True)
    print(f"{args.rows} x {FEATURES} float32, k={CLUSTERS}, seconds per iteration (worker 0):")
    print(f"  1 process, no strategy, in memory:      {in_memory['iteration_s']:.4f}")
    print(f"  1 process, no strategy, streamed passes: {one['iteration_s']:.4f}")
    print(
        f"  1 worker with a strategy:               {alone['iteration_s']:.4f} "
        f"({alone['iteration_s'] / one['iteration_s'] - 1:+.1%} on the streamed passes)"
    )
    print(f"  2 workers, {args.rows // 2} rows each (same total): {same_total['iteration_s']:.4f}")
    print(
        f"  2 workers, {args.rows} rows each (same per worker): {same_each['iteration_s']:.4f} "
        f"({same_each['iteration_s'] / one['iteration_s'] - 1:+.1%} on the streamed passes)"
    )
    print(
        f"  all-reduce of {CLUSTERS * FEATURES + 2 * CLUSTERS + 1} float64 alone: "
        f"{same_each['all_reduce_s'] * 1000:.2f} ms "
        f"({same_each['all_reduce_s'] / one['iteration_s']:.1%} of the streamed pass)"
    )
    print("one CPU each (as two one-core machines):")
    print(f"  1 process, no strategy, streamed passes: {pinned_one['iteration_s']:.4f}")
    print(
        f"  2 processes side by side, no strategy:   {pinned_apart['iteration_s']:.4f} "
        f"({pinned_apart['iteration_s'] / pinned_one['iteration_s'] - 1:+.1%}: the two CPUs' shared memory and caches)"
    )
    print(
        f"  2 workers, {args.rows} rows each:        {pinned_two['iteration_s']:.4f} "
        f"(the all-reduce and coordination add {pinned_two['iteration_s'] / pinned_apart['iteration_s'] - 1:+.1%} "
        f"to the side-by-side pass; target: at most +10%)"
    )


if __name__ == "__main__":
    main()

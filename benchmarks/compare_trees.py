"""Time the engine of two source trees against each other: a change must not cost speed.

Each tree (a checkout of this repository, e.g. ``git worktree add /tmp/before <commit>``) runs in
child processes of its own, alternating, on the same seeded float32 blobs from the same initial
centroids; a tree's package is ``kmeans_tf`` where it has one, else ``compat.eager``. Printed per
size: the median over rounds of each child's best time per Lloyd iteration (in memory; with
``--streamed``, of a memory map on disk: ``(t(11 iterations) - t(1)) / 10``), and the ratio::

    python -m benchmarks.compare_trees /tmp/before . --rounds 5
    python -m benchmarks.compare_trees /tmp/before . --sizes 1000000x16:100 --streamed --dir /tmp/bench
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from benchmarks.bench_kmeans import DEFAULT_SIZES
from benchmarks.methods import Size

CHILD = """
import json, sys, time
import numpy as np
sys.path.insert(0, {tree!r})
import importlib
engine = importlib.import_module({module!r})
n, d, k = {size}
rng = np.random.RandomState(0)
centres = rng.uniform(-10, 10, (k, d)).astype(np.float32)
rows = centres[rng.randint(k, size=n)] + rng.normal(size=(n, d)).astype(np.float32)
if {streamed_path!r}:
    import os
    if not os.path.exists({streamed_path!r}):
        np.save({streamed_path!r}, rows)
    rows = np.load({streamed_path!r}, mmap_mode="r")
init = np.array(rows[rng.choice(n, k, replace=False)])
engine.kmeans(rows, k, init=init, max_iter=2, tol=0)  # tracing, and the page cache
best = float("inf")
for _ in range(3):
    start = time.perf_counter()
    engine.kmeans(rows, k, init=init, max_iter=1, tol=0)
    one = time.perf_counter() - start
    start = time.perf_counter()
    result = engine.kmeans(rows, k, init=init, max_iter=11, tol=0)
    best = min(best, (time.perf_counter() - start - one) / (result.n_iter - 1))
print(json.dumps(best))
"""


def time_tree(tree, size, streamed_path):
    """Return one child's best seconds per iteration for ``tree`` at ``size``."""
    # An installed package of the other tree must not stand in for a module this tree lacks.
    module = "kmeans_tf" if os.path.isdir(os.path.join(tree, "kmeans_tf")) else "compat.eager"
    code = CHILD.format(
        tree=os.path.abspath(tree),
        module=module,
        size=(size.n_samples, size.n_features, size.n_clusters),
        streamed_path=streamed_path,
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode:
        raise SystemExit(f"{tree}: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="the reference tree")
    parser.add_argument("after", help="the tree to compare with it")
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), help="NxD:K (default: make bench's three)")
    parser.add_argument("--rounds", type=int, default=5, help="children per tree and size, alternating (default: 5)")
    parser.add_argument("--streamed", action="store_true", help="time a memory map of the data on disk")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where --streamed writes its .npy files")
    args = parser.parse_args()
    for text in args.sizes:
        size = Size.parse(text)
        path = os.path.join(args.dir, f"compare-{text.replace(':', '-')}.npy") if args.streamed else ""
        before, after = [], []
        for _ in range(args.rounds):
            before.append(time_tree(args.before, size, path))
            after.append(time_tree(args.after, size, path))
        ratio = statistics.median(after) / statistics.median(before)
        print(
            f"{text}{' streamed' if args.streamed else ''}: before {statistics.median(before) * 1e3:.2f} ms/iter, "
            f"after {statistics.median(after) * 1e3:.2f} ms/iter, after / before {ratio:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

"""Time k-means streamed from a .npy file against the same passes in memory, and against dd reading the file.

For each size ``NxD:K`` (float32 blobs written to ``--dir`` once, kept with ``--keep``):

- ``dd``: MB/s of ``dd if=FILE of=/dev/null bs=16M``, warm (page cache) and cold (after
  ``sync; echo 3 > /proc/sys/vm/drop_caches``, which needs root; skipped otherwise);
- ``streamed``: seconds per Lloyd pass over the memory map, ``(t(11 iterations) - t(1)) / 10``
  with ``tol=0``, warm, the best of two after a first pair; and the time of the first, cold, one-iteration fit (4 passes);
- ``in memory``: the same plain passes (``algorithm="lloyd"``) on the first
  ``--in-memory-rows`` rows (what fits), scaled to N;
- ``peak RssAnon``: the most anonymous memory each streamed fit held above the process's
  own before it (sampled every 5 ms), against N.

Each measurement runs in a child process of its own. Usage:
    python -m benchmarks.bench_streaming 1e6x16:100 64e6x16:100 --dir /tmp/bench --memory-budget 268435456
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.methods import DATA_SEED, Size

WRITE_ROWS = 1 << 20
CHILD = """
import json, sys, threading, time
import numpy as np
from compat import eager
peak = [0]
def rss_anon():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("RssAnon:"))
def sample():
    while True:
        peak[0] = max(peak[0], rss_anon())
        time.sleep(0.005)
path, k, rows, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = np.load(path, mmap_mode="r")
initial = np.array(data[:k])
if rows:
    data = np.array(data[:rows])
eager.kmeans(np.array(data[:2 * k]), k, init=initial, max_iter=1, algorithm="lloyd")  # TensorFlow, kernel, traces
threading.Thread(target=sample, daemon=True).start()
time.sleep(0.05)
before, passes, first = peak[0], [], None
for repeat in range(3):  # the first pair at full size pays first-touch costs; then the best of two
    times = {}
    for iterations in (1, 11):
        start = time.perf_counter()
        result = eager.kmeans(data, k, init=initial, max_iter=iterations, tol=0, algorithm="lloyd",
                              memory_budget=budget)
        times[iterations] = time.perf_counter() - start
        assert result.n_iter == iterations
    first = first or times[1]
    if repeat:
        passes.append((times[11] - times[1]) / 10)
time.sleep(0.05)
print(json.dumps({"t1": first, "pass": min(passes), "peak_anon": peak[0] - before}))
"""


def write_blobs(path, size):
    """Write float32 blobs of ``size`` to a .npy file, a million rows at a time."""
    rng = np.random.RandomState(DATA_SEED)
    centres = rng.uniform(-20, 20, (size.n_clusters, size.n_features)).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(size.n_samples, size.n_features))
    for start in range(0, size.n_samples, WRITE_ROWS):
        rows = min(WRITE_ROWS, size.n_samples - start)
        noise = rng.normal(0, 3, (rows, size.n_features)).astype(np.float32)
        out[start:start + rows] = centres[rng.randint(size.n_clusters, size=rows)] + noise
    out.flush()
    del out


def drop_caches():
    """Empty the page cache (root only); return whether it was done."""
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def dd_rate(path):
    """Return dd's MB/s reading ``path`` in 16 MiB blocks."""
    done = subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=16M"], capture_output=True, text=True, check=True)
    match = re.search(r"copied, ([0-9.]+) s", done.stderr)
    return os.path.getsize(path) / float(match[1]) / 1e6


def child(path, size, rows, budget):
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(size.n_clusters), str(rows), str(budget)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.splitlines()[-1])


def measure(size, folder, budget, in_memory_rows, keep):
    path = Path(folder) / f"blobs-{size.n_samples}x{size.n_features}.npy"
    if not path.exists():
        start = time.perf_counter()
        write_blobs(path, size)
        print(f"  wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - start:.0f} s")
    report = {"size": f"{size.n_samples}x{size.n_features}:{size.n_clusters}", "bytes": path.stat().st_size}
    if drop_caches():
        report["dd_cold_MBps"] = dd_rate(path)
        drop_caches()
        cold = child(path, size, 0, budget)
        report["streamed_cold_first_fit_s"] = cold["t1"]
    dd_rate(path)
    report["dd_warm_MBps"] = dd_rate(path)
    warm = child(path, size, 0, budget)
    report.update(streamed_t1_s=warm["t1"], streamed_pass_s=warm["pass"],
                  streamed_peak_anon_MiB=warm["peak_anon"] / 2**20)
    report["streamed_pass_MBps"] = report["bytes"] / report["streamed_pass_s"] / 1e6
    rows = min(size.n_samples, in_memory_rows)
    memory = child(path, size, rows, budget)
    report.update(in_memory_rows=rows, in_memory_pass_s_scaled=memory["pass"] * size.n_samples / rows)
    report["streamed_over_in_memory"] = report["streamed_pass_s"] / report["in_memory_pass_s_scaled"]
    if not keep:
        path.unlink()
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", type=Size.parse, help="NxD:K, e.g. 1e6x16:100")
    parser.add_argument("--dir", default="/tmp", help="where the .npy files are written")
    parser.add_argument("--memory-budget", type=int, default=2**30, help="bytes [default: 1 GiB]")
    parser.add_argument("--in-memory-rows", type=float, default=16e6, help="rows of the in-memory comparison")
    parser.add_argument("--keep", action="store_true", help="keep the .npy files")
    args = parser.parse_args(argv)
    for size in args.sizes:
        print(json.dumps(measure(size, args.dir, args.memory_budget, int(args.in_memory_rows), args.keep)), flush=True)


if __name__ == "__main__":
    main()

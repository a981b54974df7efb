"""Time k-means streamed from a .npy file against the same passes in memory, and against dd reading the file.

For each size ``NxD:K`` (float32 blobs written to ``--dir`` once, kept with ``--keep``):

- ``dd``: MB/s of ``dd if=FILE of=/dev/null bs=16M``, warm (page cache) and cold (after
  ``sync; echo 3 > /proc/sys/vm/drop_caches``, which needs root; skipped otherwise);
- ``streamed``: seconds per Lloyd pass over the memory map, ``(t(11 iterations) - t(1)) / 10``
  with ``tol=0``, warm, the best of two after a first pair; and the time of the first, cold,
  one-iteration fit (4 passes);
- ``in memory``: the same plain passes (``algorithm="lloyd"``) on the first
  ``--in-memory-rows`` rows (what fits), scaled to N;
- ``peak RssAnon``: the most anonymous memory each streamed fit held above the process's
  own before it (sampled every 5 ms), against N.

A file larger than this machine's memory cannot be warm: then there is no warm ``dd`` and the
streamed pass is ``(t(3 iterations) - t(1)) / 2``, every pass read from the disk. ``--tile ROWS``
writes such a file quickly: one block of ROWS seeded blob rows, repeated (the pass's time does
not depend on the values).

Each measurement runs in a child process of its own. Usage:
    python -m benchmarks.bench_streaming 1e6x16:100 64e6x16:100 --dir /tmp/bench --memory-budget 268435456
    python -m benchmarks.bench_streaming 5e8x16:100 --dir /tmp/bench --tile 16e6   # 32 GB, past memory
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
path, k, rows, budget, cold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "cold"
data = np.load(path, mmap_mode="r")
initial = np.array(data[:k])
if rows:
    data = np.array(data[:rows])
eager.kmeans(np.array(data[:2 * k]), k, init=initial, max_iter=1, algorithm="lloyd")  # TensorFlow, kernel, traces
threading.Thread(target=sample, daemon=True).start()
time.sleep(0.05)
before, passes, first = peak[0], [], None
# Warm: the first pair at full size pays first-touch costs; then the best of two. Cold (a file larger
# than memory: every pass reads the disk): one pair, 1 and 3 iterations.
pairs, longer = ((1, 3), 1) if cold else ((1, 11), 3)
for repeat in range(longer):
    times = {}
    for iterations in pairs:
        start = time.perf_counter()
        result = eager.kmeans(data, k, init=initial, max_iter=iterations, tol=0, algorithm="lloyd",
                              memory_budget=budget)
        times[iterations] = time.perf_counter() - start
        assert result.n_iter == iterations
    first = first or times[1]
    if repeat or cold:
        passes.append((times[pairs[1]] - times[1]) / (pairs[1] - 1))
time.sleep(0.05)
print(json.dumps({"t1": first, "pass": min(passes), "peak_anon": peak[0] - before}))
"""


def write_blobs(path, size, tile=None):
    """Write float32 blobs of ``size`` to a .npy file, a million rows at a time (``tile``: one block of
    ``tile`` rows, repeated)."""
    rng = np.random.RandomState(DATA_SEED)
    centres = rng.uniform(-20, 20, (size.n_clusters, size.n_features)).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(size.n_samples, size.n_features))
    generated = min(size.n_samples, tile or size.n_samples)
    for start in range(0, generated, WRITE_ROWS):
        rows = min(WRITE_ROWS, generated - start)
        noise = rng.normal(0, 3, (rows, size.n_features)).astype(np.float32)
        out[start : start + rows] = centres[rng.randint(size.n_clusters, size=rows)] + noise
    for start in range(generated, size.n_samples, generated):
        rows = min(generated, size.n_samples - start)
        out[start : start + rows] = out[:rows]
        out.flush()  # the written pages leave the page cache as the disk takes them
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


def memory_bytes():
    """This machine's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def child(path, size, rows, budget, cold=False):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(path),
            str(size.n_clusters),
            str(rows),
            str(budget),
            "cold" if cold else "warm",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.splitlines()[-1])


def measure(size, folder, budget, in_memory_rows, keep, tile=None):
    path = Path(folder) / f"blobs-{size.n_samples}x{size.n_features}.npy"
    if not path.exists():
        start = time.perf_counter()
        write_blobs(path, size, tile)
        print(f"  wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - start:.0f} s")
    report = {"size": f"{size.n_samples}x{size.n_features}:{size.n_clusters}", "bytes": path.stat().st_size}
    if report["bytes"] > memory_bytes():
        report.update(measure_past_memory(path, size, budget))
    else:
        report.update(measure_in_page_cache(path, size, budget))
    rows = min(size.n_samples, in_memory_rows)
    memory = child(path, size, rows, budget)
    report.update(in_memory_rows=rows, in_memory_pass_s_scaled=memory["pass"] * size.n_samples / rows)
    report["streamed_over_in_memory"] = report["streamed_pass_s"] / report["in_memory_pass_s_scaled"]
    report["streamed_pass_MBps"] = report["bytes"] / report["streamed_pass_s"] / 1e6
    if not keep:
        path.unlink()
    return report


def measure_past_memory(path, size, budget):
    """A file larger than memory: ``dd`` and the streamed passes, all read from the disk."""
    drop_caches()
    report = {"larger_than_memory_GB": memory_bytes() / 1e9, "dd_cold_MBps": dd_rate(path)}
    cold = child(path, size, 0, budget, cold=True)
    report.update(
        streamed_cold_first_fit_s=cold["t1"],
        streamed_pass_s=cold["pass"],
        streamed_peak_anon_MiB=cold["peak_anon"] / 2**20,
    )
    return report


def measure_in_page_cache(path, size, budget):
    """A file that fits in the page cache: ``dd`` and a first fit cold (root only), the passes warm."""
    report = {}
    if drop_caches():
        report["dd_cold_MBps"] = dd_rate(path)
        drop_caches()
        cold = child(path, size, 0, budget)
        report["streamed_cold_first_fit_s"] = cold["t1"]
    dd_rate(path)
    report["dd_warm_MBps"] = dd_rate(path)
    warm = child(path, size, 0, budget)
    report.update(
        streamed_t1_s=warm["t1"], streamed_pass_s=warm["pass"], streamed_peak_anon_MiB=warm["peak_anon"] / 2**20
    )
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", type=Size.parse, help="NxD:K, e.g. 1e6x16:100")
    parser.add_argument("--dir", default="/tmp", help="where the .npy files are written")
    parser.add_argument("--memory-budget", type=int, default=2**30, help="bytes [default: 1 GiB]")
    parser.add_argument("--in-memory-rows", type=float, default=16e6, help="rows of the in-memory comparison")
    parser.add_argument("--keep", action="store_true", help="keep the .npy files")
    parser.add_argument("--tile", type=float, help="write each file as one block of this many rows, repeated")
    args = parser.parse_args(argv)
    tile = None if args.tile is None else int(args.tile)
    for size in args.sizes:
        report = measure(size, args.dir, args.memory_budget, int(args.in_memory_rows), args.keep, tile)
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()

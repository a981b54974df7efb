"""Time one pass of the C kernel's sparse op against scikit-learn's and scipy's sparse distances, on one CSR matrix.

The matrix is random: ``--rows`` x ``--columns`` with about ``--per-row`` non-zeros a row
(float32), and ``--clusters`` centroids taken from its rows. Each contender does what a Lloyd
pass needs of the distances, every row's nearest centroid:

- ``SparseNearestCentroidSums``: the kernel's sparse op (``Kernel.nearest_centroid_sums`` on
  ``CsrRows``), which also gives the clusters' float64 sums and counts;
- ``pairwise_distances_argmin_min``: scikit-learn's, on the scipy CSR matrix;
- ``X @ C.T, argmin``: scipy's sparse-dense product, then numpy's argmin of ||c||^2/2 - x.c.

It prints the best of ``--repeats`` runs of each, in milliseconds of wall time and of CPU
time (all threads together), and checks that the labels agree. Then the two ops a Lloyd
iteration of the loop in memory makes on sparse rows: ``SparseNearestCentroidChanges`` (the
labels, without sums) and ``SparseClusterSums`` (the clusters' exact sums, whole, as float64
values), timed alike. Results, dated, go in docs/performance.md.

Usage
-----
::

    python benchmarks/bench_sparse_kernel.py                  # 100,000 x 50,000, 100 a row, k=100
    python benchmarks/bench_sparse_kernel.py --rows 20000 --repeats 3
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: import this checkout's kmeans_tf
    sys.path.insert(0, str(REPO_ROOT))


def random_csr(n_rows, n_columns, per_row, seed):
    """Return a float32 CSR matrix of about ``per_row`` non-zeros a row, at random columns (sorted, no duplicates)."""
    import scipy.sparse

    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n_rows), per_row)
    columns = rng.integers(0, n_columns, n_rows * per_row)
    values = rng.standard_normal(n_rows * per_row, dtype=np.float32)
    matrix = scipy.sparse.coo_matrix((values, (rows, columns)), shape=(n_rows, n_columns)).tocsr()
    matrix.sum_duplicates()  # a row's repeated column counts once (and the columns come sorted)
    return matrix


def topic_csr(n_rows, n_columns, per_row, n_topics, seed, own_share=0.6):
    """Return a float32 CSR matrix shaped like TF-IDF rows of documents on ``n_topics`` topics.

    Each topic owns an equal slice of the columns (its words). A row (a document) takes its topic
    at random, then about ``per_row`` non-zeros: ``own_share`` of them at random columns of its
    topic's slice, the rest at random columns anywhere (the words every topic uses). The values
    are positive (gamma-distributed weights) and each row is scaled to unit length, as
    ``TfidfVectorizer`` does by default.
    """
    import scipy.sparse

    rng = np.random.default_rng(seed)
    width = max(n_columns // n_topics, 1)
    topics = rng.integers(0, n_topics, n_rows)
    rows = np.repeat(np.arange(n_rows), per_row)
    own = rng.random(n_rows * per_row) < own_share
    in_topic = (np.repeat(topics, per_row) * width + rng.integers(0, width, n_rows * per_row)) % n_columns
    columns = np.where(own, in_topic, rng.integers(0, n_columns, n_rows * per_row))
    values = rng.gamma(2.0, 0.5, n_rows * per_row).astype(np.float32)
    matrix = scipy.sparse.coo_matrix((values, (rows, columns)), shape=(n_rows, n_columns)).tocsr()
    matrix.sum_duplicates()
    lengths = np.sqrt(np.add.reduceat(np.square(matrix.data, dtype=np.float64), matrix.indptr[:-1]))
    matrix.data /= np.repeat(lengths, np.diff(matrix.indptr)).astype(np.float32)
    return matrix


def best_of(repeats, run):
    """Return the best wall and CPU seconds (all threads) of ``repeats`` runs of ``run()``, after one to warm up.

    Also returns the last answer. On a busy machine the CPU seconds over the cores used say
    what the wall time would be on an idle one.
    """
    answer, walls, cpus = run(), [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        answer = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), answer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=50_000)
    parser.add_argument("--per-row", type=int, default=100, help="non-zeros a row")
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args(argv)

    from sklearn.metrics import pairwise_distances_argmin_min

    from kmeans_tf import native
    from kmeans_tf._tensorflow import tf
    from kmeans_tf.engine import csr_rows
    from kmeans_tf.engine import sparse as sparse_rows

    kernel = native.kernel()
    if kernel is None:
        sys.exit(f"the C kernel is not available: {native.description()}")
    matrix = random_csr(options.rows, options.columns, options.per_row, options.seed)
    rng = np.random.default_rng(options.seed)
    centroids = matrix[rng.choice(options.rows, options.clusters, replace=False)].toarray()
    sparse, centroids_tensor = csr_rows.from_scipy(matrix), tf.constant(centroids)
    half_norms = (centroids.astype(np.float64) ** 2).sum(axis=1) / 2

    contenders = {
        "SparseNearestCentroidSums": lambda: kernel.nearest_centroid_sums(sparse, centroids_tensor)[0].numpy(),
        "pairwise_distances_argmin_min": lambda: pairwise_distances_argmin_min(matrix, centroids)[0],
        "X @ C.T, argmin": lambda: (half_norms - matrix @ centroids.T).argmin(axis=1),
    }
    print(
        f"{options.rows} x {options.columns}, {matrix.nnz / options.rows:.0f} non-zeros a row (float32), "
        f"k={options.clusters}: {matrix.nnz * options.clusters / 1e9:.2f}e9 multiply-adds a pass"
    )
    labels = {}
    print(f"{'':32s} {'wall ms':>9s} {'CPU ms':>9s}")
    for name, run in contenders.items():
        wall, cpu, labels[name] = best_of(options.repeats, run)
        print(f"{name:32s} {wall * 1e3:9.1f} {cpu * 1e3:9.1f}")
    reference = labels["SparseNearestCentroidSums"]
    for name, other in labels.items():
        agree = np.mean(other == reference)
        print(f"labels of {name} agree with the kernel's on {agree:.4%} of the rows")
    no_labels, found = tf.constant(np.full(options.rows, -1, np.int64)), tf.constant(reference)
    exponents = tf.constant(sparse_rows.prepared(matrix).sum_exponents(None))  # the loop's units
    iteration = {
        "SparseNearestCentroidChanges": lambda: kernel.nearest_centroid_changes(
            sparse, centroids_tensor, no_labels, None, exponents
        ),
        "SparseClusterSums": lambda: kernel.cluster_sums(sparse, centroids_tensor, found, None, exponents).numpy(),
    }
    print("A Lloyd iteration's ops in the loop in memory:")
    for name, run in iteration.items():
        wall, cpu, _ = best_of(options.repeats, run)
        print(f"{name:32s} {wall * 1e3:9.1f} {cpu * 1e3:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The sparse benchmark: its float64 distances, its agreement line, and a ``--quick`` run end to end."""

import numpy as np
import pytest
import scipy.sparse
from numpy.testing import assert_allclose

from benchmarks import bench_sparse
from benchmarks.bench_sparse_kernel import topic_csr


def test_distances_are_the_dense_ones():
    rng = np.random.default_rng(0)
    matrix = scipy.sparse.random(30, 12, density=0.2, random_state=1, dtype=np.float32, format="csr")
    centroids = rng.standard_normal((4, 12))
    expected = ((matrix.toarray()[:, None, :] - centroids[None]) ** 2).sum(axis=2)
    assert_allclose(bench_sparse.distances(matrix, centroids), expected, rtol=1e-12, atol=1e-12)
    assert_allclose(bench_sparse.inertia(matrix, centroids), expected.min(axis=1).sum(), rtol=1e-12)


def test_agreement_names_the_rows_that_differ_and_their_gap():
    # Row 0 lies halfway between the two centroids (a tie), row 1 nearer centroid 0.
    matrix = scipy.sparse.csr_matrix(np.array([[1.0, 0.0], [0.2, 0.0]]))
    centroids = np.array([[0.0, 0.0], [2.0, 0.0]])
    (line,) = bench_sparse.agreement_lines(matrix, np.array([1, 0]), np.array([0, 0]), centroids, "engine")
    assert line == (
        "engine labels agree with sklearn-lloyd's on 50.0000% of the rows (1 differ; their largest relative distance "
        "gap: 0.0e+00)"
    )


def test_rows_on_topics_are_canonical_unit_rows_mostly_in_one_slice_of_columns():
    matrix = topic_csr(2000, 1000, 30, 10, seed=0)
    assert matrix.shape == (2000, 1000) and matrix.dtype == np.float32 and matrix.has_canonical_format
    assert_allclose(np.sqrt(matrix.multiply(matrix).sum(axis=1)).A1, 1.0, rtol=1e-6)
    assert (matrix.data > 0).all() and 25 <= matrix.nnz / 2000 <= 30
    per_row = np.zeros((2000, 10))
    np.add.at(per_row, (np.repeat(np.arange(2000), np.diff(matrix.indptr)), matrix.indices // 100), 1)
    share = per_row.max(axis=1) / per_row.sum(axis=1)  # the most non-zeros of a row in one slice: its topic's
    assert per_row.sum(axis=0).min() > 0 and 0.55 < np.median(share) < 0.75


@pytest.mark.slow
def test_quick_run_prints_every_verdict(capsys):
    bench_sparse.main(["--quick", "--repeats", "1"])
    output = capsys.readouterr().out
    for start in ("engine per iteration: ", "engine-lloyd per iteration: ", "engine whole fit from k-means++: "):
        line = next(line for line in output.splitlines() if line.startswith(start))
        assert "x sklearn-lloyd (CPU time " in line and "x) (target <= " in line and line.endswith(("PASS", "FAIL"))
    assert "engine fit labels equal kmeans_tf.predict of its centroids: PASS" in output
    assert "engine labels agree with sklearn-lloyd's on " in output
    assert "engine memory: peak " in output

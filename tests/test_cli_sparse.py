"""Sparse data files on the command line: .npz and svmlight in fit, predict, elbow and convert, and their errors."""

import json

import numpy as np
import scipy.sparse
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import dump_svmlight_file

from kmeans_tf import kmeans
from tests.cases import assert_error, run


def documents(tmp_path, n_rows=400, n_columns=200):
    """A random bag of words as CSR rows, written as docs.svmlight and docs.npz in ``tmp_path``."""
    rows = scipy.sparse.random(n_rows, n_columns, density=0.05, format="csr", random_state=0) * 10
    dump_svmlight_file(rows, np.zeros(n_rows), str(tmp_path / "docs.svmlight"))
    scipy.sparse.save_npz(tmp_path / "docs.npz", rows)
    return rows


def test_fit_reads_svmlight_and_npz_and_gives_the_engines_answer(tmp_path):
    rows = documents(tmp_path)
    expected = kmeans(rows, 5, seed=0)
    for name in ("docs.svmlight", "docs.npz"):
        result = run("fit", tmp_path / name, "-k", 5, "--init-seed", 0, "--json", "--labels-out", tmp_path / "l.txt")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert (summary["n_samples"], summary["n_features"]) == rows.shape
        assert summary["n_iter"] == expected.n_iter
        assert_allclose(summary["inertia"], expected.inertia, rtol=1e-9)
        assert_array_equal(np.loadtxt(tmp_path / "l.txt", dtype=np.int64), expected.labels)
        (tmp_path / "l.txt").unlink()


def test_predict_takes_the_centroids_width_for_svmlight_and_elbow_scores_sparse_rows(tmp_path):
    documents(tmp_path)
    fitted = run("fit", tmp_path / "docs.npz", "-k", 4, "--init-seed", 1, "--centroids-out", tmp_path / "c.csv")
    assert fitted.exit_code == 0, fitted.output
    # the svmlight file's largest index may fall short of the width: predict reads it as wide as the centroids
    predicted = run("predict", tmp_path / "docs.svmlight", "--centroids", tmp_path / "c.csv")
    assert predicted.exit_code == 0, predicted.output
    assert len(predicted.stdout.split()) == 400
    elbow = run("elbow", tmp_path / "docs.npz", "--k", "2:4", "--seed", 0, "--json")
    assert elbow.exit_code == 0, elbow.output
    assert all(row["calinski_harabasz"] is not None for row in json.loads(elbow.stdout)["table"])


def test_convert_writes_svmlight_as_npz(tmp_path):
    rows = documents(tmp_path)
    result = run("convert", tmp_path / "docs.svmlight", tmp_path / "out.npz", "--n-features", 250)
    assert result.exit_code == 0, result.output
    written = scipy.sparse.load_npz(tmp_path / "out.npz")
    assert written.shape == (400, 250)
    assert_allclose(written[:, :200].toarray(), rows.toarray())
    dense = run("convert", tmp_path / "docs.svmlight", tmp_path / "out.npy")
    assert_error(dense, "convert writes sparse data (svmlight, .npz) as .npz")
    assert not (tmp_path / "out.npy").exists()


def test_bad_sparse_files_get_one_line_naming_the_file_and_the_fault(tmp_path):
    cases = {
        "unsorted.svmlight": ("0 3:1 1:2\n", "should be sorted and unique"),
        "negative.svmlight": ("0 -3:1\n", "Invalid index -3"),
    }
    for name, (text, fragment) in cases.items():
        (tmp_path / name).write_text(text)
        assert_error(run("fit", tmp_path / name, "-k", 1), name, fragment)
    indices, indptr = np.array([0, 2, 1]), np.array([0, 2, 3])
    for name, data, fragment in (
        ("repeated.npz", (np.ones(3), np.array([1, 1, 0]), indptr), "row 0 has a repeated column index, 1"),
        ("unsorted.npz", (np.ones(3), indices, np.array([0, 1, 3])), "row 1 has an unsorted column index, 1"),
        ("nan.npz", (np.array([1.0, np.nan, 1.0]), indices, indptr), "row 0, column 2: nan is not finite"),
    ):
        matrix = scipy.sparse.csr_matrix(data, shape=(2, 3))
        scipy.sparse.save_npz(tmp_path / name, matrix)
        assert_error(run("fit", tmp_path / name, "-k", 1), name, fragment)
    (tmp_path / "plain.npz").write_bytes(b"not an archive")
    assert_error(
        run("fit", tmp_path / "plain.npz", "-k", 1),
        "cannot read",
        "plain.npz as a sparse matrix: it is not a .npz (zip) archive",
    )


def test_what_sparse_data_cannot_go_with_is_refused(tmp_path):
    documents(tmp_path)
    assert_error(run("fit", tmp_path / "docs.npz", "-k", 3, "--plot", tmp_path / "p.png"), "--plot cannot be given")
    assert not (tmp_path / "p.png").exists()
    assert_error(run("fit", tmp_path / "docs.npz", "-k", 3, "--columns", "0,1"), "--columns does not apply")
    assert_error(run("fit", tmp_path / "docs.npz", "-k", 3, "--n-features", 9), "--n-features is 9")

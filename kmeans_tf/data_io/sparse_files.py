"""Sparse data files: a ``.npz`` of ``scipy.sparse.save_npz``, or svmlight/libsvm text, read whole and checked.

A document collection as a TF-IDF or bag-of-words matrix is mostly zeros: these files hold
its non-zeros alone, and the engine clusters them without a dense copy
(``kmeans_tf.engine.sparse``). ``read_sparse`` returns a canonical CSR matrix, or raises
``ValueError`` naming the file and what is wrong: a malformed archive, a negative or too large
index, row pointers that do not add up (a ragged row), unsorted or repeated column indices in a
row, a NaN or infinity. An svmlight file's labels are read and left out; its width is the
largest index plus one unless ``n_features`` says more. ``write_npz`` writes one atomically.
"""

import io
import zipfile
from pathlib import Path

import numpy as np

NPZ_SUFFIX = ".npz"
SVMLIGHT_SUFFIXES = (".svm", ".svmlight", ".libsvm")
SPARSE_SUFFIXES = (NPZ_SUFFIX, *SVMLIGHT_SUFFIXES)


def is_sparse_file(path):
    """Whether ``path`` names a sparse data file, by its suffix."""
    return Path(str(path)).suffix.lower() in SPARSE_SUFFIXES


def read_sparse(path, n_features=None):
    """Read the sparse data file ``path`` into a canonical ``scipy.sparse.csr_matrix``, checked (the module says how).

    ``n_features``: the width of an svmlight file (None: its largest index plus one); a
    ``.npz`` file's width is its own, and a different ``n_features`` is refused.
    """
    import scipy.sparse

    if Path(path).suffix.lower() == NPZ_SUFFIX:
        if Path(path).is_file() and not zipfile.is_zipfile(path):  # numpy would talk of pickles
            raise ValueError(f"cannot read {path} as a sparse matrix: it is not a .npz (zip) archive")
        try:
            matrix = scipy.sparse.load_npz(path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise ValueError(f"cannot read {path} as a sparse matrix (scipy.sparse.save_npz's .npz): {error}") from None
        if n_features is not None and matrix.shape[1] != n_features:
            raise ValueError(f"{path} has {matrix.shape[1]} columns, but --n-features is {n_features}")
    else:
        matrix = _read_svmlight(path, n_features)
    if matrix.dtype.kind not in "iubf":
        raise ValueError(f"{path} should hold real numbers, got dtype {matrix.dtype}")
    return _checked_csr(scipy.sparse.csr_matrix(matrix) if matrix.format != "csr" else matrix, path)


def _read_svmlight(path, n_features):
    from sklearn.datasets import load_svmlight_file

    try:
        matrix, _labels = load_svmlight_file(str(path), n_features=n_features)
    except (OSError, ValueError, RuntimeError) as error:
        raise ValueError(f"{path}: {error}") from None
    return matrix


def _checked_csr(matrix, path):
    """Return ``matrix`` (CSR) if its structure is sound and sorted; else ValueError naming the first fault by row."""
    indptr, indices = np.asarray(matrix.indptr), np.asarray(matrix.indices)
    n_rows, n_columns = matrix.shape
    if len(indptr) != n_rows + 1 or indptr[0] != 0 or indptr[-1] != len(indices) or (np.diff(indptr) < 0).any():
        raise ValueError(f"{path}: its row pointers do not add up to {len(indices)} non-zeros in {n_rows} rows")
    if len(matrix.data) != len(indices):
        raise ValueError(f"{path} holds {len(matrix.data)} values for {len(indices)} column indices")
    row_of = np.repeat(np.arange(n_rows), np.diff(indptr))
    for bad, what in (
        (indices < 0, "a negative column index"),
        (indices >= n_columns, f"a column index beyond its {n_columns} columns"),
    ):
        if bad.any():
            at = int(np.argmax(bad))
            raise ValueError(f"{path}: row {row_of[at]} has {what}, {indices[at]}")
    steps = np.diff(indices)
    within_row = row_of[1:] == row_of[:-1]
    unsorted = within_row & (steps <= 0)
    if unsorted.any():
        at = int(np.argmax(unsorted)) + 1
        what = "a repeated" if steps[at - 1] == 0 else "an unsorted"
        raise ValueError(f"{path}: row {row_of[at]} has {what} column index, {indices[at]} (sorted and unique, please)")
    finite = np.isfinite(matrix.data)
    if not finite.all():
        at = int(np.argmin(finite))
        raise ValueError(f"{path}: row {row_of[at]}, column {indices[at]}: {matrix.data[at]} is not finite")
    matrix.has_canonical_format = True
    return matrix


def write_npz(path, matrix, *, overwrite=False):
    """Write ``matrix`` (scipy.sparse) to ``path`` as ``scipy.sparse.save_npz`` does, atomically (``write_output``)."""
    import scipy.sparse

    from kmeans_tf.data_io.writing import write_output

    buffer = io.BytesIO()
    scipy.sparse.save_npz(buffer, matrix)
    write_output(path, buffer.getvalue(), overwrite=overwrite)

"""Sparse rows: ``scipy.sparse`` matrices and arrays, checked at the door and handed to the kernel never made dense.

A TF-IDF matrix, a bag of words, one-hot features: ``kmeans``, ``predict``, ``inertia``,
``minibatch_kmeans`` and the estimators take them as CSR or CSC matrices or arrays (any real
dtype; integers become float64, as for dense rows). ``check`` makes a canonical CSR copy where
the input is not one already (sorted column indices, no duplicates); ``prepared`` scales the
values when their squares would leave the dtype's range (``prepare``), or the rows to unit length
for ``metric="cosine"``, into a copy of the values alone; ``to_tensor`` hands the kernel a
``csr_rows.CsrRows``, the CSR arrays as tensors. Sparse rows are not centred (that would make them
dense): the distances are ``||x||^2 - 2 x.c + ||c||^2``, as scikit-learn measures them on
sparse rows. The centroids are dense.
"""

import numpy as np
import scipy.sparse

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import csr_rows, prepare, spherical

# squared_norms squares about this many non-zeros at a time.
NORM_CHUNK = 2**20


def is_sparse(samples):
    """Whether ``samples`` are a ``scipy.sparse`` matrix or array."""
    return scipy.sparse.issparse(samples)


def check(samples, name="samples"):
    """Return ``samples`` as a canonical float32 or float64 ``scipy.sparse.csr_matrix``; ValueError naming the first
    NaN or infinity (its row and column), or an empty shape. The caller's matrix is never changed."""
    if samples.ndim != 2:
        raise ValueError(f"{name} should be 2-D (n_samples, n_features), got shape {samples.shape}")
    if samples.shape[0] == 0 or samples.shape[1] == 0:
        raise ValueError(f"{name} should have at least one row and one column, got shape {samples.shape}")
    if samples.dtype.kind not in "iubf":
        raise ValueError(f"{name} should hold numbers, got dtype {samples.dtype}")
    rows = scipy.sparse.csr_matrix(samples)
    if rows.dtype not in (np.float32, np.float64):
        rows = rows.astype(np.float64)
    if not rows.has_canonical_format:
        if _shares_memory(rows, samples):
            rows = rows.copy()  # canonical order is made in place
        rows.sum_duplicates()  # sorts each row's columns, and adds up repeated ones
    finite = np.isfinite(rows.data)
    if not finite.all():
        at = int(np.argmin(finite))
        row = int(np.searchsorted(rows.indptr, at, side="right")) - 1
        raise ValueError(f"{name} should be finite, got {rows.data[at]} at row {row}, column {rows.indices[at]}")
    return rows


def prepared(rows, unit=False, centroids=None, exponent=None):
    """Return the rows (canonical CSR, checked) as ``prepare.Prepared``: not centred (mean 0), their values scaled by
    a power of two if their squares (or those of ``centroids``, an array, if given) need it (or by ``2**exponent``,
    if given), or each row scaled to unit length (``unit``; ValueError naming a row of zeros). ``centred`` is then a
    CSR matrix of the structure of ``rows`` (new values where they changed)."""
    n_features, norms = rows.shape[1], squared_norms(rows)
    if exponent is not None and not unit:
        scaled = _with_values(rows, np.ldexp(rows.data, exponent)) if exponent else rows
        return prepare.Prepared(
            scaled,
            squared_norms(scaled) if exponent else norms,
            np.zeros(n_features),
            exponent,
            bounds=_largest_everywhere(scaled),
        )
    if unit:
        lengths = np.sqrt(norms)
        empty = np.flatnonzero(lengths == 0)
        if len(empty):
            raise ValueError(spherical.zero_row_message("samples", int(empty[0])))
        scaled = _with_values(rows, (rows.data / np.repeat(lengths, np.diff(rows.indptr))).astype(rows.dtype))
        return prepare.Prepared(
            scaled, squared_norms(scaled), np.zeros(n_features), 0, unit=True, bounds=np.ones(n_features)
        )
    values, others = rows.data[None, :], [] if centroids is None else [centroids]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        in_range = prepare.fits(values, float(norms.max())) and all(
            prepare.fits(other, float(prepare.squared_norms(other).max())) for other in others
        )
    if in_range:
        return prepare.Prepared(rows, norms, np.zeros(n_features), 0, bounds=_largest_everywhere(rows))
    exponent = -int(np.frexp(max(prepare.largest_magnitude(array) for array in [values, *others]))[1])
    scaled = _with_values(rows, np.ldexp(rows.data, exponent))
    norms = squared_norms(scaled)
    if not prepare.fits(scaled.data[None, :], float(norms.max())):
        raise ValueError(prepare.out_of_range_message("the spread of these samples"))
    return prepare.Prepared(scaled, norms, np.zeros(n_features), exponent, bounds=_largest_everywhere(scaled))


def _largest_everywhere(rows):
    """``Prepared.bounds`` of sparse rows: the largest magnitude of any value, for every column (one pass over the
    values; a bound per column would need a scatter over them, several times slower)."""
    largest = max(abs(float(rows.data.max())), abs(float(rows.data.min()))) if rows.nnz else 0.0
    return np.full(rows.shape[1], largest)


def exact_inertia(rows, centroids, labels, weights=None):
    """``prepare.exact_inertia`` of sparse ``rows``: ``||x||^2 - 2 x.c + ||c||^2`` per row, in float64."""
    centroids, labels = np.asarray(centroids, np.float64), np.asarray(labels)
    row_ids = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    with np.errstate(over="ignore", invalid="ignore"):
        # each non-zero times its row's centroid at its column: the rows are never made dense
        own_values = centroids[labels[row_ids], rows.indices]
        products = np.bincount(row_ids, weights=rows.data * own_values, minlength=rows.shape[0])
        own_norms = np.einsum("ij,ij->i", centroids, centroids)[labels]
        distances = np.maximum(squared_norms(rows) - 2 * products + own_norms, 0)
        return float(distances.sum() if weights is None else weights @ np.where(weights > 0, distances, 0.0))


def squared_norms(rows):
    """Each row's squared norm (float64), the rows of about ``NORM_CHUNK`` non-zeros at a time."""
    n_rows, starts = rows.shape[0], rows.indptr
    norms, step = np.zeros(n_rows), max(1, n_rows * NORM_CHUNK // max(rows.nnz, 1))
    for first in range(0, n_rows, step):
        last = min(first + step, n_rows)
        filled = np.flatnonzero(np.diff(starts[first : last + 1]) > 0)  # a row of no non-zeros: norm 0, no reduceat
        if len(filled):
            squares = np.square(rows.data[starts[first] : starts[last]], dtype=np.float64)
            norms[first + filled] = np.add.reduceat(squares, starts[first + filled] - starts[first])
    return norms


def column_sums(rows):
    """The column sums (float64)."""
    return np.bincount(rows.indices, weights=rows.data.astype(np.float64), minlength=rows.shape[1])


def rows_at(samples, indices):
    """The rows of ``samples`` (an array, or sparse CSR rows) at ``indices`` (ints), as an array of their dtype."""
    return samples[np.asarray(indices)].toarray() if is_sparse(samples) else samples[indices]


def as_tensor(samples):
    """``samples`` as the kernel takes them: a tensor, or ``CsrRows`` of sparse CSR rows."""
    return to_tensor(samples) if is_sparse(samples) else tf.constant(samples)


def to_tensor(rows, in_place=False):
    """``CsrRows`` of the CSR ``rows`` (canonical), in their order: what the kernel takes.

    With ``in_place``, over the rows' own arrays where they can be (``csr_rows.in_place``: for a
    kernel whose ops alone read them, ``reads_in_place``); else a copy.
    """
    return csr_rows.in_place(rows) if in_place else csr_rows.from_scipy(rows)


def one_hot(labels, n_labels):
    """A sparse (n_rows, n_labels) CSR matrix of ones at each row's label."""
    n_rows = len(labels)
    return scipy.sparse.csr_matrix((np.ones(n_rows), (np.arange(n_rows), labels)), shape=(n_rows, n_labels))


def _shares_memory(rows, samples):
    """Whether the arrays of ``rows`` (CSR) share memory with those of the caller's ``samples``."""
    given = [getattr(samples, name, None) for name in ("data", "indices", "indptr", "row", "col")]
    return any(
        isinstance(array, np.ndarray) and np.shares_memory(mine, array)
        for mine in (rows.data, rows.indices, rows.indptr)
        for array in given
    )


def _with_values(rows, values):
    """A CSR matrix of the structure of ``rows`` holding ``values``."""
    return scipy.sparse.csr_matrix((values, rows.indices, rows.indptr), shape=rows.shape)

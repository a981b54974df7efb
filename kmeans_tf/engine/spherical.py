"""Rows by direction alone: what ``metric="cosine"`` (spherical k-means) does to the rows before the loops see them.

Spherical k-means (Dhillon and Modha 2001; faiss's ``spherical=True``) compares rows by
direction: a row's cluster is the centroid of largest cosine similarity, each centroid is the
normalised (weighted) mean direction of its rows, and the inertia sums ``1 - cos``. For rows
and centroids of unit length, ``1 - cos(x, c) = ||x - c||^2 / 2``: once each row is scaled to
unit length, the Euclidean engine (its kernel, its bounds, k-means++ and k-means||) serves as
it is; the M-step scales each mean back to unit length (``m_step``), and the inertia is half
the squared distance (``prepare.Prepared``). The caller's rows are never written: they are
scaled into the one copy the loops read (in memory) or chunk by chunk as they are read (streamed).

A row of zeros has no direction: it is refused, by its row, before any work.
"""

import numpy as np
import scipy.sparse

# Rows per block of the numpy passes here: a float64 length per row, and a block of the rows' dtype at most.
BLOCK_ROWS = 16384
# A row whose length is within this many of its dtype's epsilons of 1 is unit already: scaling it again
# would only move its last bits (a fitted model's centroids stay exactly as they were fitted).
UNIT_SLACK = 4


def zero_row_message(name, row):
    """The error for a row of zeros at ``row`` of ``name`` (a row number, or "row R of FILE"-style text)."""
    return f"{name} has a row of zeros at row {row}: metric='cosine' compares rows by direction, and it has none"


def lengths(rows):
    """Return each row's Euclidean length (float64), without overflow or underflow for any finite row.

    The squares are summed in the rows' dtype (a fast pass); the rows whose sum leaves its range
    are measured again in float64, scaled by their largest cell.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        squares = np.einsum("ij,ij->i", rows, rows)
        found = np.sqrt(squares, dtype=np.float64)
        doubtful = np.flatnonzero(~np.isfinite(squares) | (squares < np.sqrt(np.finfo(squares.dtype).tiny)))
        if len(doubtful):
            extreme = rows[doubtful].astype(np.float64)
            largest = np.abs(extreme).max(axis=1)
            scaled = extreme / np.where(largest > 0, largest, 1)[:, None]
            found[doubtful] = largest * np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
    return found


def first_zero_row(rows):
    """Return the index of the first row of zeros in ``rows`` (finite), or None."""
    for start in range(0, len(rows), BLOCK_ROWS):
        block = rows[start : start + BLOCK_ROWS]
        zero = np.flatnonzero(~block.any(axis=1))
        if len(zero):
            return start + int(zero[0])
    return None


def check_directions(rows, name):
    """Raise ValueError naming the first row of zeros of ``rows`` (finite, in memory), if there is one."""
    row = first_zero_row(rows)
    if row is not None:
        raise ValueError(zero_row_message(name, row))


def unit_rows(rows, out):
    """Write ``rows`` scaled to unit length into ``out`` (an array of their shape; it may be ``rows`` itself); return
    each row's length (float64) before, 0 for a row of zeros.

    A row of zeros comes out NaN: the callers refuse it by its length, or the passes' finiteness checks catch a row
    that became one since the door. One pass a block: the lengths, then the division by them in the rows'
    dtype; rows of unit length already (to a few roundings) stay as they are.
    """
    found = np.empty(len(rows))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for start in range(0, len(rows), BLOCK_ROWS):
            block = slice(start, start + BLOCK_ROWS)
            found[block] = lengths(rows[block])
            divisors = found[block].astype(rows.dtype)
            divisors[np.abs(divisors - 1) <= UNIT_SLACK * np.finfo(rows.dtype).eps] = 1  # unit already, to rounding
            np.divide(rows[block], divisors[:, None], out=out[block])
            out[block][found[block] == 0] = np.nan
    return found


def refuse_zero_rows(lengths, name, first_row=0):
    """Raise ValueError naming the first row of zeros (length 0), its number counted from ``first_row``."""
    zero = np.flatnonzero(lengths == 0)
    if len(zero):
        raise ValueError(zero_row_message(name, first_row + int(zero[0])))


def unit_copy(points, name):
    """Return ``points`` (finite, in memory) scaled to unit length, a new array; ValueError on a row of zeros."""
    copy = np.empty_like(points)
    refuse_zero_rows(unit_rows(points, copy), name)
    return copy


def cosine_distances(rows, centroids):
    """Return ``1 - cos`` (float, shape (n_rows, n_centroids)) of each of ``rows`` (an array, or sparse CSR rows) to
    each of ``centroids``, in the rows' dtype; ValueError naming a row of zeros of either."""
    directions = unit_copy(np.asarray(centroids, rows.dtype), "centroids").T
    if scipy.sparse.issparse(rows):
        lengths = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1, dtype=np.float64)).ravel())
        if (lengths == 0).any():
            raise ValueError(zero_row_message("X", int(np.argmin(lengths))))
        similarity = np.asarray(rows @ directions) / lengths[:, None]
    else:
        similarity = unit_copy(rows, "X") @ directions
    return np.clip(1 - similarity, 0, 2).astype(rows.dtype, copy=False)

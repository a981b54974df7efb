"""The data's way into the engine: column sums, centring, scaling, squared norms, and a tensor over the buffer.

The functions work a chunk of rows at a time, so no temporary the size of the data is made
besides the one centred copy, and they assume checked input (``kmeans_tf.engine.validation``).

Data whose squared distances would overflow or underflow their dtype (float32 cells of
1e20 or 1e-20, float64 cells of 1e308) are scaled by a power of two, ``2**exponent``, that
brings the largest row near 1. A power of two exponents every sum and product exactly, so the
labels are those that exact arithmetic on the data would give as far as the dtype can
tell, and the centroids are scaled back exactly. Scaled down, though, a squared distance
smaller than ``2**(-2 * exponent)`` times the dtype's smallest number vanishes (columns of 1
beside columns of 1e308): the inertia of data scaled down (``Prepared.shrunk``) is measured
on the samples themselves (``exact_inertia``); scaled up, it is scaled back exactly.
"""

import dataclasses
import math

import numpy as np
import scipy.sparse

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import exact, kernels, spherical

# Rows per chunk of the numpy passes over the data.
CHUNK_ROWS = 65536
# TensorFlow requires a tensor's memory to start on a 64-byte boundary (EIGEN_MAX_ALIGN_BYTES).
TENSOR_ALIGNMENT = 64


def column_sums(samples):
    """Return the column sums in float64, a chunk of rows at a time (no copy of the data).

    einsum, not BLAS: OpenBLAS's threads spin for a while after a call, and on a small
    machine that takes a core from the k-means loop that follows.
    """
    total = np.zeros(samples.shape[1])
    for start in range(0, len(samples), CHUNK_ROWS):
        total += np.einsum("ij->j", samples[start : start + CHUNK_ROWS])
    return total


def largest_squared_norm(points):
    """Return the largest squared norm of ``points``' rows (squares summed in float64), a MiB of squares at a time."""
    rows = max(1, 2**17 // max(points.shape[1], 1))
    return max(
        float(np.square(points[start : start + rows], dtype=np.float64).sum(axis=1).max())
        for start in range(0, len(points), rows)
    )


def squared_norms(samples):
    """Return each row's squared norm (float64), computed a chunk of rows at a time."""
    norms = np.empty(len(samples))
    for start in range(0, len(samples), CHUNK_ROWS):
        chunk = samples[start : start + CHUNK_ROWS]
        norms[start : start + CHUNK_ROWS] = np.einsum("ij,ij->i", chunk, chunk)
    return norms


@dataclasses.dataclass(frozen=True)
class Prepared:
    """The data as the loops see them: ``(samples - mean) * 2**exponent``; or scaled to unit length (``unit``); or
    sparse rows, not centred (``kmeans_tf.engine.sparse``: ``centred`` is a CSR matrix, ``mean`` 0).

    Attributes
    ----------
    centred : array like the samples, aligned for TensorFlow
    norms : float64 array of shape (n_samples,), each row's squared norm in ``centred``
    mean : float64 array of shape (n_features,), the samples' mean (unscaled)
    exponent : int, the scale's power of two (0: not scaled)
    bounds : float64 array of shape (n_features,), the largest magnitude a column of ``centred`` can have: the units
        of the loops' exact sums are chosen by it (``sum_exponents``), so it depends on the data alone, not on how
        they are split (twice the column's largest magnitude, scaled; 1 for rows of unit length; for sparse rows,
        which are never split, the largest magnitude of any value, in every column)
    """

    centred: np.ndarray
    norms: np.ndarray
    mean: np.ndarray
    exponent: int
    unit: bool = False  # rows scaled to unit length instead (``metric="cosine"``, ``unit_length``)
    bounds: np.ndarray | None = None

    def sum_exponents(self, weights=None):
        """The units of the loops' exact sums (``exact.sum_exponents``) for these columns and ``weights`` (or None)."""
        largest_weight = 1.0 if weights is None or not len(weights) else float(np.max(weights))
        return exact.sum_exponents(self.bounds, largest_weight)

    def transformed(self, points, name="init"):
        """Return points (an array like the samples) in the coordinates of ``centred``.

        Rows of unit length (``unit``): the points scaled to unit length; ValueError naming a row of zeros of ``name``.
        """
        dtype = self.centred.dtype
        if self.unit:
            return spherical.unit_copy(points.astype(dtype), name)
        if self.exponent == 0 and not np.any(self.mean):  # neither scaled nor centred (sparse rows): as they are
            return np.asarray(points, dtype)
        return np.ldexp(points.astype(dtype), self.exponent) - np.ldexp(self.mean, self.exponent).astype(dtype)

    def unscaled(self, centroids, dtype=np.float64):
        """Return centroids (an array or a tensor) of ``centred`` in the samples' coordinates, as ``dtype``.

        A new array, made in float64 where the coordinates are scaled or centred.
        """
        if self.exponent == 0 and not np.any(self.mean):  # neither scaled nor centred (sparse rows, unit rows)
            return np.array(centroids, dtype)
        return (np.ldexp(np.asarray(centroids, np.float64), -self.exponent) + self.mean).astype(dtype)

    def unscaled_squared(self, values):
        """Return squared distances of ``centred`` (float64 values or an array of them) in the samples' units."""
        return np.ldexp(np.asarray(values, np.float64), -2 * self.exponent)

    def unscaled_costs(self, values):
        """Return sums of squared distances of ``centred`` (float64, or an array) as inertias in the samples' units.

        Rows of unit length: half the squared distance, ``1 - cos`` (``spherical``).
        """
        return self.unscaled_squared(values) / 2 if self.unit else self.unscaled_squared(values)

    def unscaled_inertia(self, inertia):
        """Return an inertia of ``centred`` in the samples' units; ValueError when float64 cannot hold it.

        Exact unless the data were scaled down (``shrunk``): then ``exact_inertia`` measures it.
        """
        if self.unit:
            return float(inertia) / 2
        try:
            return math.ldexp(float(inertia), -2 * self.exponent)
        except OverflowError:
            raise ValueError(out_of_range_message(f"the inertia ({inertia:.6g} * 2**{-2 * self.exponent})")) from None

    @property
    def spread(self):
        """The sum of the rows' squared distances to their mean in ``centred`` (``tol`` is relative to it), from
        exact sums (``exact``): the same however the rows are split."""
        if scipy.sparse.issparse(self.centred):  # in memory alone, never split: float64 sums, in one order
            mean_sum = np.asarray(self.centred.sum(axis=0, dtype=np.float64)).ravel()
            return spread_of(float(self.norms.sum()), mean_sum, self.centred.shape[0])
        norm_sum = norm_total(self.norms, self.bounds)
        if not self.unit:  # centred: their squared norms
            return norm_sum
        column_exponents = exact.exponents(self.bounds)
        sums = kernels.column_sums(_blocks(self.centred), column_exponents, self.centred.shape[1])
        return spread_of(norm_sum, exact.value(sums, column_exponents), self.centred.shape[0])

    @property
    def shrunk(self):
        """Whether the data were scaled down: then small squared distances vanish in ``centred``, and the inertia is
        measured on the samples (``exact_inertia``)."""
        return self.exponent < 0


def exact_inertia(samples, centroids, labels, weights=None):
    """Return the (weighted) sum of squared distances from ``samples`` to their labelled ``centroids``, measured on
    the samples as they are, in float64, a chunk of rows at a time; inf when float64 cannot hold it
    (``inertia_in_range`` says so).

    ``centroids`` are in the samples' coordinates; ``labels`` one per sample; ``weights`` (float64) or None.
    """
    centroids, total = np.asarray(centroids, np.float64), 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(samples), CHUNK_ROWS):
            rows = slice(start, start + CHUNK_ROWS)
            gaps = samples[rows] - centroids[np.asarray(labels[rows])]
            distances = np.einsum("ij,ij->i", gaps, gaps)
            if weights is None:
                total += float(distances.sum())
            else:  # a weight of 0 counts nothing, even beside a distance beyond float64
                total += float(weights[rows] @ np.where(weights[rows] > 0, distances, 0.0))
    return total


def inertia_in_range(inertia):
    """Return ``inertia`` (in the samples' units, from ``exact_inertia``); ValueError when float64 cannot hold it."""
    if math.isinf(inertia):
        raise ValueError(out_of_range_message(f"the inertia (over {np.finfo(np.float64).max:.6g})"))
    return inertia


def out_of_range_message(what):
    return (
        f"{what} is beyond what float64 can hold: the data's magnitude is too large for squared "
        f"distances; rescale the data (divide it by a large number) and cluster again"
    )


def _blocks(samples):
    """The samples in blocks of CHUNK_ROWS rows."""
    return (samples[start : start + CHUNK_ROWS] for start in range(0, len(samples), CHUNK_ROWS))


def norm_exponent(bounds):
    """The units of an exact sum of squared norms of rows whose columns are within ``bounds`` (``exact.exponents``)."""
    return float(exact.exponents(float(np.square(bounds).sum())))


def norm_total(norms, bounds):
    """The exact sum of rows' squared norms (float64) whose columns are within ``bounds``: the same in any order."""
    return exact.total(norms, norm_exponent(bounds))


def spread_of(norm_sum, column_sums, n_rows):
    """The sum of squared distances of rows to their mean, from their squared norms' sum and their column sums."""
    return max(norm_sum - float(column_sums @ column_sums) / n_rows, 0.0)


# Rows folded into one for a reduction over columns: numpy's maximum over a few long rows runs in SIMD, over many
# short ones it does not.
ROWS_PER_FOLD = 64


def column_magnitudes(samples):
    """Each column's largest absolute value (float64), a chunk of rows at a time; NaN where a column holds one."""
    largest = np.zeros(samples.shape[1])
    for start in range(0, len(samples), CHUNK_ROWS):
        chunk = samples[start : start + CHUNK_ROWS]
        largest = np.maximum(largest, np.maximum(_column_reduce(np.max, chunk), -_column_reduce(np.min, chunk)))
    return largest


def _column_reduce(reduce, rows):
    """``reduce(rows, axis=0)`` (np.max or np.min, float64), ROWS_PER_FOLD rows folded into one row at a time."""
    n_features = rows.shape[1]
    whole = len(rows) - len(rows) % ROWS_PER_FOLD
    parts = [reduce(rows[whole:], axis=0)] if whole < len(rows) else []
    if whole and rows.flags.c_contiguous:
        folded = reduce(rows[:whole].reshape(-1, ROWS_PER_FOLD * n_features), axis=0)
        parts.append(reduce(folded.reshape(ROWS_PER_FOLD, n_features), axis=0))
    elif whole:
        parts.append(reduce(rows[:whole], axis=0))
    return reduce(np.stack(parts), axis=0).astype(np.float64)


def exact_mean(sums, column_exponents, n_rows, exponent):
    """The columns' mean times ``2**exponent``, from their exact sums (limbs in units of ``column_exponents``)."""
    return exact.value(sums, column_exponents - exponent) / n_rows


def centring_bounds(largest, exponent):
    """``Prepared.bounds`` of centred rows: twice each column's largest magnitude, times ``2**exponent``."""
    return np.ldexp(largest, exponent + 1)


def centre_and_scale(samples, largest=None):
    """Return the samples centred (and scaled by a power of two if their squared norms need it), as ``Prepared``.

    The mean is of exact column sums (``exact``), the same whatever the order of the rows.
    ``largest``: each column's largest magnitude (``column_magnitudes``), if known.
    """
    n_samples = len(samples)
    largest = column_magnitudes(samples) if largest is None else largest
    column_exponents = exact.exponents(largest)
    sums = kernels.column_sums(_blocks(samples), column_exponents, samples.shape[1])
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        mean = exact_mean(sums, column_exponents, n_samples, 0)
        if np.isfinite(mean).all():
            data = np.subtract(samples, mean.astype(samples.dtype), out=aligned_like(samples))
            norms = squared_norms(data)
            if fits(data, float(norms.max())):
                return Prepared(data, norms, mean, 0, bounds=centring_bounds(largest, 0))
        # Scale by the power of two that brings the largest cell into [0.5, 1), then centre.
        exponent = -int(np.frexp(float(largest.max()))[1])
        data = np.ldexp(samples, exponent, out=aligned_like(samples))
        mean = exact_mean(sums, column_exponents, n_samples, exponent)
        np.subtract(data, mean.astype(samples.dtype), out=data)
        norms = squared_norms(data)
    if not fits(data, float(norms.max())):
        raise ValueError(out_of_range_message("the spread of these samples"))
    return Prepared(data, norms, np.ldexp(mean, -exponent), exponent, bounds=centring_bounds(largest, exponent))


def unit_length(samples, name="samples"):
    """Return the samples scaled to unit length, as ``Prepared`` (``unit``; not centred: the mean is 0).

    ValueError naming the first row of zeros: it has no direction (``spherical``).
    """
    data = aligned_like(samples)
    spherical.refuse_zero_rows(spherical.unit_rows(samples, data), name)
    n_features = samples.shape[1]
    return Prepared(data, squared_norms(data), np.zeros(n_features), 0, unit=True, bounds=np.ones(n_features))


def fits(data, largest_squared_norm):
    """Whether ``data``, whose largest squared row norm is given, has squared distances safe in its dtype.

    Safe: no overflow, and no loss to subnormal numbers. A largest norm of 0 is safe only
    when every cell is 0 (the squares of tiny cells can round to 0).
    """
    if largest_squared_norm == 0:
        return largest_magnitude(data) == 0
    info = np.finfo(data.dtype)
    return math.sqrt(info.tiny) <= largest_squared_norm <= math.sqrt(info.max)


def largest_magnitude(samples):
    """Return the largest absolute value of any cell, a chunk of rows at a time."""
    return max(float(np.abs(samples[start : start + CHUNK_ROWS]).max()) for start in range(0, len(samples), CHUNK_ROWS))


def scale_exponent(*arrays):
    """Return the power of two that makes the arrays' squared distances safe in their dtype (0 when they are)."""
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        if all(fits(array, float(squared_norms(array).max())) for array in arrays):
            return 0
    return -int(np.frexp(max(largest_magnitude(array) for array in arrays))[1])


def aligned_like(array):
    """Return an uninitialised C-contiguous array like ``array`` that starts on a TENSOR_ALIGNMENT boundary."""
    raw = np.empty(array.nbytes + TENSOR_ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % TENSOR_ALIGNMENT
    return raw[start : start + array.nbytes].view(array.dtype).reshape(array.shape)


def tensor_over(array):
    """Return a tensor that shares ``array``'s memory, with no copy (``array`` from ``aligned_like``).

    The tensor keeps the array alive; nothing may write to the array afterwards.
    """
    return tf.experimental.dlpack.from_dlpack(array.__dlpack__())

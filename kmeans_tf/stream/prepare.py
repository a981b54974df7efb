"""Streamed data's way in: the door's finiteness check, the mean, the scale, and each chunk's centring.

The passes mirror ``prepare.centre_and_scale`` chunk by chunk, so that a chunk centred here
holds the numbers the same rows hold in the centred copy of an array in memory: the column
sums are added up in the same blocks of ``prepare.CHUNK_ROWS`` rows as there (the same mean, bit
for bit, for one array), a chunk is centred by the same
subtraction, and data at the edges of the dtype are scaled by the same power of two. Nothing
the size of the data is made: each pass keeps a few numbers per column.
"""

import dataclasses
import functools
import math

import numpy as np

from kmeans_tf.engine import prepare, spherical
from kmeans_tf.stream.sources import chunks

# A chunk is centred this many rows at a time, as one long row: numpy's loop over a row of a few
# columns costs more than the subtraction itself.
ROWS_PER_RUN = 64


@dataclasses.dataclass(frozen=True)
class StreamPrepared:
    """How each chunk is brought into the loops' coordinates: ``(rows * 2**exponent) - offset``.

    Attributes
    ----------
    mean : float64 array of shape (n_features,), the samples' mean (unscaled)
    exponent : int, the scale's power of two (0: not scaled)
    offset : array of shape (n_features,), the engine's dtype: the mean subtracted from each scaled chunk
    norm_sum : float, the sum of the squared distances of the rows to their mean (the basis of ``tol``)
    unit : bool, rows scaled to unit length instead (``metric="cosine"``: ``prepare_unit_with``; mean and offset 0)
    direction_mean : float64 array of shape (n_features,) or None, the mean of the rows of unit length
    """

    mean: np.ndarray
    exponent: int
    offset: np.ndarray
    norm_sum: float
    unit: bool = False
    direction_mean: np.ndarray | None = None

    def transform(self, rows, out):
        """Write ``rows`` centred (and scaled) into ``out``, as ``prepare.centre_and_scale`` does the whole array;
        or of unit length, as ``prepare.unit_length`` does."""
        if self.unit:
            spherical.unit_rows(rows, out)
            return
        if self.exponent:
            rows = np.ldexp(rows, self.exponent, out=out)
        _centre(self.offset, rows, out)

    def prepared(self):
        """Return a ``prepare.Prepared`` with no data, for its coordinate changes (centroids, inertia)."""
        empty = np.empty((0, len(self.offset)), self.offset.dtype)
        return prepare.Prepared(empty, None, self.mean, self.exponent, self.unit)

    @property
    def data_mean(self):
        """The mean a checkpoint compares: of the rows, or of their directions (``unit``)."""
        return self.direction_mean if self.unit else self.mean


def prepare_stream(source, chunk_rows, buffers=None, unit=False):
    """Check the streamed samples are finite and return their ``StreamPrepared`` (two passes; four when scaled; one
    for rows of ``unit`` length, ``prepare_unit_with``).

    ``buffers``: the chunks' buffers (``sources.chunk_buffers``), or None for new ones.
    """
    passes = SourcePasses(source, chunk_rows, buffers)
    return prepare_unit_with(passes) if unit else prepare_with(passes)


class SourcePasses:
    """The preparing passes over one streamed source: what ``prepare_with`` asks of the rows."""

    def __init__(self, source, chunk_rows, buffers=None):
        self.source, self.chunk_rows, self.buffers = source, chunk_rows, buffers
        self.n_rows, self.dtype = source.n_rows, source.dtype

    def column_sums(self, scale):
        """The column sums (float64) and the largest magnitude of the rows times ``2**scale``."""
        return _column_sums(self.source, scale, self.buffers)

    def norms(self, transform):
        """The largest and the summed squared norms, and the largest magnitude, of the rows after ``transform``."""
        return _norms(self.source, self.chunk_rows, transform, self.buffers)

    def check_finite(self, first_row=0):
        """Raise ValueError naming the first NaN or infinity (its row counted from ``first_row``)."""
        _check_finite(self.source, self.chunk_rows, first_row, self.buffers)

    def direction_sums(self, first_row=0):
        """The column sums and the summed squared norms (float64) of the rows scaled to unit length, in one pass that
        is their door: ValueError naming the first NaN or infinity, or row of zeros (counted from ``first_row``)."""
        sums, norm_sum = np.zeros(self.source.n_features), 0.0
        for span, chunk in chunks(self.source, self.chunk_rows, buffers=self.buffers):
            _refuse_not_finite(self.source, span, chunk, first_row)
            zero = np.flatnonzero(spherical.unit_rows(chunk, chunk) == 0)  # the buffer is the pass's own
            if len(zero):
                name, row, _ = self.source.position(span, int(zero[0]), 0, first_row, by_file=self.source.sharded)
                raise ValueError(spherical.zero_row_message(name, row))
            unit = chunk
            sums += np.einsum("ij->j", unit, dtype=np.float64)
            norm_sum += float(np.einsum("ij,ij->", unit, unit, dtype=np.float64))
        return sums, norm_sum


def prepare_with(passes):
    """The ``StreamPrepared`` of the rows that ``passes`` read (``SourcePasses``, or the replicas' joined ones).

    The column sums; when they are not finite, the check that names the cell; the centred
    norms; and, for data whose squared distances do not fit their dtype, the same again on the
    rows scaled by the power of two that brings the largest cell into [0.5, 1).
    """
    dtype = passes.dtype
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        sums, largest = passes.column_sums(0)
        if not np.isfinite(sums).all():
            passes.check_finite()
        else:
            mean = sums / passes.n_rows
            norm_max, norm_sum, centred_largest = passes.norms(functools.partial(_centre, mean.astype(dtype)))
            if not math.isfinite(centred_largest):  # a cell changed since the sums, or the centring overflowed
                passes.check_finite()
            if prepare.fits(_cell(centred_largest, dtype), norm_max):
                return StreamPrepared(mean, 0, mean.astype(dtype), norm_sum)
        exponent = -int(np.frexp(largest)[1])
        sums, _ = passes.column_sums(exponent)
        mean = sums / passes.n_rows
        scaled = StreamPrepared(mean, exponent, mean.astype(dtype), 0.0)
        norm_max, norm_sum, centred_largest = passes.norms(scaled.transform)
        if not math.isfinite(centred_largest):
            passes.check_finite()
    if not prepare.fits(_cell(centred_largest, dtype), norm_max):
        raise ValueError(prepare.out_of_range_message("the spread of these samples"))
    return StreamPrepared(np.ldexp(mean, -exponent), exponent, mean.astype(dtype), norm_sum)


def prepare_unit_with(passes):
    """The ``StreamPrepared`` of ``metric="cosine"``: rows scaled to unit length, chunk by chunk (``spherical``).

    One pass (``passes.direction_sums``) checks the rows (finite, none of zeros) and measures the
    spread of their directions about their mean, the basis of ``tol``.
    """
    sums, norm_sum = passes.direction_sums()
    zeros = np.zeros(len(sums))
    spread = max(norm_sum - float(sums @ sums) / passes.n_rows, 0.0)
    return StreamPrepared(zeros, 0, zeros.astype(passes.dtype), spread, unit=True, direction_mean=sums / passes.n_rows)


def predict_exponent(source, chunk_rows, centroids):
    """``prepare.scale_exponent(samples, centroids)`` for streamed samples, in one pass that is also their door's
    finiteness check (ValueError naming the first NaN or infinity, as for an array in memory)."""
    norm_max, _, largest = _norms(source, chunk_rows, None, check=functools.partial(_refuse_not_finite, source))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        if prepare.fits(_cell(largest, source.dtype), norm_max) and prepare.fits(
            centroids, float(prepare.squared_norms(centroids).max())
        ):
            return 0
    return -int(np.frexp(max(largest, prepare.largest_magnitude(centroids)))[1])


def _cell(value, dtype):
    """A 1 x 1 array of ``value``: what ``prepare.fits`` reads the largest magnitude from when the norms are 0."""
    return np.full((1, 1), value, dtype)


def _centre(offset, rows, out):
    """Write ``rows - offset`` (``offset`` taken from each row) into ``out``, an array of the shape of ``rows``."""
    whole = len(rows) - len(rows) % ROWS_PER_RUN
    if whole and rows.flags.c_contiguous and out.flags.c_contiguous:
        width = ROWS_PER_RUN * len(offset)
        np.subtract(rows[:whole].reshape(-1, width), np.tile(offset, ROWS_PER_RUN), out=out[:whole].reshape(-1, width))
        rows, out = rows[whole:], out[whole:]
    np.subtract(rows, offset, out=out)


def _larger(a, b):
    """The larger of two magnitudes, NaN when either is (``max`` keeps a NaN only when it comes first)."""
    return math.nan if math.isnan(a) or math.isnan(b) else max(a, b)


def _largest_magnitude(rows):
    """The largest ``abs`` of ``rows``, without an array the size of ``rows`` (a chunk more of the memory budget)."""
    return max(float(rows.max()), -float(rows.min()))


def _column_sums(source, scale, buffers=None):
    """Return the column sums (float64) and the largest magnitude of any cell, of the rows times ``2**scale``.

    The blocks are ``prepare.column_sums``' own, holding the same numbers, so that the mean is
    the one an array in memory gives, bit for bit. Blocks of files are read ahead into
    ``buffers`` when they hold a block.
    """
    block_rows = min(prepare.CHUNK_ROWS, source.n_rows)
    if buffers is not None and len(buffers[0]) >= block_rows and None not in source.files:
        blocks = (chunk for _, chunk in chunks(source, prepare.CHUNK_ROWS, None, buffers))
    else:
        blocks = source.blocks(prepare.CHUNK_ROWS)
    total, largest = np.zeros(source.n_features), 0.0
    for block in blocks:
        if scale:
            block = np.ldexp(block, scale)
        total += np.einsum("ij->j", block)
        largest = _larger(largest, _largest_magnitude(block))
    return total, largest


def _norms(source, chunk_rows, transform, buffers=None, check=None):
    """Return the largest and the sum of the rows' squared norms, and the largest magnitude, after ``transform``.

    ``check(span, chunk)``, if given, is called on each chunk that holds a NaN or an infinity.
    """
    norm_max, norm_sum, largest = 0.0, 0.0, 0.0
    for span, chunk in chunks(source, chunk_rows, transform, buffers):
        norms = np.einsum("ij,ij->i", chunk, chunk).astype(np.float64)
        norm_max, norm_sum = max(norm_max, float(norms.max())), norm_sum + float(norms.sum())
        chunk_largest = _largest_magnitude(chunk)
        if check is not None and not math.isfinite(chunk_largest):
            check(span, chunk)
        largest = _larger(largest, chunk_largest)
    return norm_max, norm_sum, largest


def _check_finite(source, chunk_rows, first_row=0, buffers=None):
    """Raise ValueError naming the first NaN or infinity, as the door does for an array in memory.

    ``first_row``: the number of the source's first row in the rows the message speaks of;
    ``buffers``: the chunks' buffers (``sources.chunk_buffers``), or None for new ones.
    """
    for span, chunk in chunks(source, chunk_rows, buffers=buffers):
        _refuse_not_finite(source, span, chunk, first_row)


def _refuse_not_finite(source, span, chunk, first_row=0):
    """Raise ValueError naming the first NaN or infinity of ``chunk`` (the rows of ``span``), if it holds one: by its
    file, row and column there for ``Shards``; else by its row (counted from ``first_row``) and column."""
    finite = np.isfinite(chunk)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        name, at_row, at_column = source.position(span, row, column, first_row, by_file=source.sharded)
        raise ValueError(f"{name} should be finite, got {chunk[row, column]} at row {at_row}, column {at_column}")

"""Streamed data's way in: the door's finiteness check, the mean, the scale, and each chunk's centring.

The passes mirror ``prepare.centre_and_scale`` chunk by chunk, so that a chunk centred here
holds the numbers the same rows hold in the centred copy of an array in memory: the columns'
largest magnitudes, then their exact sums (``exact``: the same mean, bit for bit, however the
rows are split into chunks, shards or workers), a chunk centred by the same subtraction, data
at the edges of the dtype scaled by the same power of two, and the spread (the basis of
``tol``) an exact sum of the same squared norms. Nothing the size of the data is made: each
pass keeps a few numbers per column.
"""

import dataclasses
import functools
import math

import numpy as np

from kmeans_tf.engine import exact, kernels, prepare, spherical
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
    bounds : float64 array of shape (n_features,), ``prepare.Prepared.bounds``
    """

    mean: np.ndarray
    exponent: int
    offset: np.ndarray
    norm_sum: float
    unit: bool = False
    direction_mean: np.ndarray | None = None
    bounds: np.ndarray | None = None

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
        return prepare.Prepared(empty, None, self.mean, self.exponent, self.unit, self.bounds)

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

    def column_magnitudes(self):
        """Each column's largest magnitude (float64; NaN where a column holds one)."""
        largest = np.zeros(self.source.n_features)
        for block in _blocks(self.source, self.buffers):
            largest = np.maximum(largest, prepare.column_magnitudes(block))
        return largest

    def exact_sums(self, column_exponents):
        """The exact column sums (``exact.column_sums``: limbs) of the rows."""
        return kernels.column_sums(_blocks(self.source, self.buffers), column_exponents, self.source.n_features)

    def norms(self, transform, norm_exponent):
        """The largest squared norm, the exact sum of the squared norms (limbs, in units of ``norm_exponent``), and the
        largest magnitude, of the rows after ``transform``."""
        return _norms(self.source, self.chunk_rows, transform, self.buffers, norm_exponent=norm_exponent)

    def check_finite(self, first_row=0):
        """Raise ValueError naming the first NaN or infinity (its row counted from ``first_row``)."""
        _check_finite(self.source, self.chunk_rows, first_row, self.buffers)

    def direction_sums(self, first_row=0):
        """The exact column sums and summed squared norms (limbs: ``exact``) of the rows scaled to unit length, in one
        pass that is their door: ValueError naming the first NaN or infinity, or row of zeros (counted from
        ``first_row``)."""
        n_features = self.source.n_features
        column_exponents, norm_exponent = exact.exponents(np.ones(n_features)), exact.exponents(float(n_features))
        sums, norm_sum = np.zeros((n_features, exact.LIMBS)), np.zeros(exact.LIMBS)
        for span, chunk in chunks(self.source, self.chunk_rows, buffers=self.buffers):
            _refuse_not_finite(self.source, span, chunk, first_row)
            zero = np.flatnonzero(spherical.unit_rows(chunk, chunk) == 0)  # the buffer is the pass's own
            if len(zero):
                name, row, _ = self.source.position(span, int(zero[0]), 0, first_row, by_file=self.source.sharded)
                raise ValueError(spherical.zero_row_message(name, row))
            sums = exact.add(sums, kernels.column_sums([chunk], column_exponents, n_features))
            norms = prepare.squared_norms(chunk)
            norm_sum = exact.add(norm_sum, exact.vector_sum(norms, norm_exponent))
        return sums, norm_sum


def prepare_with(passes):
    """The ``StreamPrepared`` of the rows that ``passes`` read (``SourcePasses``, or the replicas' joined ones).

    The columns' largest magnitudes (and, when one is not finite, the check that names the
    cell); their exact sums, whence the mean; the centred norms; and, for data whose squared
    distances do not fit their dtype, the norms again on the rows scaled by the power of two
    that brings the largest cell into [0.5, 1).
    """
    dtype, n_rows = passes.dtype, passes.n_rows
    largest = passes.column_magnitudes()
    if not np.isfinite(largest).all():
        passes.check_finite()
    column_exponents = exact.exponents(largest)
    sums = passes.exact_sums(column_exponents)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        mean = prepare.exact_mean(sums, column_exponents, n_rows, 0)
        if np.isfinite(mean).all():
            bounds = prepare.centring_bounds(largest, 0)
            norm_max, norm_sum, centred_largest = _centred_norms(
                passes, functools.partial(_centre, mean.astype(dtype)), bounds
            )
            if not math.isfinite(centred_largest):  # a cell changed since the sums, or the centring overflowed
                passes.check_finite()
            if prepare.fits(_cell(centred_largest, dtype), norm_max):
                return StreamPrepared(mean, 0, mean.astype(dtype), norm_sum, bounds=bounds)
        exponent = -int(np.frexp(float(largest.max()))[1])
        mean = prepare.exact_mean(sums, column_exponents, n_rows, exponent)
        bounds = prepare.centring_bounds(largest, exponent)
        scaled = StreamPrepared(mean, exponent, mean.astype(dtype), 0.0, bounds=bounds)
        norm_max, norm_sum, centred_largest = _centred_norms(passes, scaled.transform, bounds)
        if not math.isfinite(centred_largest):
            passes.check_finite()
    if not prepare.fits(_cell(centred_largest, dtype), norm_max):
        raise ValueError(prepare.out_of_range_message("the spread of these samples"))
    return StreamPrepared(np.ldexp(mean, -exponent), exponent, mean.astype(dtype), norm_sum, bounds=bounds)


def _centred_norms(passes, transform, bounds):
    """``passes.norms`` of the rows after ``transform``, the exact sum of the squared norms as a float (the spread)."""
    norm_exponent = prepare.norm_exponent(bounds)
    norm_max, norm_sum, largest = passes.norms(transform, norm_exponent)
    return norm_max, float(exact.value(norm_sum, norm_exponent)), largest


def prepare_unit_with(passes):
    """The ``StreamPrepared`` of ``metric="cosine"``: rows scaled to unit length, chunk by chunk (``spherical``).

    One pass (``passes.direction_sums``) checks the rows (finite, none of zeros) and measures the
    spread of their directions about their mean, the basis of ``tol``, from exact sums.
    """
    sums, norm_sum = passes.direction_sums()
    n_features = len(sums)
    sums = exact.value(sums, exact.exponents(np.ones(n_features)))
    norm_sum = float(exact.value(norm_sum, exact.exponents(float(n_features))))
    zeros = np.zeros(n_features)
    spread = prepare.spread_of(norm_sum, sums, passes.n_rows)
    return StreamPrepared(
        zeros,
        0,
        zeros.astype(passes.dtype),
        spread,
        unit=True,
        direction_mean=sums / passes.n_rows,
        bounds=np.ones(n_features),
    )


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


def _blocks(source, buffers=None):
    """The rows in blocks of at most ``prepare.CHUNK_ROWS`` (read ahead into ``buffers`` when they hold a block)."""
    block_rows = min(prepare.CHUNK_ROWS, source.n_rows)
    if buffers is not None and len(buffers[0]) >= block_rows and None not in source.files:
        return (chunk for _, chunk in chunks(source, prepare.CHUNK_ROWS, None, buffers))
    return source.blocks(prepare.CHUNK_ROWS)


def _norms(source, chunk_rows, transform, buffers=None, check=None, norm_exponent=None):
    """Return the largest squared norm of the rows after ``transform``, the exact sum of them (limbs in units of
    ``norm_exponent``; None: not summed), and the largest magnitude.

    ``check(span, chunk)``, if given, is called on each chunk that holds a NaN or an infinity.
    """
    norm_max, largest = 0.0, 0.0
    norm_sum = None if norm_exponent is None else np.zeros(exact.LIMBS)
    for span, chunk in chunks(source, chunk_rows, transform, buffers):
        norms = prepare.squared_norms(chunk)
        norm_max = max(norm_max, float(norms.max()))
        if norm_exponent is not None:
            norm_sum = exact.add(norm_sum, exact.vector_sum(norms, norm_exponent))
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

"""Rows read from disk: ``Shards``, the streamed data set; chunks read ahead by a thread; labels in a scratch file.

A streamed data set is a NumPy memory map (``np.load(path, mmap_mode="r")``) or ``Shards``:
the rows of several arrays (the ``.npy`` files of a folder, say) read one after another as
one data set. The engine reads it a chunk of rows at a time, in order: a reader thread fills
one of two aligned buffers (and centres it) while the other is computed.
"""

import concurrent.futures
import dataclasses
import tempfile

import numpy as np

from kmeans_tf import data_io
from kmeans_tf.data_io.tables import resolve_columns
from kmeans_tf.engine import prepare


class Shards:
    """The rows of several 2-D arrays of one width, read one after another as one data set.

    ``kmeans_tf.kmeans`` and ``predict`` stream it from disk, as they do a memory map.

    Parameters
    ----------
    arrays : sequence of arrays of shape (n_rows_i, n_features), usually read-only memory maps
    columns : sequence of int or None, default=None
        0-based indices of the columns to use (each chunk selects them as it is read); None: all.
    name : str, default="samples", the data set's name in error messages
    """

    def __init__(self, arrays, *, columns=None, name="samples"):
        self.arrays = tuple(arrays)
        self.columns = None if columns is None else [int(column) for column in columns]
        self.name = name

    def __repr__(self):
        return f"Shards({len(self.arrays)} arrays, {sum(len(array) for array in self.arrays)} rows, {self.name!r})"


def load_shards(folder):
    """Map the ``.npy`` files of ``folder`` (file-name order, one width; headers checked) as one ``Shards``."""
    return Shards(data_io.map_npy_folder(folder), name=str(folder))


def is_streamed(samples):
    """Whether ``samples`` are read from disk a chunk at a time (a memory map or ``Shards``)."""
    return isinstance(samples, (np.memmap, Shards))


@dataclasses.dataclass(frozen=True)
class Span:
    """A chunk: rows ``start`` to ``start + rows`` of the data set, held by array ``block`` from row ``offset``."""

    start: int
    rows: int
    block: int
    offset: int


class Source:
    """A checked streamed data set: its arrays, the columns used, and the float dtype the engine works in."""

    def __init__(self, samples, name="samples"):
        shards = samples if isinstance(samples, Shards) else Shards([samples], name=name)
        self.name = shards.name
        self.arrays = shards.arrays
        self.columns = shards.columns
        for array in self.arrays:
            if array.ndim != 2:
                raise ValueError(f"{self.name} should be 2-D (n_samples, n_features), got shape {array.shape}")
            if array.dtype.kind not in "iubf":
                raise ValueError(f"{self.name} should hold numbers, got dtype {array.dtype}")
        widths = {array.shape[1] for array in self.arrays}
        if len(widths) > 1:
            raise ValueError(f"{self.name} should be arrays of one width, got widths {sorted(widths)}")
        width = widths.pop() if widths else 0
        if self.columns is not None:
            self.columns = resolve_columns(self.columns, None, width, self.name)
            width = len(self.columns)
        self.n_rows, self.n_features = sum(len(array) for array in self.arrays), width
        if self.n_rows == 0 or self.n_features == 0:
            raise ValueError(
                f"{self.name} should have at least one row and one column, got shape {(self.n_rows, self.n_features)}"
            )
        # As the engine converts an array in memory: float32 stays float32, anything else is float64.
        all_float32 = all(array.dtype == np.float32 for array in self.arrays)
        self.dtype = np.dtype(np.float32 if all_float32 else np.float64)
        self.starts = np.cumsum([0] + [len(array) for array in self.arrays])

    @property
    def row_bytes(self):
        return self.n_features * self.dtype.itemsize

    def spans(self, chunk_rows):
        """Return the chunks of at most ``chunk_rows`` rows that cover the data set; none crosses two arrays."""
        return [
            Span(int(self.starts[block]) + offset, min(chunk_rows, len(array) - offset), block, offset)
            for block, array in enumerate(self.arrays)
            for offset in range(0, len(array), chunk_rows)
        ]

    def read(self, span, out, transform=None):
        """Write the rows of ``span`` (its columns, in the engine's dtype) into ``out``, through ``transform``.

        ``transform(rows, out)`` writes its result into ``out``; rows of another dtype are
        converted first, as the engine converts an array in memory.
        """
        rows = self.arrays[span.block][span.offset : span.offset + span.rows]
        if self.columns is not None:
            rows = rows[:, self.columns]
        if transform is None or rows.dtype != out.dtype:
            np.copyto(out, rows)
            rows = out
        if transform is not None:
            transform(rows, out)

    def blocks(self, rows):
        """Yield the data set in blocks of at most ``rows`` rows, each a view of its array where it can be."""
        for span in self.spans(rows):
            block = self.arrays[span.block][span.offset : span.offset + span.rows]
            yield np.asarray(block if self.columns is None else block[:, self.columns], self.dtype)

    def take(self, indices):
        """Return the rows at ``indices`` (ints, any order), shape (len(indices), n_features), in the engine's dtype."""
        indices = np.asarray(indices, np.int64)
        out = np.empty((len(indices), self.n_features), self.dtype)
        blocks = np.searchsorted(self.starts, indices, side="right") - 1
        for block in np.unique(blocks):
            here = np.flatnonzero(blocks == block)
            local = indices[here] - self.starts[block]
            order = np.argsort(local)  # rows read in file order
            rows = self.arrays[block][local[order]]
            out[here[order]] = rows if self.columns is None else rows[:, self.columns]
        return out


def aligned_empty(rows, n_features, dtype):
    """Return an uninitialised C-contiguous (rows, n_features) array on a TensorFlow-aligned boundary."""
    return prepare.aligned_like(np.broadcast_to(np.empty((), dtype), (rows, n_features)))


def chunk_buffers(source, chunk_rows):
    """Return the two aligned buffers that ``chunks`` reads ``source`` into, to be reused pass after pass.

    A new buffer's pages are faulted in (and zeroed) as its first pass writes them: about 1 ms
    per 4 MB on a small machine, paid again by every pass that makes its own.
    """
    return [aligned_empty(chunk_rows, source.n_features, source.dtype) for _ in range(2)]


def chunks(source, chunk_rows, transform=None, buffers=None):
    """Yield ``(span, chunk)`` over the data set in order, the next chunk read by a thread meanwhile.

    ``chunk`` (the rows, in the engine's dtype, through ``transform`` as ``Source.read`` says) lies in
    one of two aligned buffers: it is valid until the loop asks for the next one, and may be
    handed to TensorFlow with ``prepare.tensor_over`` for that long. ``buffers``: those of
    ``chunk_buffers`` (for ``chunk_rows`` rows of this width and dtype), for one pass at a
    time; None: new ones.
    """
    spans = source.spans(chunk_rows)
    buffers = chunk_buffers(source, chunk_rows) if buffers is None else buffers

    def load(index):
        chunk = buffers[index % 2][: spans[index].rows]
        source.read(spans[index], chunk, transform)
        return chunk

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kmeans-tf-reader") as reader:
        pending = reader.submit(load, 0)
        for index, span in enumerate(spans):
            chunk = pending.result()
            if index + 1 < len(spans):
                pending = reader.submit(load, index + 1)
            yield span, chunk


def new_labels(n_rows, in_memory, scratch_dir=None):
    """Return labels for ``n_rows``, all -1: int64 in memory, or int32 in a scratch file when ``in_memory`` is False.

    The scratch file is a ``tempfile.TemporaryFile`` in ``scratch_dir`` (default: the temporary
    folder): unlinked from the start, so nothing is left behind, whatever ends the process; its
    space is freed when the last map of it goes.
    """
    if in_memory:
        return np.full(n_rows, -1, np.int64)
    with tempfile.TemporaryFile(prefix="kmeans-tf-labels-", dir=scratch_dir) as scratch:
        scratch.truncate(n_rows * np.dtype(np.int32).itemsize)
        labels = np.memmap(scratch, dtype=np.int32, mode="r+", shape=(n_rows,))
    for start in range(0, n_rows, prepare.CHUNK_ROWS):
        labels[start : start + prepare.CHUNK_ROWS] = -1
    return labels

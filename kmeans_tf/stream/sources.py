"""Rows read from disk: ``Shards``, the streamed data set; chunks read ahead by a thread; labels in a scratch file.

A streamed data set is a NumPy memory map (``np.load(path, mmap_mode="r")``) or ``Shards``:
the rows of several arrays (the ``.npy`` files of a folder, say) read one after another as
one data set. The engine reads it a chunk of rows at a time, in order: a reader thread fills
one of two aligned buffers (and centres it) while the other is computed.

The rows of a memory map are read from its file with ``os.preadv`` (``FileRows``), not through the
map: a file cut short while it is read then gives a short read, and a ValueError that says so,
where a read through the map would kill the process with SIGBUS.
"""

import concurrent.futures
import contextlib
import dataclasses
import errno
import mmap
import os
import tempfile

import numpy as np

from kmeans_tf import data_io
from kmeans_tf.data_io.tables import resolve_columns
from kmeans_tf.engine import prepare
from kmeans_tf.stream.budget import describe_size


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


# Rows that are converted, or of which some columns are chosen, are read from their file this many bytes at a time.
STAGING_BYTES = 2**20
# Rows that ``Source.take`` reads closer than this in their file are read at once, with the rows between them:
# reading that many bytes more costs about what a read of its own costs.
TAKE_GAP_BYTES = 2**15


def changed_message(name, why):
    """The message of a file that changed while the engine read it: ``name`` names the file, ``why`` says how."""
    return f"{name}: the file changed while it was read ({why})"


@dataclasses.dataclass(frozen=True)
class FileRows:
    """Where the rows of a memory map lie in its file: they are read from there with ``os.preadv``, not through the map.

    Attributes
    ----------
    path : str, the file
    name : str, the file as messages name it
    identity : (int, int), the file's device and inode when the data set was opened
    start : int, the byte of the file where row 0 begins
    row_stride : int, bytes from the start of a row to the start of the next
    first_row : int, the row of the file (counted from the map's offset) that is row 0 of the array
    dtype : the array's dtype
    shape : (int, int), the array's rows and columns
    """

    path: str
    name: str
    identity: tuple
    start: int
    row_stride: int
    first_row: int
    dtype: np.dtype
    shape: tuple

    @property
    def width(self):
        return self.shape[1]

    @contextlib.contextmanager
    def opened(self):
        """Yield a descriptor of the file, checked to be the file that the data set was opened on."""
        try:
            descriptor = os.open(self.path, os.O_RDONLY)
        except OSError as error:
            raise ValueError(changed_message(self.name, f"it cannot be opened: {error.strerror or error}")) from None
        try:
            status = os.fstat(descriptor)
            if (status.st_dev, status.st_ino) != self.identity:
                raise ValueError(changed_message(self.name, "another file took its name"))
            yield descriptor
        finally:
            os.close(descriptor)

    def read(self, descriptor, first, count, out, columns=None, transform=None):
        """Write rows ``first`` to ``first + count`` (their ``columns``; None: all) into ``out`` through ``transform``,
        as ``Source.read`` says; ValueError when the file ends before them."""
        position, row_bytes = self.start + first * self.row_stride, self.width * self.dtype.itemsize
        if columns is None and self.row_stride == row_bytes and out.dtype == self.dtype and out.flags.c_contiguous:
            self._read_exactly(descriptor, memoryview(out).cast("B"), position)
            if transform is not None:
                transform(out, out)
            return
        piece = max(1, STAGING_BYTES // self.row_stride)
        staging = np.empty(min(count, piece) * self.row_stride, np.uint8)
        for done in range(0, count, piece):
            rows = min(piece, count - done)
            size = (rows - 1) * self.row_stride + row_bytes
            self._read_exactly(descriptor, memoryview(staging)[:size], position + done * self.row_stride)
            values = np.ndarray((rows, self.width), self.dtype, staging, strides=(self.row_stride, self.dtype.itemsize))
            write_rows(values if columns is None else values[:, columns], out[done : done + rows], transform)

    def _read_exactly(self, descriptor, view, position):
        """Fill ``view`` from byte ``position`` of the file on; ValueError when the file ends first (it was cut)."""
        while len(view):
            try:
                count = os.preadv(descriptor, [view], position)
            except OSError as error:
                raise ValueError(f"cannot read {self.name}: {error.strerror or error}") from None
            if not count:
                size, end = os.fstat(descriptor).st_size, self.start + self.shape[0] * self.row_stride
                raise ValueError(changed_message(self.name, f"it is now {size} bytes long, and its rows need {end}"))
            view, position = view[count:], position + count


def file_rows(array, name):
    """Return the ``FileRows`` of ``array`` (messages name its file as ``name`` does, see ``file_name``), or None
    when its rows are not read from a file: an array in memory, a copy-on-write map (whose changes are not in
    the file), rows not contiguous in the file (a Fortran-order map), or a file no longer there."""
    if not isinstance(array, np.memmap) or array.mode == "c" or array.filename is None or array.ndim != 2:
        return None
    (rows, width), itemsize = array.shape, array.dtype.itemsize
    if (width > 1 and array.strides[1] != itemsize) or (rows > 1 and array.strides[0] < width * itemsize):
        return None
    mapping = array.base
    while mapping is not None and not isinstance(mapping, mmap.mmap):
        mapping = getattr(mapping, "base", None)
    try:
        status = os.stat(array.filename)
    except OSError:
        mapping = None
    if mapping is None:
        return None
    # The map begins at the offset rounded down to the allocation granularity (as np.memmap maps it).
    mapped_from = array.offset - array.offset % mmap.ALLOCATIONGRANULARITY
    start = mapped_from + array.ctypes.data - np.frombuffer(mapping, np.uint8).ctypes.data
    row_stride = array.strides[0] if rows > 1 else width * itemsize
    return FileRows(
        array.filename,
        file_name(array.filename, name),
        (status.st_dev, status.st_ino),
        start,
        row_stride,
        (start - array.offset) // row_stride,
        array.dtype,
        array.shape,
    )


def file_name(path, name):
    """How messages name the file at ``path`` (absolute) of the data set ``name``: as ``name`` spells it when
    ``name`` is that file or its folder, else in full."""
    if isinstance(name, str):
        given = os.path.abspath(name)
        if given == path:
            return name
        if os.path.dirname(path) == given:
            return os.path.join(name, os.path.basename(path))
    return path


def write_rows(rows, out, transform=None):
    """Write ``rows`` into ``out`` through ``transform(rows, out)``; rows of another dtype are converted first."""
    if transform is None or rows.dtype != out.dtype:
        np.copyto(out, rows)
        rows = out
    if transform is not None:
        transform(rows, out)


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
        # Messages name a cell of Shards by its file, row and column there; of one array, as numpy indexes it.
        self.sharded = isinstance(samples, Shards)
        shards = samples if self.sharded else Shards([samples], name=name)
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
        self.files = [file_rows(array, self.name) for array in self.arrays]

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
        converted first, as the engine converts an array in memory. The rows of a memory map
        are read from its file (``FileRows``).
        """
        file = self.files[span.block]
        if file is None:
            rows = self.arrays[span.block][span.offset : span.offset + span.rows]
            write_rows(rows if self.columns is None else rows[:, self.columns], out, transform)
            return
        with file.opened() as descriptor:
            file.read(descriptor, span.offset, span.rows, out, self.columns, transform)

    def position(self, span, row, column, first_row=0, by_file=False):
        """Return ``(name, row, column)``: how messages point at a cell of the chunk ``span``, counted from 0 as numpy
        counts. With ``by_file``, and rows read from a file: the file's name, and the row and column there; else
        the data set's name, its row counted from ``first_row``, and the column among those used."""
        file = self.files[span.block]
        if by_file and file is not None:
            return (
                file.name,
                file.first_row + span.offset + row,
                column if self.columns is None else self.columns[column],
            )
        return self.name, first_row + span.start + row, column

    def changed(self, span, chunk):
        """Return the ValueError of rows found not finite after the door found them finite: the file changed while
        it was read. ``chunk``: the rows of ``span`` as read (the first NaN or infinity there is named)."""
        bad = np.argwhere(~np.isfinite(chunk))
        if len(bad):
            name, row, column = self.position(span, *bad[0], by_file=True)
            why = f"it now holds {chunk[tuple(bad[0])]} at row {row}, column {column}"
        else:
            name, why = self.position(span, 0, 0, by_file=True)[0], "its rows no longer add up to finite sums"
        if self.files[span.block] is None:
            return ValueError(f"{name} changed while it was read ({why})")
        return ValueError(changed_message(name, why))

    def changed_rows(self, indices, rows):
        """``changed`` for ``rows``, read by ``take(indices)``."""
        index = int(indices[np.flatnonzero(~np.isfinite(rows).all(axis=1))[0]])
        block = int(np.searchsorted(self.starts, index, side="right") - 1)
        here = np.flatnonzero(indices == index)[0]
        return self.changed(Span(index, 1, block, index - int(self.starts[block])), rows[here : here + 1])

    def blocks(self, rows):
        """Yield the data set in blocks of at most ``rows`` rows, in the engine's dtype, each valid until the next.

        A block of a memory map is read from its file into a buffer; of an array in memory, it
        is a view where it can be.
        """
        buffer = None
        for span in self.spans(rows):
            if self.files[span.block] is None:
                block = self.arrays[span.block][span.offset : span.offset + span.rows]
                yield np.asarray(block if self.columns is None else block[:, self.columns], self.dtype)
                continue
            if buffer is None:
                buffer = aligned_empty(min(rows, self.n_rows), self.n_features, self.dtype)
            block = buffer[: span.rows]
            self.read(span, block)
            yield block

    def take(self, indices):
        """Return the rows at ``indices`` (ints, any order), shape (len(indices), n_features), in the engine's dtype."""
        indices = np.asarray(indices, np.int64)
        out = np.empty((len(indices), self.n_features), self.dtype)
        blocks = np.searchsorted(self.starts, indices, side="right") - 1
        for block in np.unique(blocks):
            here = np.flatnonzero(blocks == block)
            local = indices[here] - self.starts[block]
            order = np.argsort(local)  # rows read in file order
            if self.files[block] is not None:
                self._take_from(self.files[block], local[order], here[order], out)
                continue
            rows = self.arrays[block][local[order]]
            out[here[order]] = rows if self.columns is None else rows[:, self.columns]
        return out

    def _take_from(self, file, rows, targets, out):
        """Read the file's ``rows`` (in increasing order) into ``out[targets]``: rows less than ``TAKE_GAP_BYTES``
        apart in one read, with the rows between them, of at most ``STAGING_BYTES``."""
        piece = max(1, STAGING_BYTES // file.row_stride)
        values = np.empty((min(rows[-1] - rows[0] + 1, piece), self.n_features), self.dtype)
        ends = [*(np.flatnonzero(np.diff(rows) * file.row_stride > TAKE_GAP_BYTES) + 1), len(rows)]
        with file.opened() as descriptor:
            start = 0
            for end in ends:
                while start < end:
                    stop = start + int(np.searchsorted(rows[start:end], rows[start] + piece))
                    first, count = int(rows[start]), int(rows[stop - 1] - rows[start] + 1)
                    file.read(descriptor, first, count, values[:count], self.columns)
                    out[targets[start:stop]] = values[rows[start:stop] - first]
                    start = stop


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
    space is freed when the last map of it goes. Its space is reserved (``os.posix_fallocate``)
    before it is mapped: a disk too full for it is an OSError saying so, where a write through
    the map would kill the process (SIGBUS).
    """
    if in_memory:
        return np.full(n_rows, -1, np.int64)
    size = n_rows * np.dtype(np.int32).itemsize
    with tempfile.TemporaryFile(prefix="kmeans-tf-labels-", dir=scratch_dir) as scratch:
        try:
            reserve(scratch, size)
        except OSError as error:
            folder = scratch_dir or tempfile.gettempdir()
            why = "no space left on device" if error.errno in (errno.ENOSPC, errno.EDQUOT) else error.strerror
            raised = OSError(
                f"{why}: the labels' scratch file ({describe_size(size)}) in {folder} cannot be written; "
                f"free some space there, or give a memory budget that holds the labels"
            )
            raised.errno = error.errno
            raise raised from None
        labels = np.memmap(scratch, dtype=np.int32, mode="r+", shape=(n_rows,))
    for start in range(0, n_rows, prepare.CHUNK_ROWS):
        labels[start : start + prepare.CHUNK_ROWS] = -1
    return labels


def reserve(scratch, size):
    """Give the open file ``scratch`` ``size`` bytes of disk: reserved where the system can (``posix_fallocate``),
    else written as zeros, so that a full disk is an OSError here, never a fault where the map is written."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(scratch.fileno(), 0, size)
        return
    block = bytes(min(size, 2**20))
    for start in range(0, size, len(block) or 1):
        scratch.write(block[: size - start])
    scratch.flush()

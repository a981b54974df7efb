"""Outputs written a chunk at a time: labels of any length, and ``.npy`` files whose rows are counted at the end.

The output rules are ``write_output``'s: a regular file is written to a temporary file
beside it, renamed over it at the end, and removed if anything (an error, Ctrl-C) stops the
writing first; a device, FIFO or file descriptor is written into directly.
"""

import contextlib
import os
import struct
import sys
from pathlib import Path

import numpy as np

from kmeans_tf.data_io.tables import NPY_SUFFIX
from kmeans_tf.data_io.writing import _checked_output, _write_error, format_labels, replacing

# Labels formatted or converted per chunk of this many.
LABEL_CHUNK = 1 << 20
# The .npy header of a file whose rows are counted at the end is padded to this length, which
# holds any shape of two 64-bit dimensions (a multiple of 64, as the format asks).
NPY_HEADER_BYTES = 128
NPY_MAGIC = b"\x93NUMPY\x01\x00"


@contextlib.contextmanager
def open_output(path, *, overwrite=False, seekable=False):
    """Yield a binary file to write ``path`` through, by the output rules above.

    With ``seekable``, a special output (which cannot seek) is refused with ``OSError``.
    """
    output = _checked_output(path, overwrite)
    if output.target is None:
        if seekable:
            raise OSError(f"cannot write {path}: it is not a regular file, and this output is written out of order")
        for stream in (sys.stdout, sys.stderr):  # what Python buffered goes first
            stream.flush()
        try:
            # No O_CREAT: if the special file went away, nothing is created in its place.
            fd = output.fd if output.fd is not None else os.open(output.special, os.O_WRONLY | os.O_NOCTTY)
            with open(fd, "wb", closefd=output.fd is None) as file:
                yield file
        except OSError as error:
            raise _write_error(path, error) from None
        return
    with replacing(path, output.target) as file:
        yield file


def write_labels_chunked(path, labels, *, overwrite=False):
    """Write labels a chunk at a time: an int32 ``.npy`` array when ``path`` ends in .npy, else one per line."""
    with open_output(path, overwrite=overwrite) as file:
        write_labels_to(file, labels, npy=Path(path).suffix.lower() == NPY_SUFFIX)


def write_labels_to(file, labels, *, npy):
    """Write labels into an open binary file: as an int32 ``.npy`` array, or one per line."""
    if npy:
        np.lib.format.write_array_header_1_0(
            file,
            {
                "descr": np.lib.format.dtype_to_descr(np.dtype(np.int32)),
                "fortran_order": False,
                "shape": (len(labels),),
            },
        )
    for start in range(0, len(labels), LABEL_CHUNK):
        chunk = np.asarray(labels[start : start + LABEL_CHUNK])
        file.write(chunk.astype("<i4").tobytes() if npy else format_labels(chunk).encode())


def npy_header(dtype, shape):
    """Return a version 1.0 ``.npy`` header of exactly NPY_HEADER_BYTES bytes, for a C-order array."""
    text = (
        f"{{'descr': {np.lib.format.dtype_to_descr(np.dtype(dtype))!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    )
    length = NPY_HEADER_BYTES - len(NPY_MAGIC) - 2
    return NPY_MAGIC + struct.pack("<H", length) + text.ljust(length - 1).encode("latin1") + b"\n"


class RowsWriter:
    """Append rows of one width and dtype to a seekable binary file as a ``.npy`` array; ``finish`` writes the shape."""

    def __init__(self, file, width, dtype=np.float64):
        self.file, self.width, self.dtype, self.rows = file, width, np.dtype(dtype), 0
        file.write(npy_header(self.dtype, (0, width)))

    def append(self, rows):
        self.file.write(np.ascontiguousarray(rows, self.dtype.newbyteorder("<")).tobytes())
        self.rows += len(rows)

    def finish(self):
        self.file.seek(0)
        self.file.write(npy_header(self.dtype, (self.rows, self.width)))

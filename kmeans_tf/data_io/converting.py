"""Convert delimited text of any size into a ``.npy`` file, a chunk of rows at a time.

Each row is checked as ``read_table`` checks it, by the same functions, so a bad cell or a
ragged row gets the same message; only a chunk of rows is held at once. The ``.npy`` file
is written by the output rules (a temporary file beside it, renamed at the end; nothing is
left if the conversion stops), and must be a regular file: its shape is written last.
"""

import itertools

import numpy as np

from kmeans_tf.data_io.chunked import RowsWriter, open_output
from kmeans_tf.data_io.reading import check_width, data_suffix, open_text, parse_cells, text_header, text_rows
from kmeans_tf.data_io.tables import DELIMITERS, STDIN
from kmeans_tf.stream.budget import MAX_CHUNK_BYTES

# The rows parsed before they are written out take at most this many bytes (at least one row),
# as the chunks of a streamed fit do.
CHUNK_BYTES = MAX_CHUNK_BYTES


def convert_text(path, out, *, columns=None, header=None, stream=None, overwrite=False, progress=None):
    """Write the numbers of a ``.csv`` or ``.tsv`` file (or CSV on ``stream`` for ``-``) as a float64 ``.npy`` file.

    Parameters
    ----------
    path : str or Path, the text file, or ``"-"`` for CSV read from ``stream``
    out : str or Path, the ``.npy`` file to write
    columns, header, stream : as in ``read_table``
    overwrite : bool, default=False, whether an existing ``out`` may be replaced
    progress : callable or None, called as ``progress(rows written, bytes read or None)`` after each chunk

    Returns
    -------
    n_rows, n_columns : int
    names : tuple of str (the columns kept), or None when the text has no header row
    """
    if header not in (None, True, False):
        raise ValueError(f"header={header!r} should be None (detect), True or False")
    if str(path) == STDIN:
        return _convert(stream, "stdin", ",", out, columns, header, overwrite, progress)
    suffix = data_suffix(path)
    if suffix not in DELIMITERS:
        raise ValueError(f"cannot convert {path}: it is not delimited text; give a {' or '.join(DELIMITERS)} file")
    with open_text(path) as handle:
        return _convert(handle, str(path), DELIMITERS[suffix], out, columns, header, overwrite, progress)


def _convert(handle, source, delimiter, out, columns, header, overwrite, progress):
    rows = text_rows(handle, source, delimiter)
    first_row = next(rows, None)
    if first_row is None:
        raise ValueError(f"{source} is empty: no rows")
    names, indices = text_header(first_row, columns, header, source)
    chunk, filled = np.empty((chunk_rows(len(indices)), len(indices))), 0
    with open_output(out, overwrite=overwrite, seekable=True) as file:
        writer = RowsWriter(file, len(indices))
        for line, cells in itertools.chain([] if names is not None else [first_row], rows):
            check_width(line, cells, first_row, source)
            parse_cells(line, cells, indices, names, source, chunk[filled])
            filled += 1
            if filled == len(chunk):
                writer.append(chunk)
                filled = 0
                if progress is not None:
                    progress(writer.rows, _bytes_read(handle))
        writer.append(chunk[:filled])
        if writer.rows == 0:
            raise ValueError(f"{source} has a header (row {first_row[0]}) but no rows of data")
        writer.finish()
    return writer.rows, len(indices), None if names is None else tuple(names[index] for index in indices)


def chunk_rows(width):
    """Return how many float64 rows of ``width`` columns a chunk of CHUNK_BYTES holds (at least one)."""
    return max(1, CHUNK_BYTES // (width * np.dtype(np.float64).itemsize))


def _bytes_read(handle):
    """Return how far the bytes under a text file have been read, or None when that cannot be told (a pipe)."""
    try:
        return handle.buffer.tell()
    except (AttributeError, OSError, ValueError):
        return None

"""Read a data file (``.csv``, ``.tsv``, ``.npy``, or ``-`` for CSV on stdin) into a checked ``Table``, and weights.

Sample weights come from a column of the data file (``read_table(..., weights=COLUMN)``) or
from a file of their own (``read_weights``): each finite and >= 0, and not all 0; a bad
one is named by file, row and column.
"""

import contextlib
import csv
import io
import math
import os
import stat
import tokenize
from pathlib import Path

import numpy as np

from kmeans_tf.data_io.tables import COMMENT, DATA_SUFFIXES, DELIMITERS, NPY_SUFFIX, STDIN, Table, resolve_columns

_NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_PICKLE_START = b"\x80"  # a pickle of protocol 2 or later
_ZIP_START = b"PK\x03\x04"  # an .npz archive


def read_table(path, *, columns=None, stream=None, header=None, weights=None):
    """Read the numbers of a data file, checked.

    Parameters
    ----------
    path : str or Path, a ``.csv``, ``.tsv`` or ``.npy`` file, or ``"-"`` for CSV read from ``stream``
    columns : tuple of str and int, or None, default=None
        The columns to keep, by header name or 0-based index (see ``parse_columns``); None keeps all.
        Each column may be chosen once.
    stream : text file, default=None, read when ``path`` is ``"-"``
    header : bool or None, default=None
        Whether a text file's first row holds the columns' names. None decides from the row: it is
        a header when one of its cells (any column, chosen or not) is text. A ``.npy`` file has none.
    weights : str or int, or None, default=None
        A column of the rows' weights, picked as ``columns`` picks one, read into ``Table.weights``
        (finite, >= 0, not all 0) and left out of the values: of every column when ``columns``
        is None; ``columns`` may not name it.

    Returns
    -------
    Table
    """
    if header not in (None, True, False):
        raise ValueError(f"header={header!r} should be None (detect), True or False")
    if str(path) == STDIN:
        return _read_text(stream, "stdin", ",", columns, header, weights)[0]
    path = Path(path)
    suffix = _suffix(path, "", " (or - for CSV on stdin)")
    if suffix == NPY_SUFFIX:
        if header:
            raise ValueError(f"{path} is a .npy file, which has no header row to read names from")
        return _read_npy(path, columns, weights)
    return _read_text_file(path, columns, header, weights)[0]


def read_weights(path):
    """Read a file of sample weights, one per row: a float64 array, each finite and >= 0, not all 0.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` or ``.tsv`` file of one column (a header row is optional and detected), or a
        ``.npy`` file of shape (n_rows,) or (n_rows, 1).
    """
    path = Path(path)
    if _suffix(path, "weights from ") == NPY_SUFFIX:
        array = _read_npy_array(path, dims=(1, 2))
        table, lines = Table(array.reshape(len(array), -1).astype(np.float64), None, str(path)), None
        _check_finite(table.values, path)
    else:
        table, lines = _read_text_file(path, None, None, None)
    if table.values.shape[1] != 1:
        raise ValueError(f"{path} has {table.values.shape[1]} columns; a weights file has one (one weight per row)")
    return _checked_weights(table.values[:, 0], table.source, lines, 0, table.names)


def _suffix(path, what, also=""):
    """Return ``path``'s suffix (lower case), one of DATA_SUFFIXES; else ValueError: ``cannot read {what}{path}``."""
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise ValueError(
            f"cannot read {what}{path}: unknown file type {suffix or '(no extension)'!r}; "
            f"use {', '.join(DATA_SUFFIXES)}{also}"
        )
    return suffix


def data_suffix(path):
    """Return the file type of ``path`` (``.csv``, ``.tsv``, ``.npy``); ValueError for any other."""
    return _suffix(Path(path), "", " (or - for CSV on stdin)")


def _read_text_file(path, columns, header, weights):
    """``_read_text`` on a .csv or .tsv file: the Table and the rows' line numbers."""
    with open_text(path) as handle:
        return _read_text(handle, str(path), DELIMITERS[Path(path).suffix.lower()], columns, header, weights)


@contextlib.contextmanager
def open_text(path):
    """Open a .csv or .tsv file for reading (ValueError when it cannot be opened); ``text_rows`` reads it."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    with handle:
        yield handle


def _feature_columns(columns, weight_index, names, width, source, no_header_why=""):
    """The indices of the feature columns: ``columns`` (all when None), less the weights column ``weight_index``."""
    if columns is None:
        indices = [index for index in range(width) if index != weight_index]
    else:
        indices = resolve_columns(columns, names, width, source, no_header_why)
    called = f"{names[weight_index]!r}" if names is not None and weight_index is not None else weight_index
    if weight_index is not None and weight_index in indices:
        raise ValueError(f"{source}: --weights column {called} is also in --columns; a column is features or weights")
    if not indices:
        raise ValueError(f"{source} has no column for the features besides the weights column {called}")
    return indices


def _checked_weights(weights, source, lines, index, names):
    """Return the column of weights (float64) when each is >= 0 and one > 0; else name the file, row and value."""
    where = f"column {index + 1}" + (f" ({names[index]!r})" if names is not None else "")
    negative = np.flatnonzero(weights < 0)
    if len(negative):
        row = int(negative[0])
        line = lines[row] if lines is not None else row + 1
        raise ValueError(f"{source}: row {line}, {where}: weight {float(weights[row])} should be >= 0")
    if not weights.any():
        raise ValueError(f"{source}: every weight is 0 in {where}; at least one should be > 0")
    return np.asarray(weights, np.float64)


def _looks_numeric(cell):
    """Tell whether Python's float() reads ``cell`` (what header detection counts as a number)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse_number(cell):
    """Return ``cell`` as a finite float, or the reason (str) it is not one."""
    try:
        value = float(cell)
    except ValueError:
        return "is not a number"
    # float() also reads 1_000 and digits of other scripts (١٢); a data file means neither.
    if "_" in cell or not cell.isascii():
        return "is not a number"
    if math.isfinite(value):
        return value
    if math.isnan(value) or cell.lstrip("+-").lower() in ("inf", "infinity"):
        return "is not finite (NaN and infinity are not allowed)"
    return "is too large for a 64-bit float"


def _read_text(handle, source, delimiter, columns, header, weights):
    """Parse delimited text into a Table, as ``read_table`` says; return it and the data rows' line numbers."""
    rows = list(text_rows(handle, source, delimiter))
    if not rows:
        raise ValueError(f"{source} is empty: no rows")
    first_line, first = rows[0]
    for line, cells in rows[1:]:
        check_width(line, cells, rows[0], source)
    names, no_header_why = _header_names(rows[0], header)
    weight_index = None
    if weights is not None:
        weight_index = resolve_columns((weights,), names, len(first), source, no_header_why)[0]
    indices = _feature_columns(columns, weight_index, names, len(first), source, no_header_why)
    picked = indices + ([] if weight_index is None else [weight_index])
    data_rows = rows[1:] if names is not None else rows
    if not data_rows:
        raise ValueError(f"{source} has a header (row {first_line}) but no rows of data")
    values = np.empty((len(data_rows), len(picked)))
    for row, (line, cells) in enumerate(data_rows):
        parse_cells(line, cells, picked, names, source, values[row])
    lines = [line for line, _ in data_rows]
    row_weights = None
    if weight_index is not None:
        row_weights = _checked_weights(values[:, -1], source, lines, weight_index, names)
        values = np.ascontiguousarray(values[:, :-1])
    return Table(values, None if names is None else tuple(names[i] for i in indices), source, row_weights), lines


def text_rows(handle, source, delimiter):
    """Yield ``(line number in the file, stripped cells)`` for each row of delimited text, blank lines skipped, and
    the lines of comment before the first row (``leading_comments``).

    A failure to read or decode ``handle`` raises ValueError naming ``source`` (whatever the
    caller does meanwhile, such as writing an output, is not blamed for it).
    """
    reader = csv.reader(handle, delimiter=delimiter)
    first = True
    try:
        for cells in reader:
            cells = [cell.strip() for cell in cells]
            if first and cells:
                cells[0] = cells[0].lstrip("\ufeff").strip()  # a byte order mark the decoder kept (stdin)
                if cells[0].startswith(COMMENT.strip()):
                    continue
            if any(cells):
                first = False
                yield reader.line_num, cells
    except csv.Error as error:
        raise ValueError(f"{source}: row {reader.line_num}: {error}") from None
    except UnicodeDecodeError:
        raise ValueError(f"cannot read {source}: it is not UTF-8 text") from None
    except OSError as error:
        raise ValueError(f"cannot read {source}: {error.strerror or error}") from None


def leading_comments(path):
    """Return the text of the lines of comment (``# text``) that begin a .csv or .tsv file; none for a .npy file."""
    if Path(path).suffix.lower() not in DELIMITERS:
        return []
    comments = []
    with open_text(path) as handle:
        for line in handle:
            if not line.lstrip("\ufeff").startswith(COMMENT.strip()):
                break
            comments.append(line.lstrip("\ufeff")[1:].strip())
    return comments


def check_width(line, cells, first_row, source):
    """Refuse a row whose width differs from the first row's (``first_row`` is ``(line, cells)``)."""
    if len(cells) != len(first_row[1]):
        raise ValueError(
            f"{source}: row {line} has {len(cells)} columns, but row {first_row[0]} has {len(first_row[1])}"
        )


def text_header(first_row, columns, header, source):
    """Return the header's names (None without a header) and the indices of ``columns``, from the first row.

    ``first_row`` is ``(line, cells)``; ``columns`` and ``header`` are as in ``read_table``.
    """
    names, no_header_why = _header_names(first_row, header)
    return names, resolve_columns(columns, names, len(first_row[1]), source, no_header_why)


def _header_names(first_row, header):
    """The header's names (None without one), and what to say when a name is asked of a file without one."""
    first_line, first = first_row
    if header is None:
        header = any(cell and not _looks_numeric(cell) for cell in first)
        no_header_why = f" (row {first_line} has no text; --header reads it as names)"
    else:
        no_header_why = ""
    return (tuple(first) if header else None), no_header_why


def parse_cells(line, cells, indices, names, source, out):
    """Write the numbers of the cells at ``indices`` into ``out``; ValueError naming the first bad cell."""
    for column, index in enumerate(indices):
        value = _parse_number(cells[index])
        if isinstance(value, str):
            where = f"{source}: row {line}, column {index + 1}"
            if names is not None:
                where += f" ({names[index]!r})"
            raise ValueError(f"{where}: {cells[index]!r} {value}")
        out[column] = value


def _read_npy(path, columns, weights):
    """Read a 2-D numeric .npy array into a Table; ``columns`` and ``weights`` must be indices."""
    array = _read_npy_array(path)
    weight_index = None if weights is None else resolve_columns((weights,), None, array.shape[1], path)[0]
    indices = _feature_columns(columns, weight_index, None, array.shape[1], path)
    picked = array if indices == list(range(array.shape[1])) else array[:, indices]  # no copy for every column
    values = picked.astype(np.float32 if array.dtype in (np.float16, np.float32) else np.float64)
    _check_finite(values, path, indices)
    row_weights = None
    if weight_index is not None:
        row_weights = array[:, weight_index].astype(np.float64)
        _check_finite(row_weights[:, None], path, [weight_index])
        row_weights = _checked_weights(row_weights, str(path), None, weight_index, None)
    return Table(values, None, str(path), row_weights)


def _read_npy_array(path, dims=(2,)):
    """Read a non-empty numeric .npy array of ``dims`` dimensions, checked."""
    try:
        with open(path, "rb") as handle:
            dtype, shape, fortran_order = _read_npy_header(handle, path, dims)
            if len(shape) == 1:  # a column
                return _read_npy_data(handle, path, dtype, (shape[0], 1), False)
            return _read_npy_data(handle, path, dtype, shape, fortran_order)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None


def _check_finite(values, path, indices=None):
    """Refuse NaN and infinity in ``values`` (the file's columns ``indices``, all when None), naming row and column."""
    finite = np.isfinite(values)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        index = column if indices is None else indices[column]
        raise ValueError(
            f"{path}: row {row + 1}, column {index + 1}: {values[row, column]} "
            f"is not finite (NaN and infinity are not allowed)"
        )


def _read_npy_header(handle, path, dims=(2,)):
    """Read and check a .npy header: ``(dtype, shape, fortran_order)`` of a non-empty numeric array of ``dims`` dims."""
    start = handle.read(np.lib.format.MAGIC_LEN)  # read, not peeked: the file may be a FIFO
    if start.startswith(_ZIP_START):
        raise ValueError(f"cannot read {path}: it holds several arrays (.npz); give one .npy array")
    if start.startswith(_PICKLE_START):
        raise ValueError(
            f"cannot read {path}: it is a Python pickle, not a .npy array; "
            f"pickles are refused because loading them could run code"
        )
    try:
        version = np.lib.format.read_magic(io.BytesIO(start))
    except (ValueError, EOFError):
        raise ValueError(f"cannot read {path}: it is not a NumPy .npy file") from None
    if version not in _NPY_HEADER_READERS:
        raise ValueError(
            f"cannot read {path}: it is not a NumPy .npy file of format 1.0 or 2.0 (it says {version[0]}.{version[1]})"
        )
    try:
        shape, fortran_order, dtype = _NPY_HEADER_READERS[version](handle)
    except (ValueError, EOFError, SyntaxError, RecursionError, tokenize.TokenError):  # what numpy's parser raises
        raise ValueError(f"cannot read {path}: it is not a NumPy .npy file (its header cannot be read)") from None
    if dtype.hasobject:
        raise ValueError(
            f"cannot read {path}: it holds Python objects (dtype {dtype}); object arrays are "
            f"refused because loading them could run code"
        )
    if dtype.kind not in "iuf":
        raise ValueError(f"{path} holds {dtype} values; it should hold numbers")
    if len(shape) not in dims:
        wanted = "2-D (rows, columns)" if dims == (2,) else "1-D (rows,) or 2-D (rows, columns)"
        raise ValueError(f"{path} holds an array of shape {shape}; it should be {wanted}")
    if any(dim < 0 for dim in shape):
        raise ValueError(f"{path} holds an array of shape {shape}; a dimension cannot be negative")
    if 0 in shape:
        raise ValueError(f"{path} is empty: its array has shape {shape}")
    return dtype, shape, fortran_order


def _read_npy_data(handle, path, dtype, shape, fortran_order):
    """Read the array that a checked header describes, after checking the file's size and the free memory."""
    rows, width = shape
    needed = rows * width * dtype.itemsize
    claim = f"{rows} rows x {width} columns ({needed} bytes)"
    regular = check_npy_size(handle, path, dtype, shape)
    available = _available_memory()
    # The array read, and the float copy that read_table returns.
    if available is not None and needed + rows * width * 8 > available:
        raise ValueError(f"{path} claims {claim}, more than this machine's free memory ({available} bytes) holds")
    try:
        if regular:
            flat = np.fromfile(handle, dtype=dtype, count=rows * width)
        else:
            data = handle.read(needed + 1)
            if len(data) != needed:
                raise ValueError(f"{path} holds {len(data)} bytes of data, but its header says {claim}")
            flat = np.frombuffer(data, dtype=dtype)
    except MemoryError:
        raise ValueError(f"{path} claims {claim}, more than this machine's free memory holds") from None
    if len(flat) != rows * width:  # the file shrank while being read
        raise ValueError(f"{path} is truncated: its header says {claim}, but only {len(flat)} values were read")
    if fortran_order:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


def check_npy_size(handle, path, dtype, shape):
    """Check that a regular file holds exactly the bytes its header claims; return whether it is regular."""
    rows, width = shape[0], (shape[1] if len(shape) > 1 else 1)
    needed = rows * width * dtype.itemsize
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        return False
    held = os.fstat(handle.fileno()).st_size - handle.tell()
    claim = f"{rows} rows x {width} columns ({needed} bytes)"
    if held < needed:
        raise ValueError(
            f"{path} is truncated: its header says {claim}, but the file holds "
            f"{held} bytes ({held // (width * dtype.itemsize)} rows)"
        )
    if held > needed:
        raise ValueError(
            f"{path} has {held - needed} bytes after the array its header describes "
            f"({claim}); it is not a plain .npy file"
        )
    return True


def _available_memory():
    """Return the bytes of memory this process may still allocate, or None when unknown."""
    limits = []
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError):
        pass
    try:  # a cgroup (v2) limit, as in a container
        with open("/sys/fs/cgroup/memory.max") as limit, open("/sys/fs/cgroup/memory.current") as used:
            limits.append(int(limit.read()) - int(used.read()))
    except (OSError, ValueError):
        pass  # no cgroup v2, or "max" (no limit)
    return min(limits) if limits else None

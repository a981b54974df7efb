"""Read a data file (``.csv``, ``.tsv``, ``.npy``, or ``-`` for CSV on stdin) into a checked ``Table``."""
import contextlib
import csv
import io
import math
import os
import stat
import tokenize
from pathlib import Path

import numpy as np

from compat.data_io.tables import DATA_SUFFIXES, DELIMITERS, NPY_SUFFIX, STDIN, Table, resolve_columns

_NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_PICKLE_START = b"\x80"  # a pickle of protocol 2 or later
_ZIP_START = b"PK\x03\x04"  # an .npz archive


def read_table(path, *, columns=None, stream=None, header=None):
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

    Returns
    -------
    Table
    """
    if header not in (None, True, False):
        raise ValueError(f"header={header!r} should be None (detect), True or False")
    if str(path) == STDIN:
        return _read_text(stream, "stdin", ",", columns, header)
    path = Path(path)
    suffix = data_suffix(path)
    if suffix == NPY_SUFFIX:
        if header:
            raise ValueError(f"{path} is a .npy file, which has no header row to read names from")
        return _read_npy(path, columns)
    with open_text(path) as handle:
        return _read_text(handle, str(path), DELIMITERS[suffix], columns, header)


@contextlib.contextmanager
def open_text(path):
    """Open a .csv or .tsv file for reading; turn a decoding or reading failure inside the block into ValueError."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            yield handle
    except UnicodeDecodeError:
        raise ValueError(f"cannot read {path}: it is not UTF-8 text") from None
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None


def data_suffix(path):
    """Return the file type of ``path`` (``.csv``, ``.tsv``, ``.npy``); ValueError for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise ValueError(f"cannot read {path}: unknown file type {suffix or '(no extension)'!r}; "
                         f"use {', '.join(DATA_SUFFIXES)} (or - for CSV on stdin)")
    return suffix


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


def _read_text(handle, source, delimiter, columns, header):
    """Parse delimited text into a Table; ``columns`` and ``header`` as in ``read_table``."""
    rows = list(text_rows(handle, source, delimiter))
    if not rows:
        raise ValueError(f"{source} is empty: no rows")
    first_line, first = rows[0]
    for line, cells in rows[1:]:
        check_width(line, cells, rows[0], source)
    names, indices = text_header(rows[0], columns, header, source)
    data_rows = rows[1:] if names is not None else rows
    if not data_rows:
        raise ValueError(f"{source} has a header (row {first_line}) but no rows of data")
    values = np.empty((len(data_rows), len(indices)))
    for row, (line, cells) in enumerate(data_rows):
        parse_cells(line, cells, indices, names, source, values[row])
    return Table(values, None if names is None else tuple(names[i] for i in indices), source)


def text_rows(handle, source, delimiter):
    """Yield ``(line number in the file, stripped cells)`` for each row of delimited text, blank lines skipped."""
    reader = csv.reader(handle, delimiter=delimiter)
    first = True
    try:
        for cells in reader:
            cells = [cell.strip() for cell in cells]
            if first and cells:
                cells[0] = cells[0].lstrip("\ufeff").strip()  # a byte order mark the decoder kept (stdin)
            if any(cells):
                first = False
                yield reader.line_num, cells
    except csv.Error as error:
        raise ValueError(f"{source}: row {reader.line_num}: {error}") from None


def check_width(line, cells, first_row, source):
    """Refuse a row whose width differs from the first row's (``first_row`` is ``(line, cells)``)."""
    if len(cells) != len(first_row[1]):
        raise ValueError(f"{source}: row {line} has {len(cells)} columns, "
                         f"but row {first_row[0]} has {len(first_row[1])}")


def text_header(first_row, columns, header, source):
    """Return the header's names (None without a header) and the indices of ``columns``, from the first row.

    ``first_row`` is ``(line, cells)``; ``columns`` and ``header`` are as in ``read_table``.
    """
    first_line, first = first_row
    if header is None:
        header = any(cell and not _looks_numeric(cell) for cell in first)
        no_header_why = f" (row {first_line} has no text; --header reads it as names)"
    else:
        no_header_why = ""
    names = tuple(first) if header else None
    return names, resolve_columns(columns, names, len(first), source, no_header_why)


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


def _read_npy(path, columns):
    """Read a 2-D numeric .npy array into a Table; ``columns`` must be indices."""
    try:
        with open(path, "rb") as handle:
            dtype, shape, fortran_order = _read_npy_header(handle, path)
            array = _read_npy_data(handle, path, dtype, shape, fortran_order)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    if columns is not None:
        array = array[:, resolve_columns(columns, None, array.shape[1], path)]
    values = array.astype(np.float32 if array.dtype in (np.float16, np.float32) else np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        raise ValueError(f"{path}: row {row + 1}, column {column + 1}: {array[row, column]} "
                         f"is not finite (NaN and infinity are not allowed)")
    return Table(values, None, str(path))


def _read_npy_header(handle, path):
    """Read and check a .npy header: return ``(dtype, shape, fortran_order)`` of a 2-D, non-empty numeric array."""
    start = handle.read(np.lib.format.MAGIC_LEN)  # read, not peeked: the file may be a FIFO
    if start.startswith(_ZIP_START):
        raise ValueError(f"cannot read {path}: it holds several arrays (.npz); give one .npy array")
    if start.startswith(_PICKLE_START):
        raise ValueError(f"cannot read {path}: it is a Python pickle, not a .npy array; "
                         f"pickles are refused because loading them could run code")
    try:
        version = np.lib.format.read_magic(io.BytesIO(start))
    except (ValueError, EOFError):
        raise ValueError(f"cannot read {path}: it is not a NumPy .npy file") from None
    if version not in _NPY_HEADER_READERS:
        raise ValueError(f"cannot read {path}: it is not a NumPy .npy file of format 1.0 or 2.0 "
                         f"(it says {version[0]}.{version[1]})")
    try:
        shape, fortran_order, dtype = _NPY_HEADER_READERS[version](handle)
    except (ValueError, EOFError, SyntaxError, RecursionError, tokenize.TokenError):  # what numpy's parser raises
        raise ValueError(f"cannot read {path}: it is not a NumPy .npy file (its header cannot be read)") from None
    if dtype.hasobject:
        raise ValueError(f"cannot read {path}: it holds Python objects (dtype {dtype}); object arrays are "
                         f"refused because loading them could run code")
    if dtype.kind not in "iuf":
        raise ValueError(f"{path} holds {dtype} values; it should hold numbers")
    if len(shape) != 2:
        raise ValueError(f"{path} holds an array of shape {shape}; it should be 2-D (rows, columns)")
    if shape[0] == 0 or shape[1] == 0:
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
        raise ValueError(f"{path} claims {claim}, more than this machine's free memory "
                         f"({available} bytes) holds")
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
    """Check that a regular file holds, after its header, exactly the bytes the header claims; return whether it is regular."""
    rows, width = shape
    needed = rows * width * dtype.itemsize
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        return False
    held = os.fstat(handle.fileno()).st_size - handle.tell()
    claim = f"{rows} rows x {width} columns ({needed} bytes)"
    if held < needed:
        raise ValueError(f"{path} is truncated: its header says {claim}, but the file holds "
                         f"{held} bytes ({held // (width * dtype.itemsize)} rows)")
    if held > needed:
        raise ValueError(f"{path} has {held - needed} bytes after the array its header describes "
                         f"({claim}); it is not a plain .npy file")
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

"""Read the command line's data files, checked, and write its outputs atomically.

A data file is ``.csv``, ``.tsv`` or ``.npy``; ``-`` means CSV on a text stream (stdin).
A text file's first row is a header when one of its cells (among the columns used) is not
a number. Every problem raises ``ValueError`` whose message names the file and, for a bad
cell, its row as numbered in the file (the header line counted) and its column (1-based).

Outputs go to a temporary file in the target's folder, then ``os.replace``: a failure
leaves no half-written file, and an existing file is replaced only when asked.
"""
import csv
import dataclasses
import io
import math
import os
import tempfile
from pathlib import Path

import numpy as np

STDIN = "-"
DELIMITERS = {".csv": ",", ".tsv": "\t"}
NPY_SUFFIX = ".npy"
DATA_SUFFIXES = (*DELIMITERS, NPY_SUFFIX)


@dataclasses.dataclass(frozen=True)
class Table:
    """Numbers read from a data file.

    Attributes
    ----------
    values : array of shape (n_rows, n_columns), float64 (float32 when a .npy file holds float32)
    names : tuple of str, or None when the file has no header row
    source : str, the file's name as given (``"stdin"`` for ``-``)
    """

    values: np.ndarray
    names: tuple | None
    source: str


def parse_columns(text):
    """Turn ``--columns`` text (``"x,y"`` or ``"0,2"``) into a tuple of names (str) and 0-based indices (int)."""
    picked = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"{text!r} has an empty column; give names or 0-based indices separated by commas")
        if item.lstrip("+-").isdigit():
            index = int(item)
            if index < 0:
                raise ValueError(f"column index {index} should be >= 0 (indices are 0-based)")
            picked.append(index)
        else:
            picked.append(item)
    return tuple(picked)


def read_table(path, *, columns=None, stream=None):
    """Read the numbers of a data file, checked.

    Parameters
    ----------
    path : str or Path, a ``.csv``, ``.tsv`` or ``.npy`` file, or ``"-"`` for CSV read from ``stream``
    columns : tuple of str and int, or None, default=None
        The columns to keep, by header name or 0-based index (see ``parse_columns``); None keeps all.
    stream : text file, default=None, read when ``path`` is ``"-"``

    Returns
    -------
    Table
    """
    if str(path) == STDIN:
        return _read_text(stream, "stdin", ",", columns)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise ValueError(f"cannot read {path}: unknown file type {suffix or '(no extension)'!r}; "
                         f"use {', '.join(DATA_SUFFIXES)} (or - for CSV on stdin)")
    if suffix == NPY_SUFFIX:
        return _read_npy(path, columns)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _read_text(handle, str(path), DELIMITERS[suffix], columns)
    except UnicodeDecodeError:
        raise ValueError(f"cannot read {path}: it is not UTF-8 text") from None
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_text(handle, source, delimiter, columns):
    """Parse delimited text into a Table; ``columns`` as in ``read_table``."""
    reader = csv.reader(handle, delimiter=delimiter)
    rows = []  # (line number in the file, stripped cells), blank lines skipped
    try:
        for cells in reader:
            cells = [cell.strip() for cell in cells]
            if any(cells):
                rows.append((reader.line_num, cells))
    except csv.Error as error:
        raise ValueError(f"{source}: row {reader.line_num}: {error}") from None
    if not rows:
        raise ValueError(f"{source} is empty: no rows")
    first_line, first = rows[0]
    width = len(first)
    for line, cells in rows[1:]:
        if len(cells) != width:
            raise ValueError(f"{source}: row {line} has {len(cells)} columns, "
                             f"but row {first_line} has {width}")

    by_name = columns is not None and any(isinstance(column, str) for column in columns)
    if by_name:
        if all(_is_number(cell) for cell in first):
            raise ValueError(f"{source} has no header row (row {first_line} is all numbers): "
                             f"pick its columns by 0-based index")
        has_header = True
    else:
        indices = _check_indices(columns, width, source)
        has_header = not all(_is_number(first[index]) for index in indices)
    names = tuple(first) if has_header else None
    if by_name:
        indices = _resolve_names(columns, names, source)

    data_rows = rows[1:] if has_header else rows
    if not data_rows:
        raise ValueError(f"{source} has a header (row {first_line}) but no rows of data")
    values = np.empty((len(data_rows), len(indices)))
    for row, (line, cells) in enumerate(data_rows):
        for column, index in enumerate(indices):
            cell = cells[index]
            try:
                value = float(cell)
            except ValueError:
                value = None
            if value is None or not math.isfinite(value):
                where = f"{source}: row {line}, column {index + 1}"
                if names is not None:
                    where += f" ({names[index]!r})"
                what = "is not a number" if value is None else "is not finite (NaN and infinity are not allowed)"
                raise ValueError(f"{where}: {cell!r} {what}")
            values[row, column] = value
    return Table(values, None if names is None else tuple(names[i] for i in indices), source)


def _check_indices(columns, width, source):
    """Return the 0-based ``columns`` (all when None), checked against the file's ``width``."""
    if columns is None:
        return list(range(width))
    for index in columns:
        if index >= width:
            raise ValueError(f"{source} has {width} columns (indices 0 to {width - 1}), "
                             f"so it has no column index {index}")
    return list(columns)


def _resolve_names(columns, names, source):
    """Turn names and indices into 0-based indices, using the header ``names``."""
    indices = []
    for column in columns:
        if isinstance(column, int):
            indices.extend(_check_indices([column], len(names), source))
        elif column in names:
            indices.append(names.index(column))
        else:
            raise ValueError(f"{source} has no column named {column!r} "
                             f"(its columns: {', '.join(map(repr, names))})")
    return indices


def _read_npy(path, columns):
    """Read a 2-D numeric .npy array into a Table; ``columns`` must be indices."""
    try:
        array = np.load(path, allow_pickle=False)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    except (ValueError, EOFError):
        raise ValueError(f"cannot read {path}: it is not a NumPy .npy file") from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"cannot read {path}: it holds several arrays (.npz); give one .npy array")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{path} holds {array.dtype} values; it should hold numbers")
    if array.ndim != 2:
        raise ValueError(f"{path} holds an array of shape {array.shape}; it should be 2-D (rows, columns)")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{path} is empty: its array has shape {array.shape}")
    if columns is not None:
        names = [column for column in columns if isinstance(column, str)]
        if names:
            raise ValueError(f"{path} has no header: pick its columns by 0-based index, not {names[0]!r}")
        array = array[:, _check_indices(columns, array.shape[1], path)]
    values = array.astype(np.float32 if array.dtype in (np.float16, np.float32) else np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        raise ValueError(f"{path}: row {row + 1}, column {column + 1}: {array[row, column]} "
                         f"is not finite (NaN and infinity are not allowed)")
    return Table(values, None, str(path))


def format_labels(labels):
    """Return one label per line, in the rows' order."""
    return "".join(f"{label}\n" for label in np.asarray(labels).tolist())


def format_table(values, names=None, delimiter=","):
    """Return ``values`` as delimited text, a header line first when ``names`` are given."""
    lines = [delimiter.join(names)] if names is not None else []
    # str() of a NumPy scalar is the shortest text that reads back as the same number.
    lines.extend(delimiter.join(str(value) for value in row) for row in np.asarray(values))
    return "".join(f"{line}\n" for line in lines)


def check_output(path, *, overwrite=False):
    """Raise ``OSError`` unless ``path`` can be written: its folder exists, and it is new or ``overwrite``."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists")


def write_labels(path, labels, *, overwrite=False):
    """Write one label per line to ``path``, atomically."""
    write_atomically(path, format_labels(labels).encode(), overwrite=overwrite)


def write_table(path, values, *, names=None, overwrite=False):
    """Write ``values`` to a ``.csv``, ``.tsv`` (with a header when ``names``) or ``.npy`` file, atomically."""
    suffix = Path(path).suffix.lower()
    if suffix == NPY_SUFFIX:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(values), allow_pickle=False)
        data = buffer.getvalue()
    elif suffix in DELIMITERS:
        data = format_table(values, names, DELIMITERS[suffix]).encode()
    else:
        raise ValueError(f"cannot write {path}: unknown file type {suffix!r}; use {', '.join(DATA_SUFFIXES)}")
    write_atomically(path, data, overwrite=overwrite)


def write_atomically(path, data, *, overwrite):
    """Write ``data`` (bytes) to a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    check_output(path, overwrite=overwrite)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        # mkstemp makes the file private (0600): give it the mode a plain open() would.
        os.chmod(temporary, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask

"""Read the command line's data files, checked, and write its outputs safely.

A data file is ``.csv``, ``.tsv`` or ``.npy``; ``-`` means CSV on a text stream (stdin).
A text file's first row is a header when one of its cells is text (neither empty nor a
number), unless the caller says (``header=True`` or ``False``). A number is written in
ASCII as Python's ``float`` reads it, less underscores (``1_000``); NaN and infinity are
refused. Every problem raises ``ValueError`` whose message names the file and, for a bad
cell, its row as numbered in the file (the header line counted) and its column (1-based).

A ``.npy`` file's header is checked before its data are read: numbers only (object arrays
are refused, as loading them could run code), 2-D, and as many bytes as the header claims.

An output that is a regular file (or a new one) is written to a temporary file in its
folder, then renamed over it: a failure leaves no half-written file, and an existing file is
replaced only when asked. A symbolic link is written through: the file it points to is
replaced, the link stays. A device, FIFO, socket, ``/dev/stdout``, ``/dev/stderr`` or
``/dev/fd/N`` is written into directly, and needs no leave to overwrite.
"""
import csv
import dataclasses
import errno
import fcntl
import io
import math
import os
import re
import socket
import stat
import sys
import tempfile
import tokenize
from pathlib import Path

import numpy as np

STDIN = "-"
DELIMITERS = {".csv": ",", ".tsv": "\t"}
NPY_SUFFIX = ".npy"
DATA_SUFFIXES = (*DELIMITERS, NPY_SUFFIX)
NAME_PREFIX = "name:"  # --columns name:2020 is the column named 2020
INDEX_PREFIX = "index:"  # --columns index:2 is the column of 0-based index 2, whatever the header says

# /dev/stdout, /dev/stderr, /dev/stdin, /dev/fd/N and /proc/self/fd/N name this process's file descriptors.
_FD_PATH = re.compile(r"/dev/(?:fd/(?P<fd>[0-9]+)|(?P<std>stdin|stdout|stderr))"
                      r"|/proc/(?P<pid>self|thread-self|[0-9]+)/fd/(?P<proc_fd>[0-9]+)")
_STANDARD_FDS = {"stdin": 0, "stdout": 1, "stderr": 2}
_MAX_LINKS = 40  # as the kernel's limit on symbolic links followed in one path
_NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_PICKLE_START = b"\x80"  # a pickle of protocol 2 or later
_ZIP_START = b"PK\x03\x04"  # an .npz archive


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


class _BareIndex(int):
    """A ``--columns`` item written as bare digits: an index, unless the header says otherwise (see ``parse_columns``)."""


def parse_columns(text):
    """Turn ``--columns`` text into a tuple of names (str) and 0-based indices (int).

    Items are separated by commas and stripped of spaces:

    - ``name:TEXT`` is the column whose header cell is ``TEXT`` (``name:2020``);
    - ``index:N`` is the column of 0-based index ``N``, whatever the header says;
    - bare digits ``N`` are the 0-based index ``N``, except when the file's header names a
      column ``N``: if the file has no index ``N``, the name is meant (``2020`` in a header
      ``name,2020,2021``); if index ``N`` is another column, the item is refused as ambiguous.
      A bare number never picks a column that one of its two readings would not;
    - anything else is a header name (``x``, ``1.5``, ``time:s``).

    Parameters
    ----------
    text : str, e.g. ``"x,y"``, ``"0,2"`` or ``"name:2020,name:2021"``

    Returns
    -------
    tuple of str and int
        Bare digits come back as an ``int`` subclass that ``read_table`` checks against the header.
    """
    picked = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"{text!r} has an empty column; give names or 0-based indices separated by commas")
        if item.startswith(NAME_PREFIX):
            name = item[len(NAME_PREFIX):].strip()
            if not name:
                raise ValueError(f"{item!r} has no name after {NAME_PREFIX!r}")
            picked.append(name)
        elif item.startswith(INDEX_PREFIX):
            digits = item[len(INDEX_PREFIX):].strip()
            if not re.fullmatch(r"[0-9]+", digits):
                raise ValueError(f"{item!r} should be {INDEX_PREFIX} followed by a 0-based index, e.g. index:2")
            picked.append(int(digits))
        elif re.fullmatch(r"[+-]?[0-9]+", item):
            index = int(item)
            if index < 0:
                raise ValueError(f"column index {index} should be >= 0 (indices are 0-based)")
            picked.append(_BareIndex(index))
        else:
            picked.append(item)
    return tuple(picked)


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
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise ValueError(f"cannot read {path}: unknown file type {suffix or '(no extension)'!r}; "
                         f"use {', '.join(DATA_SUFFIXES)} (or - for CSV on stdin)")
    if suffix == NPY_SUFFIX:
        if header:
            raise ValueError(f"{path} is a .npy file, which has no header row to read names from")
        return _read_npy(path, columns)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _read_text(handle, str(path), DELIMITERS[suffix], columns, header)
    except UnicodeDecodeError:
        raise ValueError(f"cannot read {path}: it is not UTF-8 text") from None
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None


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
    reader = csv.reader(handle, delimiter=delimiter)
    rows = []  # (line number in the file, stripped cells), blank lines skipped
    try:
        for cells in reader:
            cells = [cell.strip() for cell in cells]
            if not rows and cells:
                cells[0] = cells[0].lstrip("\ufeff").strip()  # a byte order mark the decoder kept (stdin)
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

    if header is None:
        header = any(cell and not _looks_numeric(cell) for cell in first)
        no_header_why = f" (row {first_line} has no text; --header reads it as names)"
    else:
        no_header_why = ""
    names = tuple(first) if header else None
    indices = _resolve_columns(columns, names, width, source, no_header_why)

    data_rows = rows[1:] if header else rows
    if not data_rows:
        raise ValueError(f"{source} has a header (row {first_line}) but no rows of data")
    values = np.empty((len(data_rows), len(indices)))
    for row, (line, cells) in enumerate(data_rows):
        for column, index in enumerate(indices):
            value = _parse_number(cells[index])
            if isinstance(value, str):
                where = f"{source}: row {line}, column {index + 1}"
                if names is not None:
                    where += f" ({names[index]!r})"
                raise ValueError(f"{where}: {cells[index]!r} {value}")
            values[row, column] = value
    return Table(values, None if names is None else tuple(names[i] for i in indices), source)


def _resolve_columns(columns, names, width, source, no_header_why=""):
    """Return the 0-based indices of ``columns`` (all when None), checked against the header ``names`` and ``width``."""
    if columns is None:
        return list(range(width))
    indices = []
    for column in columns:
        if isinstance(column, str):
            if names is None:
                raise ValueError(f"{source} has no header row{no_header_why}, so it has no column named "
                                 f"{column!r}: pick its columns by 0-based index")
            index = _index_of_name(column, names, source)
        else:
            index = int(column)
            name_index = names.index(str(index)) if names is not None and str(index) in names else None
            if isinstance(column, _BareIndex) and name_index is not None:
                if index >= width:
                    index = _index_of_name(str(column), names, source)
                elif name_index != index:
                    raise ValueError(f"{source}: column {index} is ambiguous: index {index} is column "
                                     f"{index + 1} ({names[index]!r}) but column {name_index + 1} is named "
                                     f"{str(index)!r}; write {NAME_PREFIX}{index} or {INDEX_PREFIX}{index}")
            if not 0 <= index < width:
                raise ValueError(f"{source} has {width} columns (indices 0 to {width - 1}), "
                                 f"so it has no column index {index}")
        if index in indices:
            first = columns[indices.index(index)]
            called = f" ({names[index]!r})" if names is not None else ""
            raise ValueError(f"{source}: column {index + 1}{called} is chosen twice (as {first!r} and "
                             f"{column!r}); choose each column once")
        indices.append(index)
    return indices


def _index_of_name(name, names, source):
    """Return the 0-based index of the header cell ``name``, which must be there once."""
    found = [index for index, each in enumerate(names) if each == name]
    if not found:
        raise ValueError(f"{source} has no column named {name!r} "
                         f"(its columns: {', '.join(map(repr, names))})")
    if len(found) > 1:
        raise ValueError(f"{source}: the header names {name!r} {len(found)} times (columns "
                         f"{', '.join(str(index + 1) for index in found)}); pick one by 0-based index")
    return found[0]


def _read_npy(path, columns):
    """Read a 2-D numeric .npy array into a Table; ``columns`` must be indices."""
    try:
        with open(path, "rb") as handle:
            dtype, shape, fortran_order = _read_npy_header(handle, path)
            array = _read_npy_data(handle, path, dtype, shape, fortran_order)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    if columns is not None:
        array = array[:, _resolve_columns(columns, None, array.shape[1], path)]
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
    info = os.fstat(handle.fileno())
    regular = stat.S_ISREG(info.st_mode)
    if regular:
        held = info.st_size - handle.tell()
        if held < needed:
            raise ValueError(f"{path} is truncated: its header says {claim}, but the file holds "
                             f"{held} bytes ({held // (width * dtype.itemsize)} rows)")
        if held > needed:
            raise ValueError(f"{path} has {held - needed} bytes after the array its header describes "
                             f"({claim}); it is not a plain .npy file")
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


def format_labels(labels):
    """Return one label per line, in the rows' order."""
    return "".join(f"{label}\n" for label in np.asarray(labels).tolist())


def format_table(values, names=None, delimiter=","):
    """Return ``values`` as delimited text, a header line first when ``names`` are given."""
    lines = [delimiter.join(names)] if names is not None else []
    # str() of a NumPy scalar is the shortest text that reads back as the same number.
    lines.extend(delimiter.join(str(value) for value in row) for row in np.asarray(values))
    return "".join(f"{line}\n" for line in lines)


@dataclasses.dataclass(frozen=True)
class _Output:
    """Where an output goes: a file descriptor (``fd``), a special file (``special``), or a file replaced atomically."""

    fd: int | None = None
    special: Path | None = None  # a device, FIFO or socket, opened as named (links followed)
    target: Path | None = None  # the regular file to replace (links resolved), which may not exist yet


def _locate_output(path):
    """Tell how ``path`` is written: follow its links to a file descriptor, a special file or a regular file."""
    current = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        match = _FD_PATH.fullmatch(current)
        if match and match["pid"] in (None, "self", "thread-self", str(os.getpid())):
            fd = match["fd"] or match["proc_fd"]
            return _Output(fd=int(fd) if fd is not None else _STANDARD_FDS[match["std"]])
        if not os.path.islink(current):
            break
        current = os.path.join(os.path.dirname(current), os.readlink(current))
        current = os.path.normpath(current)
    else:
        raise OSError(f"cannot write {path}: it is a loop of symbolic links")
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None  # a new file: _check_file says what is missing
    except OSError as error:
        raise OSError(f"cannot write {path}: {error.strerror}") from None
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)
                             or stat.S_ISSOCK(mode)):
        return _Output(special=Path(path))
    return _Output(target=Path(os.path.realpath(path)) if os.path.islink(path) else Path(path))


def is_special_output(path):
    """Tell whether ``path`` is written into directly rather than replaced.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    bool
        True for a character or block device, a FIFO, a socket, ``/dev/stdout``, ``/dev/stderr``
        and ``/dev/fd/N`` (and links to them): these are written in place and need no leave to
        overwrite. False for a regular file, a folder, or a path that does not exist.
    """
    try:
        output = _locate_output(path)
    except OSError:
        return False
    return output.target is None


def check_output(path, *, overwrite=False):
    """Check, before any work, that ``path`` can be written; raise ``OSError`` naming it and the reason otherwise.

    Parameters
    ----------
    path : str or Path
    overwrite : bool, default=False
        Whether an existing regular file may be replaced. A device, FIFO, socket or file
        descriptor (see ``is_special_output``) is written into whatever this says.

    Raises
    ------
    FileNotFoundError
        The folder does not exist.
    NotADirectoryError
        The folder is not a folder.
    IsADirectoryError
        ``path`` is a folder.
    PermissionError
        The folder, the special file or the file descriptor cannot be written.
    FileExistsError
        ``path`` is an existing file and ``overwrite`` is False.
    OSError
        Any other reason (a loop of links, a file descriptor that is not open).
    """
    _checked_output(path, overwrite)


def _checked_output(path, overwrite):
    """Return where ``path`` is written (an ``_Output``), checked as ``check_output`` says."""
    output = _locate_output(path)
    if output.fd is not None:
        _check_fd(path, output.fd)
    elif output.special is not None:
        if not os.access(output.special, os.W_OK):
            raise PermissionError(f"cannot write {path}: permission denied")
    else:
        _check_file(path, output.target, overwrite)
    return output


def _check_fd(path, fd):
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        raise OSError(f"cannot write {path}: file descriptor {fd} is not open") from None
    if flags & os.O_ACCMODE == os.O_RDONLY:
        raise PermissionError(f"cannot write {path}: file descriptor {fd} is open for reading only")


def _check_file(path, target, overwrite):
    """Check that the regular file ``target`` (``path`` with its links resolved) can be created or replaced."""
    linked = Path(path) != target
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists" + (f" (it links to {target})" if linked else ""))
    folder = target.parent
    where = f"folder {folder}" + (" (where its link points)" if linked else "")
    if not folder.exists():
        raise FileNotFoundError(f"cannot write {path}: {where} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"cannot write {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: {where} is not writable")
    # access() answers yes to root even on a read-only mount, and ignores some ACLs: try it.
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".write-check.")
    except OSError as error:
        raise _write_error(path, error, f"{where} is not writable") from None
    os.close(handle)
    os.remove(probe)


def _write_error(path, error, what=None):
    """Return an ``OSError`` of ``error``'s kind saying ``cannot write PATH: [WHAT ](reason)``, no temporary name in it."""
    kind = PermissionError if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else OSError
    reason = error.strerror or str(error)
    return kind(f"cannot write {path}: " + (f"{what} ({reason})" if what else reason))


def write_labels(path, labels, *, overwrite=False):
    """Write one label per line to ``path`` (see ``write_output``)."""
    write_output(path, format_labels(labels).encode(), overwrite=overwrite)


def write_table(path, values, *, names=None, overwrite=False, file_type=None):
    """Write ``values`` as CSV, TSV (with a header line when ``names``) or .npy (see ``write_output``).

    Parameters
    ----------
    path : str or Path
    values : array of shape (n_rows, n_columns)
    names : sequence of str, or None, default=None, the header line of a text file
    overwrite : bool, default=False, whether an existing regular file may be replaced
    file_type : {".csv", ".tsv", ".npy"} or None, default=None
        The format; None takes it from ``path``'s suffix, and writes CSV to a special output
        without one (``/dev/stdout``).
    """
    suffix = file_type or Path(path).suffix.lower()
    if file_type is None and suffix not in DATA_SUFFIXES and is_special_output(path):
        suffix = ".csv"
    if suffix == NPY_SUFFIX:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(values), allow_pickle=False)
        data = buffer.getvalue()
    elif suffix in DELIMITERS:
        data = format_table(values, names, DELIMITERS[suffix]).encode()
    else:
        raise ValueError(f"cannot write {path}: unknown file type {suffix!r}; use {', '.join(DATA_SUFFIXES)}")
    write_output(path, data, overwrite=overwrite)


def write_output(path, data, *, overwrite=False):
    """Write ``data`` to ``path``: atomically to a regular file, directly into a special one.

    A regular file (new, or existing when ``overwrite``) gets a temporary file in its folder,
    renamed over it once written; it keeps its mode, and a new one gets the mode ``open()``
    would give. A symbolic link is written through: the file it points to is replaced (created
    when the link dangles), the link stays. A device, FIFO, socket, ``/dev/stdout``,
    ``/dev/stderr`` or ``/dev/fd/N`` is written into directly, with no temporary file.

    Parameters
    ----------
    path : str or Path
    data : bytes
    overwrite : bool, default=False, whether an existing regular file may be replaced

    Raises
    ------
    OSError
        As ``check_output`` says, or when the writing fails.
    """
    output = _checked_output(path, overwrite)
    try:
        if output.fd is not None:
            _write_fd(output.fd, data)
        elif output.special is not None:
            _write_special(output.special, data)
    except OSError as error:
        raise _write_error(path, error) from None
    if output.target is not None:
        _replace(path, output.target, data)


write_atomically = write_output  # the name figures.save_figure uses


def _write_fd(fd, data):
    for stream in (sys.stdout, sys.stderr):  # what Python buffered goes first
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_special(path, data):
    if stat.S_ISSOCK(os.stat(path).st_mode):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(str(path))
            connection.sendall(data)
        return
    # No O_CREAT: if the special file went away, nothing is created in its place. A FIFO waits for a reader.
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    try:
        _write_fd(fd, data)
    finally:
        os.close(fd)


def _replace(path, target, data):
    """Write ``data`` to a temporary file beside ``target``, then rename it to ``target``."""
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise _write_error(path, error, f"cannot create a file in folder {target.parent}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        # mkstemp makes the file private (0600): give it the mode a plain open() would.
        os.chmod(temporary, target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask())
        os.replace(temporary, target)
    except OSError as error:
        raise _write_error(path, error) from None
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask

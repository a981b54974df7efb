"""Write the command line's outputs: atomically for files, directly into devices, FIFOs and file descriptors."""

import contextlib
import dataclasses
import errno
import fcntl
import io
import os
import re
import socket
import stat
import sys
import tempfile
from pathlib import Path

import numpy as np

from kmeans_tf.data_io.tables import COMMENT, DATA_SUFFIXES, DELIMITERS, NPY_SUFFIX

# /dev/stdout, /dev/stderr, /dev/stdin, /dev/fd/N and /proc/self/fd/N name this process's file descriptors.
_FD_PATH = re.compile(
    r"/dev/(?:fd/(?P<fd>[0-9]+)|(?P<std>stdin|stdout|stderr))"
    r"|/proc/(?P<pid>self|thread-self|[0-9]+)/fd/(?P<proc_fd>[0-9]+)"
)
_STANDARD_FDS = {"stdin": 0, "stdout": 1, "stderr": 2}
_MAX_LINKS = 40  # as the kernel's limit on symbolic links followed in one path


def format_labels(labels):
    """Return one label per line, in the rows' order."""
    return "".join(f"{label}\n" for label in np.asarray(labels).tolist())


def format_table(values, names=None, delimiter=",", comment=None):
    """Return ``values`` as delimited text, a header line first when ``names`` are given; with ``comment``, a line
    ``# comment`` before all (``read_table`` skips it, ``leading_comments`` reads it)."""
    lines = [f"{COMMENT}{comment}"] if comment is not None else []
    lines += [delimiter.join(names)] if names is not None else []
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
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
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
    """Return an ``OSError`` of ``error``'s kind saying ``cannot write PATH: [WHAT ](reason)`` (no temporary name)."""
    kind = PermissionError if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else OSError
    reason = error.strerror or str(error)
    return kind(f"cannot write {path}: " + (f"{what} ({reason})" if what else reason))


def write_labels(path, labels, *, overwrite=False):
    """Write one label per line to ``path`` (see ``write_output``)."""
    write_output(path, format_labels(labels).encode(), overwrite=overwrite)


def write_table(path, values, *, names=None, overwrite=False, file_type=None, comment=None):
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
    comment : str or None, default=None
        A line of text file, ``# comment``, first (a .npy file has no room for one: ValueError).
    """
    suffix = file_type or Path(path).suffix.lower()
    if file_type is None and suffix not in DATA_SUFFIXES and is_special_output(path):
        suffix = ".csv"
    if suffix == NPY_SUFFIX and comment is not None:
        raise ValueError(f"cannot write {path}: a .npy file holds numbers alone, not {comment!r}")
    if suffix == NPY_SUFFIX:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(values), allow_pickle=False)
        data = buffer.getvalue()
    elif suffix in DELIMITERS:
        data = format_table(values, names, DELIMITERS[suffix], comment).encode()
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
        view = view[os.write(fd, view) :]


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
    with replacing(path, target) as file:
        file.write(data)


@contextlib.contextmanager
def replacing(path, target):
    """Yield a binary file beside ``target``, renamed to ``target`` when the block ends well, removed otherwise."""
    handle, temporary = temporary_beside(path, target, ".tmp")
    try:
        with os.fdopen(handle, "w+b") as file:
            yield file
        os.chmod(temporary, mode_for(target))
        os.replace(temporary, target)
    except OSError as error:
        raise _write_error(path, error) from None
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def temporary_beside(path, target, suffix):
    """Make a hidden temporary file beside ``target``; return its open descriptor and name (errors name ``path``)."""
    try:
        return tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    except OSError as error:
        raise _write_error(path, error, f"cannot create a file in folder {target.parent}") from None


def mode_for(target):
    """The mode a file renamed over ``target`` gets: the old file's, or the one a plain open() would give.

    (mkstemp makes its files private, 0600.)
    """
    return target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask

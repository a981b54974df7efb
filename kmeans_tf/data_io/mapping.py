"""Map ``.npy`` files instead of reading them: one file, or a folder of shards read as one data set.

The header and the file's size are checked as ``read_table`` checks them; the numbers are
not read here (the engine streams them, and checks them on the way). A shard of a folder is
any file there whose name ends in ``.npy`` (in any case) and does not start with a dot
(``is_shard_name``); each must be a regular file or a link to one.
"""

import os
import stat
from pathlib import Path

import numpy as np

from kmeans_tf.data_io.reading import _read_npy_header, check_npy_size
from kmeans_tf.data_io.tables import NPY_SUFFIX


def map_npy(path):
    """Return a read-only memory map of the 2-D numeric array in the ``.npy`` file at ``path``.

    Raises ValueError, naming the file, as ``read_table`` does for a bad header or size, or
    when ``path`` is not a regular file (a FIFO cannot be mapped: read it instead).
    """
    try:
        # Without O_NONBLOCK, opening a FIFO waits for a writer; its kind is checked before any read.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY), "rb") as handle:
            kind = _irregular(os.fstat(handle.fileno()).st_mode)
            if kind is not None:
                raise ValueError(f"cannot map {path}: it is not a regular file ({kind})")
            dtype, shape, fortran_order = _read_npy_header(handle, path)
            check_npy_size(handle, path, dtype, shape)
            offset = handle.tell()
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran_order else "C")


def is_shard_name(name):
    """Tell whether a file of this name in a folder of shards is one of its shards."""
    return name.lower().endswith(NPY_SUFFIX) and not name.startswith(".")


def shard_paths(folder):
    """Return the ``.npy`` files of ``folder`` in file-name order (hidden files left out).

    ValueError when there is none, or when one is not a regular file (nor a link to one).
    """
    folder = Path(folder)
    try:
        paths = [folder / name for name in sorted(filter(is_shard_name, os.listdir(folder)))]
    except OSError as error:
        raise ValueError(f"cannot read folder {folder}: {error.strerror or error}") from None
    if not paths:
        raise ValueError(f"folder {folder} holds no {NPY_SUFFIX} files; it should hold shards of one data set")
    for path in paths:
        try:
            kind = _irregular(os.stat(path).st_mode)  # a link is followed; a FIFO is not opened
        except OSError as error:
            raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
        if kind is not None:
            raise ValueError(
                f"{path} is {kind}, not a regular file; the shards of folder {folder} are its "
                f"{NPY_SUFFIX} files, regular files or links to them"
            )
    return paths


def _irregular(mode):
    """Return what a file of this mode is when it is not a regular file (``"a FIFO"``), or None."""
    if stat.S_ISREG(mode):
        return None
    kinds = {stat.S_ISFIFO: "a FIFO", stat.S_ISDIR: "a folder", stat.S_ISSOCK: "a socket"}
    return next((name for is_kind, name in kinds.items() if is_kind(mode)), "a device")


def map_npy_folder(folder):
    """Return read-only memory maps of the ``.npy`` shards of ``folder``, in file-name order, all of one width."""
    paths = shard_paths(folder)
    arrays = [map_npy(path) for path in paths]
    width = arrays[0].shape[1]
    for path, array in zip(paths, arrays):
        if array.shape[1] != width:
            raise ValueError(
                f"{path} has {array.shape[1]} columns but {paths[0]} has {width}; "
                f"the shards of folder {folder} should have the same width"
            )
    return arrays

"""Map ``.npy`` files instead of reading them: one file, or a folder of shards read as one data set.

The header and the file's size are checked as ``read_table`` checks them; the numbers are
not read here (the engine streams them, and checks them on the way).
"""

import os
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
        with open(path, "rb") as handle:
            dtype, shape, fortran_order = _read_npy_header(handle, path)
            if not check_npy_size(handle, path, dtype, shape):
                raise ValueError(f"cannot map {path}: it is not a regular file")
            offset = handle.tell()
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran_order else "C")


def shard_paths(folder):
    """Return the ``.npy`` files of ``folder`` in file-name order (hidden files left out); ValueError when none."""
    folder = Path(folder)
    try:
        names = sorted(
            name for name in os.listdir(folder) if name.lower().endswith(NPY_SUFFIX) and not name.startswith(".")
        )
    except OSError as error:
        raise ValueError(f"cannot read folder {folder}: {error.strerror or error}") from None
    if not names:
        raise ValueError(f"folder {folder} holds no {NPY_SUFFIX} files; it should hold shards of one data set")
    return [folder / name for name in names]


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

"""TFRecord data on the command line: a file, a quoted glob, or a folder of them; GZIP told by each file's first bytes.

A TFRecord file's name ends in ``.tfrecord`` or ``.tfrecords``, optionally followed by
``.gz`` (any case); a folder's TFRecord files (hidden ones left out) and a glob's matches are
read in file-name order, as one data set. Reading the records is ``kmeans_tf.stream.tfrecords``'s
job; nothing here imports TensorFlow, so that the commands can tell their data's kind first.
"""

import glob
import os

from kmeans_tf.data_io.mapping import is_shard_name
from kmeans_tf.data_io.tables import STDIN

TFRECORD_SUFFIXES = (".tfrecord", ".tfrecords")
GZIP_SUFFIX = ".gz"
# A GZIP file starts with these two bytes (RFC 1952); an uncompressed TFRecord file with a record's length.
GZIP_MAGIC = b"\x1f\x8b"
GZIP, UNCOMPRESSED = "GZIP", ""  # TensorFlow's compression_type of each
GLOB_CHARACTERS = "*?["


def is_tfrecord_name(name):
    """Tell whether a file of this name is a TFRecord file (hidden files are not)."""
    name = name.lower()
    return not name.startswith(".") and name.endswith(
        (*TFRECORD_SUFFIXES, *(suffix + GZIP_SUFFIX for suffix in TFRECORD_SUFFIXES))
    )


def is_glob(path):
    """Tell whether ``path`` is a pattern of file names (and no file of that very name)."""
    return any(character in str(path) for character in GLOB_CHARACTERS) and not os.path.lexists(path)


def is_tfrecord_data(path):
    """Tell whether DATA ``path`` names TFRecord data: a TFRecord file, a glob, or a folder holding TFRecord files."""
    path = str(path)
    if path == STDIN:
        return False
    if is_glob(path):
        return True
    if os.path.isdir(path):
        return any(is_tfrecord_name(name) for name in _listed(path))
    return is_tfrecord_name(os.path.basename(path))


def tfrecord_paths(path):
    """Return the TFRecord files that DATA ``path`` names, in file-name order; ValueError when there are none, or
    when a glob matches another kind of file or a folder holds ``.npy`` shards besides."""
    path = str(path)
    if is_glob(path):
        paths = sorted(glob.glob(path))
        if not paths:
            raise ValueError(f"{path} matches no file")
        for each in paths:
            if not os.path.isfile(each) or not is_tfrecord_name(os.path.basename(each)):
                raise ValueError(f"{path} matches {each}, which is not a TFRecord file ({describe_names()})")
        return paths
    if os.path.isdir(path):
        names = _listed(path)
        shards = [name for name in names if is_shard_name(name)]
        if shards:
            raise ValueError(
                f"{path} holds both TFRecord files and .npy shards ({shards[0]}); give a folder of one kind"
            )
        return [os.path.join(path, name) for name in names if is_tfrecord_name(name)]
    return [path]


def describe_names():
    """How a TFRecord file's name ends, for messages."""
    return f"names ending in {', '.join(TFRECORD_SUFFIXES)}, optionally followed by {GZIP_SUFFIX}"


def compression(path):
    """Return TensorFlow's ``compression_type`` of the TFRecord file at ``path``: GZIP when it starts as GZIP does."""
    with open(path, "rb") as file:
        return GZIP if file.read(len(GZIP_MAGIC)) == GZIP_MAGIC else UNCOMPRESSED


def _listed(folder):
    """The names in ``folder``, sorted (none when it cannot be read: reading the data will say why)."""
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []

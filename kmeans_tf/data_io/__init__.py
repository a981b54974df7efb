"""Read the command line's data files, checked, and write its outputs safely.

A data file is ``.csv``, ``.tsv`` or ``.npy``; ``-`` means CSV on a text stream (stdin).
A text file may begin with lines of comment (``# text``; ``leading_comments`` reads them).
Its first row is a header when one of its cells is text (neither empty nor a
number), unless the caller says (``header=True`` or ``False``). A number is written in
ASCII as Python's ``float`` reads it, less underscores (``1_000``); NaN and infinity are
refused. Every problem raises ``ValueError`` whose message names the file and, for a bad
cell, its row as numbered in the file (the header line counted) and its column (1-based).

Sample weights come from a column of a data file (``read_table(..., weights=COLUMN)``, which
leaves it out of the values) or from a file of one weight per row (``read_weights``); each
must be finite and >= 0, not all 0, and a bad one is named by file, row and column.

A ``.npy`` file's header is checked before its data are read: numbers only (object arrays
are refused, as loading them could run code), 2-D, and as many bytes as the header claims.

An output that is a regular file (or a new one) is written to a temporary file in its
folder, then renamed over it: a failure leaves no half-written file, and an existing file is
replaced only when asked. A symbolic link is written through: the file it points to is
replaced, the link stays. A device, FIFO, socket, ``/dev/stdout``, ``/dev/stderr`` or
``/dev/fd/N`` is written into directly, and needs no leave to overwrite. ``write_all`` writes
several outputs all or none: every regular file to a temporary file first, all renamed at the end.

Data larger than memory: ``map_npy`` and ``map_npy_folder`` map ``.npy`` files (headers
checked as above) instead of reading them; ``convert_text`` turns a CSV of any size into a
``.npy`` file a chunk of rows at a time; ``write_labels_chunked`` writes labels of any length.
"""

from kmeans_tf.data_io.chunked import write_labels_chunked
from kmeans_tf.data_io.converting import convert_text
from kmeans_tf.data_io.mapping import is_shard_name, map_npy, map_npy_folder, shard_paths
from kmeans_tf.data_io.reading import leading_comments, read_table, read_weights
from kmeans_tf.data_io.staging import check_folder, folder_made, write_all
from kmeans_tf.data_io.tables import (
    DATA_SUFFIXES,
    DELIMITERS,
    INDEX_PREFIX,
    NAME_PREFIX,
    NPY_SUFFIX,
    STDIN,
    Table,
    parse_columns,
)
from kmeans_tf.data_io.writing import (
    check_output,
    format_labels,
    format_table,
    is_special_output,
    write_atomically,
    write_labels,
    write_output,
    write_table,
)

__all__ = [
    "INDEX_PREFIX",
    "NAME_PREFIX",
    "Table",
    "parse_columns",
    "DATA_SUFFIXES",
    "DELIMITERS",
    "NPY_SUFFIX",
    "STDIN",
    "read_table",
    "read_weights",
    "leading_comments",
    "check_output",
    "format_labels",
    "format_table",
    "is_special_output",
    "write_atomically",
    "write_labels",
    "write_output",
    "write_table",
    "write_all",
    "check_folder",
    "folder_made",
    "write_labels_chunked",
    "convert_text",
    "map_npy",
    "map_npy_folder",
    "shard_paths",
    "is_shard_name",
]

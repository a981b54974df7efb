"""TFRecord files of ``tf.train.Example``s as rows: one float-list feature of a fixed length, streamed batch by batch.

``TFRecordRows`` is one kind of ``datasets.Batches``: each pass reads the files in order, each
file through ``tf.data.TFRecordDataset`` (GZIP or not, told by its first bytes), ``RECORDS_PER_BATCH``
records at a time parsed by ``tf.io.parse_example``. Its rows are float32, as a float list is.
The first record's feature sets the width; a record without the feature, of another kind
(an int64 or bytes list), or of another length is one ValueError naming its file and its
record (counted from 0 in its file), and so is a file that cannot be read (cut short, not
TFRecord). A NaN or an infinity is named by its file, record and value. Only a batch of
records is held at a time; ``convert_tfrecords`` writes the rows to a ``.npy`` file.
"""

import numpy as np
from google.protobuf.message import DecodeError

from kmeans_tf._tensorflow import tf
from kmeans_tf.data_io import tfrecord_files
from kmeans_tf.data_io.chunked import RowsWriter, open_output
from kmeans_tf.stream.datasets import Batches, elements

# Records parsed at a time: about the cost of a chunk of the kernel's work, a small share of memory.
RECORDS_PER_BATCH = 1024


class TFRecordRows(Batches):
    """The rows of TFRecord files: the float-list ``feature`` of each ``tf.train.Example``, files in the given order.

    Parameters
    ----------
    paths : sequence of str, the TFRecord files (each GZIP or not)
    feature : str, the name of the float-list feature that holds each row
    name : str, the data's name in messages (a file, glob or folder, as the user gave it)
    """

    dtype = np.dtype(np.float32)

    def __init__(self, paths, feature, name):
        self.paths, self.feature, self.name = list(paths), feature, name
        self.compressions = [tfrecord_files.compression(path) for path in self.paths]
        self.ends = []  # each file's end, in rows of the data set, as the first pass finds them

    def batches(self):
        """Yield each batch of records' rows, file after file: one pass."""
        end = 0
        for index, (path, compression) in enumerate(zip(self.paths, self.compressions)):
            first = 0

            def unreadable(count, why):
                return f"{path}: cannot read the records from record {first} on: {why}"

            records = tf.data.TFRecordDataset(path, compression).batch(RECORDS_PER_BATCH).prefetch(1)
            for serialized in elements(records, unreadable):
                rows = self.checked(self._parsed(path, first, serialized), f"record {first}")
                first += len(rows)
                yield rows
            end += first
            if len(self.ends) == index:
                self.ends.append(end)

    def where(self, row):
        """Return ``(file, record)`` of the data set's ``row``, the record counted from 0 in its file (a row of the file
        that the first pass is reading, or of any file once it has read them all)."""
        index = int(np.searchsorted(self.ends, row, side="right"))
        return self.paths[index], row - (int(self.ends[index - 1]) if index else 0)

    def _parsed(self, path, first, serialized):
        """The rows of the records ``serialized`` (the first is record ``first`` of ``path``), checked."""
        try:
            values = tf.io.parse_example(serialized, {self.feature: tf.io.RaggedFeature(tf.float32)})[self.feature]
        except tf.errors.InvalidArgumentError:  # not an Example, or the feature of another kind
            values = None
        lengths = None if values is None else values.row_lengths().numpy()
        width = self.width if self.width is not None or values is None else lengths[0]
        if values is None or not width or (lengths != width).any():
            raise ValueError(self._bad_record(path, first, serialized.numpy(), width))
        return values.flat_values.numpy().reshape(len(lengths), width)

    def _bad_record(self, path, first, serialized, width):
        """Say what is wrong with the first bad record of ``serialized``: its file, its number, and why."""
        for number, record in enumerate(serialized, start=first):
            at = f"{path}: record {number}"
            try:
                features = tf.train.Example.FromString(record).features.feature
            except DecodeError:
                return f"{at} is not a tf.train.Example"
            if self.feature not in features:
                return f"{at} has no feature {self.feature!r} (it has {', '.join(sorted(features)) or 'none'})"
            kind = features[self.feature].WhichOneof("kind")
            if kind != "float_list":
                return f"{at}: feature {self.feature!r} is {kind or 'empty'}; it should be a float_list"
            length = len(features[self.feature].float_list.value)
            width = length if width is None else width
            if length != width or not length:
                than = "" if self.width is None and number == first else f", the first record's {width}"
                return f"{at}: feature {self.feature!r} holds {length} values{than}; every record should hold as many"
        return f"{path}: the records from record {first} on cannot be parsed"


def open_tfrecords(path, feature):
    """Return the ``TFRecordRows`` of DATA ``path`` (a TFRecord file, a glob or a folder)."""
    return TFRecordRows(tfrecord_files.tfrecord_paths(path), feature, str(path))


def convert_tfrecords(rows, out, *, overwrite=False):
    """Write the rows of ``TFRecordRows`` as a float32 ``.npy`` file, a batch of records at a time; each value checked
    finite (ValueError naming its file, record and value). ``out`` is written by the output rules (a temporary file
    beside it, renamed at the end: nothing is left if the conversion stops).

    Returns ``(n_rows, n_columns)``."""
    with open_output(out, overwrite=overwrite, seekable=True) as file:
        writer = None
        for batch in rows.batches():
            finite = np.isfinite(batch)
            if not finite.all():
                row, column = np.argwhere(~finite)[0]
                name, record = rows.where((writer.rows if writer else 0) + row)
                raise ValueError(f"{name}: record {record} holds {batch[row, column]} at value {column}")
            writer = writer or RowsWriter(file, batch.shape[1], rows.dtype)
            writer.append(batch)
        if writer is None or writer.rows == 0:
            raise ValueError(f"{rows.name} holds no records")
        writer.finish()
    return writer.rows, writer.width

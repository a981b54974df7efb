"""The data commands' input: a text file read into memory, ``.npy`` data mapped, TFRecord files, streamed from disk.

A ``.npy`` file, or a folder of ``.npy`` shards (rows in file-name order), is mapped, never
read whole: the engine streams it a chunk at a time (``kmeans_tf.stream.streamed``). So are
TFRecord files (a file, a quoted glob or a folder of them, ``data_io.tfrecord_files``): the
``--feature`` of each record is its row, read a batch of records at a time
(``kmeans_tf.stream.tfrecords``), the rows counted by one pass when they are opened. A text
file is read into memory, unless it is larger than the memory budget: then the command
says so and suggests ``kmeans-tf convert``. The files that go with the data (centroids, weights)
are read here too, checked against it, with the metric a centroids file records. Nothing here
imports TensorFlow until a file is mapped.
"""

import dataclasses
import os
import sys

import click
import numpy as np

import kmeans_tf
from kmeans_tf import data_io
from kmeans_tf.data_io.reading import data_suffix
from kmeans_tf.data_io.sparse_files import SVMLIGHT_SUFFIXES, is_sparse_file, read_sparse
from kmeans_tf.data_io.tables import NPY_SUFFIX, resolve_columns
from kmeans_tf.data_io.tfrecord_files import is_tfrecord_data
from kmeans_tf.engine.options import DEFAULT_METRIC, METRICS
from kmeans_tf.stream.budget import default_memory_budget, describe_size

# A centroids file of a metric other than the default records it on its first line: "# metric: cosine".
METRIC_RECORD = "metric: "


@dataclasses.dataclass(frozen=True)
class Data:
    """A command's data: ``values`` (an array in memory, or ``Shards`` or TFRecord rows streamed from disk), as a
    ``Table`` has them."""

    values: object
    names: tuple | None
    source: str
    shape: tuple
    weights: object = None  # the rows' weights from a column of a text file, or None


def open_data(path, *, columns, header, memory_budget, in_memory=False, weights=None, feature=None, n_features=None):
    """Map DATA (a .npy file or a folder of them) or read it (text; .npy with ``in_memory``), as the docstring says.

    ``weights``: a column of the rows' weights (as ``data_io.read_table`` takes it); a .npy file with one is read
    into memory (its weights in a file of their own keep it streamed). ``feature``: TFRecord data's ``--feature``.
    ``n_features``: the width of svmlight data (``--n-features``).
    """
    if is_sparse_file(path):
        return _sparse(path, columns, header, weights, n_features)
    if n_features is not None:
        raise ValueError(
            f"--n-features gives the width of svmlight data ({', '.join(SVMLIGHT_SUFFIXES)}); {path} is not svmlight"
        )
    if is_tfrecord_data(path):
        return _tfrecords(path, feature, columns, header, weights, in_memory)
    if feature is not None:
        raise ValueError(
            f"--feature names the feature of TFRecord data; {path} is not TFRecord data (a .tfrecord or "
            f".tfrecords file, a quoted glob or a folder of them)"
        )
    if path != data_io.STDIN and os.path.isdir(path):
        if weights is not None:
            raise ValueError(
                f"{path} is a folder of shards: give its weights as a file (--weights FILE.npy), not as a column"
            )
        if in_memory:
            raise ValueError(
                f"{path} is a folder of shards, streamed from disk; pictures need data read into memory "
                f"(give one .npy or text file)"
            )
        return _mapped(data_io.map_npy_folder(path), columns, header, path)
    if path != data_io.STDIN and not in_memory and os.path.isfile(path):
        suffix = data_suffix(path)
        if suffix == NPY_SUFFIX and weights is None:
            return _mapped([data_io.map_npy(path)], columns, header, path)
        budget = memory_budget or default_memory_budget()
        size = os.path.getsize(path)
        if size > budget:
            over = (
                f"{path} is {describe_size(size)}, more than the memory budget ({describe_size(budget)}) "
                f"to read it into"
            )
            if suffix == NPY_SUFFIX:  # read into memory for its column of weights
                raise ValueError(
                    f"{over}, which a column of weights needs; save the weights as a .npy file of their own "
                    f"and give --weights FILE.npy (with --columns for the features): the data are then streamed "
                    f"from disk"
                )
            raise ValueError(
                f"{over}; convert it first (kmeans-tf convert {path} DATA.npy) and give the .npy file, which is "
                f"streamed from disk"
            )
    table = data_io.read_table(path, columns=columns, stream=sys.stdin, header=header, weights=weights)
    return Data(table.values, table.names, table.source, table.values.shape, table.weights)


def _mapped(arrays, columns, header, path):
    """Return mapped arrays as ``Data`` over ``Shards`` with ``columns`` (indices only: .npy data have no header)."""
    if header:
        raise ValueError(f"{path} is .npy data, which has no header row to read names from")
    indices = None if columns is None else resolve_columns(columns, None, arrays[0].shape[1], path)
    shards = kmeans_tf.Shards(arrays, columns=indices, name=path)
    return Data(
        shards,
        None,
        path,
        (sum(len(array) for array in arrays), arrays[0].shape[1] if indices is None else len(indices)),
    )


def _sparse(path, columns, header, weights, n_features):
    """Return sparse data (a .npz or svmlight file) as ``Data``: a CSR matrix read into memory, checked."""
    for option, given in (("--columns", columns), ("--header", header), ("--weights COLUMN", weights)):
        if given is not None:
            raise ValueError(f"{option} does not apply to sparse data ({path}): every column of its rows is a feature")
    rows = read_sparse(path, n_features)
    return Data(rows, None, path, rows.shape)


def _tfrecords(path, feature, columns, header, weights, in_memory):
    """Return TFRecord data as ``Data``: their rows, counted, streamed (read into memory with ``in_memory``)."""
    check_tfrecord_options(path, feature, columns, header, weights)
    from kmeans_tf.stream.tfrecords import open_tfrecords

    rows = open_tfrecords(path, feature)
    shape = rows.counted()
    values = np.concatenate(list(rows.batches())) if in_memory else rows
    return Data(values, None, path, shape)


def check_tfrecord_options(path, feature, columns, header, weights):
    """Refuse the options that TFRecord data ``path`` cannot take, and a missing ``--feature``."""
    for option, given in (("--columns", columns), ("--header", header), ("--weights COLUMN", weights)):
        if given is not None:
            raise ValueError(
                f"{option} does not apply to TFRecord data ({path}): each row is the --feature of a record"
            )
    if feature is None:
        raise ValueError(f"{path} is TFRecord data: give --feature NAME, the float-list feature that holds each row")


def read_centroids(path, data, option):
    """Read an init or centroids file and check its width against the data's (None: no data to check against)."""
    centroids = data_io.read_table(path)
    if data is None:
        return centroids.values
    width, n_features = centroids.values.shape[1], data.shape[1]
    if width != n_features:
        raise click.ClickException(
            f"{option} {path} has {width} columns but the data ({data.source}, "
            f"columns used) have {n_features}; they should match"
        )
    return centroids.values


def metric_record(metric):
    """The comment line that a centroids file of ``metric`` begins with (none for the default metric)."""
    return None if metric == DEFAULT_METRIC else f"{METRIC_RECORD}{metric}"


def centroids_metric(path, given, option="--centroids"):
    """The metric to use with the centroids file ``path``: the one it records (``metric_record``), ``given`` if it
    records none (None: the default); ``click.ClickException`` when ``given`` differs from the one it records."""
    recorded = [line[len(METRIC_RECORD) :].strip() for line in data_io.leading_comments(path)]
    recorded = [metric for metric in recorded if metric in METRICS]
    if not recorded:
        return DEFAULT_METRIC if given is None else given
    if given is not None and given != recorded[0]:
        raise click.ClickException(
            f"{option} {path} records the metric {recorded[0]} (its first line), but --metric {given} was given; "
            f"the labels would not be the fit's: drop --metric, or give --metric {recorded[0]}"
        )
    return recorded[0]


def read_weights(path, data):
    """Read a --weights file and check that it has one weight per row of the data."""
    weights = data_io.read_weights(path)
    if len(weights) != data.shape[0]:
        raise click.ClickException(
            f"--weights {path} has {len(weights)} weights but {data.source} has "
            f"{data.shape[0]} rows; give one weight per row"
        )
    return weights

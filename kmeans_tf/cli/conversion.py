"""The ``convert`` command: a CSV, TSV or TFRecord data of any size into a ``.npy`` file, which ``fit`` streams."""

import os
import sys
from pathlib import Path

import click

from kmeans_tf import data_io
from kmeans_tf.cli import options
from kmeans_tf.cli.console import Command
from kmeans_tf.cli.outputs import claim_outputs
from kmeans_tf.data_io.sparse_files import NPZ_SUFFIX, is_sparse_file, write_npz
from kmeans_tf.data_io.tfrecord_files import is_tfrecord_data


@click.command(cls=Command)
@click.argument("data", type=options.DataPath(exists=True, allow_dash=True, path_type=str))
@click.argument(
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=options.suffix_check(data_io.NPY_SUFFIX, NPZ_SUFFIX),
)
@options.columns_option
@options.feature_option
@options.n_features_option
@options.header_option
@options.force_option
@options.quiet_option
@click.pass_obj
def convert(console, data, out, columns, feature, n_features, header, force):
    """Convert DATA (.csv, .tsv, or - for CSV on stdin) into OUT, a .npy file of float64;
    or TFRecord files with --feature (a file, a quoted glob or a folder of them) into float32;
    or sparse svmlight data (.svm, .svmlight, .libsvm; labels left out) into OUT.npz, as
    scipy.sparse.save_npz writes it.

    Reads any size a chunk of rows at a time, checking every cell as fit does (the same
    messages), so that fit and predict can then stream OUT from disk. OUT is written beside
    itself under a temporary name and renamed at the end: an error or Ctrl-C leaves nothing.

    \b
    Example:
      kmeans-tf convert big.csv big.npy --columns x,y
      kmeans-tf convert 'parts/*.tfrecord' embeddings.npy --feature emb
      kmeans-tf convert docs.svmlight docs.npz
      kmeans-tf fit big.npy -k 100 --labels-out labels.npy --memory-budget 2GiB
    """
    claim_outputs({"OUT": out}, force=force, inputs={"DATA": data})
    if data_io.is_special_output(out):
        raise click.BadParameter(
            f"{str(out)!r} should be a regular file (its shape is written last)", param_hint="'OUT'"
        )
    sparse_out = out.suffix.lower() == NPZ_SUFFIX
    if sparse_out or is_sparse_file(data):
        _convert_sparse(console, data, out, columns, header, n_features)
        return
    if feature is not None or is_tfrecord_data(data):
        _convert_tfrecords(console, data, out, columns, feature, header)
        return
    total = None if data == data_io.STDIN else os.path.getsize(data)
    with console.throughput(total, "convert") as update:
        rows, width, names = data_io.convert_text(
            data, out, columns=columns, header=header, stream=sys.stdin, overwrite=True, progress=update
        )
    console.note(
        f"{rows} rows x {width} columns written to {out}"
        + (f" (header: {', '.join(names)})" if names else " (no header)")
    )


def _convert_tfrecords(console, data, out, columns, feature, header):
    """Write the --feature of each record of TFRecord DATA as a row of OUT (float32), in one pass over the records."""
    from kmeans_tf.cli.inputs import check_tfrecord_options
    from kmeans_tf.stream.tfrecords import convert_tfrecords, open_tfrecords

    check_tfrecord_options(data, feature, columns, header, None)
    rows, width = convert_tfrecords(open_tfrecords(data, feature), out, overwrite=True)
    console.note(f"{rows} rows x {width} columns written to {out} (float32, feature {feature!r})")


def _convert_sparse(console, data, out, columns, header, n_features):
    """Write sparse DATA (svmlight, or .npz) as OUT.npz; refuse dense DATA or a dense OUT, which a sparse
    conversion would make dense."""
    if not is_sparse_file(data) or out.suffix.lower() != NPZ_SUFFIX:
        raise click.ClickException(
            f"{out} and {data}: convert writes sparse data (svmlight, .npz) as .npz, and dense data (.csv, .tsv, "
            f"TFRecord) as .npy; fit reads both kinds as they are"
        )
    from kmeans_tf.cli.inputs import open_data

    rows = open_data(data, columns=columns, header=header, memory_budget=None, n_features=n_features).values
    write_npz(out, rows, overwrite=True)
    console.note(f"{rows.shape[0]} rows x {rows.shape[1]} columns, {rows.nnz} non-zeros, written to {out}")

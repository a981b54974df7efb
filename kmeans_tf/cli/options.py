"""The options that several commands share, defined once (the registry the commands draw from).

Ranges are carried by click types; defaults come from where their meaning lives (the
lesson modules, ``kmeans_tf.engine.options``), never from copies. Nothing here imports TensorFlow.
"""

import dataclasses
import math
import os
from pathlib import Path

import click

from kmeans_tf import data_io
from kmeans_tf.cli.console import Console
from kmeans_tf.data_io.tfrecord_files import is_glob
from kmeans_tf.engine.options import (
    COSINE,
    DEFAULT_INIT_ROUNDS,
    DEFAULT_METRIC,
    DEFAULT_N_INIT,
    KMEANS_PARALLEL_INIT,
    MAX_SEED,
    METRICS,
)
from kmeans_tf.stream.budget import MIN_MEMORY_BUDGET, SIZE_EXAMPLES, describe_size, parse_size

PNG_SUFFIX = ".png"
GIF_SUFFIX = ".gif"
SEED_RANGE = click.IntRange(0, MAX_SEED)
TF_CONFIG = "TF_CONFIG"  # the environment variable that names a worker's cluster and task, as TensorFlow reads it
SPLIT_ROWS, SPLIT_FILES = "rows", "files"
SPLITS = (SPLIT_ROWS, SPLIT_FILES)
DEFAULT_TIMEOUT = 300  # seconds a collective waits for every worker
MAX_TIMEOUT = 7 * 24 * 3600  # a week, in seconds


def suffix_check(*suffixes, dash=False, special=False):
    """A click callback that accepts a path ending in one of ``suffixes`` (and ``-`` when ``dash``).

    With ``special``, a device, FIFO or ``/dev/stdout`` is accepted whatever its name.
    """

    def check(ctx, param, value):
        if value is None or (dash and str(value) == data_io.STDIN):
            return value
        if special and data_io.is_special_output(value):
            return value
        if Path(value).suffix.lower() not in suffixes:
            allowed = " or ".join([*suffixes, "-"] if dash else suffixes)
            raise click.BadParameter(f"{str(value)!r} should end in {allowed}")
        return value

    return check


def finite(ctx, param, value):
    """A click callback that refuses NaN and infinity (click's FloatRange lets NaN through)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number")
    return value


def is_file(value, param_hint=None):
    """Tell whether ``value`` names an existing file; ``BadParameter`` when it cannot be looked up (a name too long)."""
    try:
        return Path(value).is_file()
    except OSError as error:
        raise click.BadParameter(f"cannot read {value!r}: {error.strerror or error}", param_hint=param_hint) from None


def _quiet(ctx, param, value):
    ctx.ensure_object(Console).quiet = value


def _columns(ctx, param, value):
    if value is None:
        return None
    try:
        return data_io.parse_columns(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@dataclasses.dataclass(frozen=True)
class WeightsSource:
    """Where ``--weights`` reads the rows' weights: a column of DATA (a name or index) or a file."""

    column: str | int | None = None
    file: str | None = None


def _weights(ctx, param, value):
    """Read ``--weights``: a .csv/.tsv/.npy path is a file (which must exist), anything else one column of DATA."""
    if value is None:
        return None
    prefixed = value.strip().startswith((data_io.NAME_PREFIX, data_io.INDEX_PREFIX))
    if Path(value).suffix.lower() in data_io.DATA_SUFFIXES and not prefixed:
        if not is_file(value):
            raise click.BadParameter(f"{value!r} is not a file (a column of that name is {data_io.NAME_PREFIX}{value})")
        return WeightsSource(file=value)
    try:
        columns = data_io.parse_columns(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    if len(columns) != 1:
        raise click.BadParameter(f"{value!r} names {len(columns)} columns; the weights are one column")
    return WeightsSource(column=columns[0])


def _memory_budget(ctx, param, value):
    if value is None:
        return None
    try:
        size = parse_size(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    if size < MIN_MEMORY_BUDGET:
        raise click.BadParameter(
            f"{value!r} is {size} bytes; the budget should be at least {describe_size(MIN_MEMORY_BUDGET)}"
        )
    return size


def data_seed_option(default):
    return click.option("--data-seed", type=SEED_RANGE, default=default, help="seed of the data")


def init_seed_option(default, *aliases, help="seed of the choice of initial centroids"):
    return click.option("--init-seed", *aliases, "init_seed", type=SEED_RANGE, default=default, help=help)


def clusters_option(default, help="number of clusters"):
    return click.option("-k", "--clusters", type=click.IntRange(1), default=default, help=help)


def lesson_data_options(lesson):
    """The lesson's ``create_samples`` arguments as options, with the constants of the ``lesson`` module as defaults."""
    return _stacked(
        [
            clusters_option(lesson.n_clusters),
            click.option(
                "--samples-per-cluster",
                type=click.IntRange(1),
                default=lesson.n_samples_per_cluster,
                help="samples drawn around each centroid",
            ),
            click.option(
                "--features", type=click.IntRange(1), default=lesson.n_features, help="dimensions of each sample"
            ),
            click.option(
                "--embiggen-factor",
                type=click.FloatRange(0),
                callback=finite,
                default=lesson.embiggen_factor,
                help="spread of the true centroids",
            ),
            data_seed_option(lesson.seed),
        ]
    )


def _stacked(options):
    """A decorator that adds ``options`` to a command, in this order in its help."""

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _picture_option(name, suffix, help):
    """An option naming a picture file to write, which should end in ``suffix``."""
    return click.option(name, type=click.Path(dir_okay=False, path_type=Path), callback=suffix_check(suffix), help=help)


def folder_option(name, help):
    """An option naming a folder (DIR) to write in, which need not exist yet."""
    return click.option(name, type=click.Path(file_okay=False, path_type=Path), metavar="DIR", help=help)


columns_option = click.option(
    "--columns",
    callback=_columns,
    metavar="COLUMNS",
    help="use only these columns, comma-separated, each once: header names or 0-based indices (e.g. x,y or "
    "0,2); name:2020 is the column named 2020, index:2 the third column; a bare number is an index unless "
    "the header names a column so (then it is that column if there is no such index, and refused as "
    "ambiguous otherwise)",
)
header_option = click.option(
    "--header/--no-header",
    default=None,
    help="whether the first row of a .csv/.tsv holds column names [default: detected: a header when any cell "
    "of the first row is text]",
)
weights_option = click.option(
    "--weights",
    callback=_weights,
    metavar="COLUMN|FILE",
    help="weigh the rows (each weight finite and >= 0, not all 0; a row of weight 2 counts as the row twice): "
    "a column of DATA, picked by name or 0-based index as --columns picks one, which is then excluded from "
    "the features; or a .csv, .tsv or .npy file of one weight per row, in the rows' order (a .csv of one "
    "column, header optional)",
)
plot_option = _picture_option("--plot", PNG_SUFFIX, "draw the result as a PNG picture here")
trajectory_option = _picture_option(
    "--trajectory", PNG_SUFFIX, "draw each centroid's path over the iterations, and the cost, as a PNG here"
)
animate_option = _picture_option(
    "--animate", GIF_SUFFIX, "write the iterations as an animated GIF here, one frame per iteration"
)
n_init_option = click.option(
    "--n-init",
    type=click.IntRange(1),
    default=DEFAULT_N_INIT,
    help="runs from different initial centroids; the lowest inertia wins",
)
init_rounds_option = click.option(
    "--init-rounds",
    type=click.IntRange(1),
    default=DEFAULT_INIT_ROUNDS,
    help=f"sampling rounds of --init {KMEANS_PARALLEL_INIT!r}, one pass over the data each (about 2k candidates a "
    f"round)",
)
METRIC_HELP = f"{COSINE} clusters rows by direction (spherical k-means: rows scaled to unit length, 1 - cosine)"


def metric_option(default=DEFAULT_METRIC, help=f"how rows are compared: {METRIC_HELP}"):
    """``--metric``, one of ``METRICS`` (``default`` None: the one a centroids file records)."""
    return click.option("--metric", type=click.Choice(METRICS), default=default, help=help)


force_option = click.option("--force", is_flag=True, help="replace output files that already exist")
quiet_option = click.option(
    "-q", "--quiet", is_flag=True, expose_value=False, callback=_quiet, help="no progress bar and no notes on stderr"
)


class DataPath(click.Path):
    """DATA's type: an existing file or folder, ``-``, or a quoted glob of TFRecord files (read when the data are)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and is_glob(value) and not os.path.lexists(value):
            return value
        return super().convert(value, param, ctx)


data_argument = click.argument("data", type=DataPath(exists=True, allow_dash=True, path_type=str))
feature_option = click.option(
    "--feature",
    metavar="NAME",
    help="for TFRecord DATA (.tfrecord/.tfrecords files, GZIP or not; a quoted glob or a folder of them): the "
    "float-list feature of each tf.train.Example that holds its row, of one length in every record",
)
n_features_option = click.option(
    "--n-features",
    type=click.IntRange(1),
    default=None,
    help="for svmlight DATA (.svm, .svmlight, .libsvm): its number of columns [default: its largest index + 1]",
)
batch_size_option = click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=None,
    help="rows per chunk of the distance computation on TensorFlow's ops "
    "(the C kernel needs none) [default: sized to a 4 MiB block]",
)
labels_out_option = click.option(
    "--labels-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write the labels here: one per line, or an int32 array if it ends in .npy (default: stdout, one per line)",
)
memory_budget_option = click.option(
    "--memory-budget",
    callback=_memory_budget,
    metavar="SIZE",
    help=f"memory for the chunks and labels of data streamed from disk, e.g. {SIZE_EXAMPLES}; labels beyond it go "
    f"to a scratch file, and a text file beyond it is refused [default: a quarter of physical memory]",
)


# --workers, --worker-index, --split and --timeout (kmeans_tf.cli.workers reads them).
worker_options = _stacked(
    [
        click.option(
            "--workers",
            metavar="HOST:PORT,...",
            help=f"fit on several workers, one process each, these addresses in index order (or "
            f"{TF_CONFIG} in the environment); every worker runs the same command",
        ),
        click.option("--worker-index", type=click.IntRange(0), help="this worker's index in --workers (0: the first)"),
        click.option(
            "--split",
            type=click.Choice(SPLITS),
            default=SPLIT_ROWS,
            help="rows: each worker takes a contiguous range of the rows of DATA (the same file everywhere); "
            "files: DATA is this worker's own rows",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(0, MAX_TIMEOUT, min_open=True),
            callback=finite,
            default=DEFAULT_TIMEOUT,
            metavar="SECONDS",
            help="how long a worker waits for the others to connect, and at each exchange, before it "
            "stops with an error",
        ),
    ]
)

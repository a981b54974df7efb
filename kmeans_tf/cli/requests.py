"""What ``kmeans-tf fit`` is asked to do: its options checked together, once, into one ``FitRequest``.

``fit_request`` holds every rule between options (those that exclude each other, those of
Lloyd's iterations that mini-batch k-means refuses, the workers' rules) and runs before any
output is claimed or any data read; ``with_data`` holds the rules between the options and the
data, once the data are open. The command body reads the request and checks nothing itself.
The workers' module is imported only for a fit on several workers. Nothing here imports TensorFlow.
"""

import dataclasses
import os
from pathlib import Path

import click
import numpy as np
import scipy.sparse

from kmeans_tf.cli.console import one_line
from kmeans_tf.cli.inputs import metric_record, read_centroids
from kmeans_tf.cli.options import TF_CONFIG, WeightsSource, is_file
from kmeans_tf.cli.outputs import needs_two_columns
from kmeans_tf.data_io.tables import NPY_SUFFIX
from kmeans_tf.data_io.tfrecord_files import is_tfrecord_data
from kmeans_tf.engine.options import INIT_STRATEGIES

LLOYD, MINI_BATCH = "lloyd", "mini-batch"
METHODS = (LLOYD, MINI_BATCH)
# The options that mini-batch k-means refuses: those of Lloyd's iterations, of its workers and of its checkpoints.
LLOYD_ONLY = (
    "tol",
    "algorithm",
    "batch_size",
    "trajectory",
    "workers",
    "worker_index",
    "checkpoint",
    "checkpoint_every",
)


@dataclasses.dataclass(frozen=True)
class FitRequest:
    """One ``fit`` asked for and checked: the data, the fit, the workers and the outputs.

    ``clusters`` is None until ``with_data`` reads an ``--init`` file without ``-k``; ``init`` is
    a strategy's name, or (after ``with_data``) the centroids of ``init_file``. With workers,
    ``labels_out``, ``centroids_out`` and ``saved_model`` are this worker's own (None where another writes it).
    """

    # the data
    data: str
    columns: tuple | None
    header: bool | None
    feature: str | None
    n_features: int | None
    weights: WeightsSource | None
    memory_budget: int | None
    # the fit
    method: str  # one of METHODS
    metric: str
    clusters: int | None
    init: str | np.ndarray
    init_file: str | None
    n_init: int
    init_rounds: int
    max_iter: int
    tol: float
    init_seed: int | None
    algorithm: str
    batch_size: int | None
    mini_batch: int | None
    checkpoint: Path | None
    checkpoint_every: int
    # several workers
    cluster: object  # a kmeans_tf.cli.workers.Cluster, or None: this process alone
    split: str
    timeout: float
    # the outputs
    labels_out: Path | None
    centroids_out: Path | None
    saved_model: Path | None  # the base path of a SavedModel of the centroids, written in its folder 1
    plot: Path | None
    trajectory: Path | None
    as_json: bool
    force: bool
    logdir: Path | None

    @property
    def pictures(self):
        """The picture options, name -> path or None."""
        return {"--plot": self.plot, "--trajectory": self.trajectory}

    @property
    def outputs(self):
        """Every output option, name -> path or None, as ``claim_outputs`` takes them."""
        return {"--labels-out": self.labels_out, "--centroids-out": self.centroids_out, **self.pictures}

    @property
    def weights_file(self):
        """The file of the rows' weights, or None."""
        return None if self.weights is None else self.weights.file

    @property
    def weights_column(self):
        """The column of DATA that holds the rows' weights, or None."""
        return None if self.weights is None else self.weights.column

    @property
    def inputs(self):
        """Every input option, name -> path or None, that no output may replace."""
        return {"DATA": self.data, "--init": self.init_file, "--weights": self.weights_file}

    @property
    def in_memory(self):
        """Whether the data are read into memory (pictures and mini-batch k-means need them there)."""
        return self.plot is not None or self.trajectory is not None or self.method == MINI_BATCH


def given_on_command_line():
    """Return the names of the current command's parameters that its command line gave."""
    context = click.get_current_context()
    return frozenset(
        name for name in context.params if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    )


def fit_request(given, *, workers, worker_index, **options):
    """Check ``fit``'s options together and return them as a ``FitRequest``.

    ``given`` names the options that the command line gave (a default is not refused as one
    given); the keywords are ``fit``'s parameters. Raises ``click.UsageError`` or
    ``BadParameter`` (exit status 2) for options that do not go together, and
    ``click.ClickException`` (exit status 1) for a bad workers' list or a picture with workers.
    """
    request = FitRequest(
        **options,
        method=LLOYD if options["mini_batch"] is None else MINI_BATCH,
        init_file=None if options["init"] in INIT_STRATEGIES else options["init"],
        cluster=None,
    )
    if request.method == MINI_BATCH:
        refused = [f"--{name.replace('_', '-')}" for name in LLOYD_ONLY if name in given]
        if refused:
            verb = "does" if len(refused) == 1 else "do"
            raise click.UsageError(f"{', '.join(refused)} {verb} not apply to --mini-batch")
    if request.init_file is not None and not is_file(request.init_file, "'--init'"):
        raise click.BadParameter(
            f"{request.init!r} is neither {' nor '.join(INIT_STRATEGIES)} nor an existing file", param_hint="'--init'"
        )
    if request.init_file is None and request.clusters is None:
        raise click.UsageError("Missing option '-k' / '--clusters' (needed unless --init is a file).")
    if metric_record(request.metric) is not None and _suffix(request.centroids_out) == NPY_SUFFIX:
        raise click.BadParameter(
            f"{str(request.centroids_out)!r} is a .npy file, which holds numbers alone: it cannot record "
            f"--metric {request.metric}, which predict needs to label rows alike; write a .csv or .tsv file",
            param_hint="'--centroids-out'",
        )
    if request.logdir is not None:
        from kmeans_tf.engine import tensorboard

        try:
            tensorboard.require()
        except ImportError:
            raise click.ClickException(
                f"--logdir needs TensorBoard, which is not installed: {tensorboard.INSTALL_HINT}"
            ) from None
    if workers is not None or worker_index is not None or os.environ.get(TF_CONFIG):
        request = _on_workers(request, workers, worker_index)
    return request


def _on_workers(request, workers, worker_index):
    """Check the workers' options (or ``TF_CONFIG``); return ``request`` with this worker's cluster and outputs."""
    from kmeans_tf.cli import workers as several

    if is_tfrecord_data(request.data):
        raise click.ClickException(
            f"{request.data} is TFRecord data, which one process reads; --workers reads .npy or text data"
        )
    try:
        cluster = several.check_cluster(workers, worker_index)
    except ValueError as error:
        raise click.ClickException(one_line(error)) from None
    for option, path in request.pictures.items():
        if path is not None:
            raise click.ClickException(f"{option} draws the data of one process; it cannot be given with --workers")
    return dataclasses.replace(
        request,
        cluster=cluster,
        labels_out=several.labels_path(request.labels_out, cluster),
        centroids_out=request.centroids_out if cluster.leader else None,
        saved_model=request.saved_model if cluster.leader else None,
    )


def with_data(request, data, n_samples):
    """Check ``request`` against its open ``data`` (``n_samples`` rows here); return it with ``--init``'s centroids.

    Raises ``click.ClickException`` (exit status 1), or ``BadParameter`` for a picture of
    data narrower than two columns.
    """
    needs_two_columns(request.pictures, data.shape[1], data.source)
    if scipy.sparse.issparse(data.values):
        check_sparse_request(request, data.source)
    clusters, init = request.clusters, request.init
    if request.init_file is not None:
        init = read_centroids(request.init_file, data, "--init")
        if clusters is None:
            clusters = len(init)
        elif clusters != len(init):
            raise click.ClickException(
                f"--init {request.init_file} has {len(init)} rows (centroids) "
                f"but -k/--clusters is {clusters}; they should match"
            )
    if request.cluster is None and n_samples < clusters:
        raise click.ClickException(
            f"{data.source} has {n_samples} rows, fewer than the {clusters} clusters "
            f"asked for; k-means needs at least one row per cluster"
        )
    if request.checkpoint is not None and request.cluster is None and isinstance(data.values, np.ndarray):
        raise click.ClickException(
            f"--checkpoint needs .npy data streamed from disk, or --workers; {data.source} is read into memory here"
        )
    return dataclasses.replace(request, clusters=clusters, init=init)


def check_sparse_request(request, source):
    """Refuse what sparse data (read into memory, fitted by one process, never made dense) cannot go with."""
    refused = [option for option, path in request.pictures.items() if path is not None]
    refused += ["--checkpoint"] if request.checkpoint is not None else []
    if refused:
        raise click.ClickException(
            f"{', '.join(refused)} cannot be given with sparse data ({source}): pictures draw dense rows, and a "
            f"checkpoint is for data streamed from disk"
        )


def _suffix(path):
    """The lower-case suffix of an output path, or None without a path."""
    return None if path is None else Path(path).suffix.lower()

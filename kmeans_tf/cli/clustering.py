"""The data commands: ``fit`` clusters the rows of a data file, ``predict`` labels rows with given centroids.

``fit`` reads its request (``kmeans_tf.cli.requests``: every option checked there), opens the
data, runs the method its ``METHODS`` table names, and writes the outputs. It runs in this
process alone (``SingleProcess``) or as one of several workers (``kmeans_tf.cli.workers``,
imported only then). The engine is reached through its public names (``kmeans_tf.kmeans``, ...),
whose first use imports TensorFlow, so that ``kmeans-tf --help`` answers without it.
"""

import contextlib
import dataclasses
import json
from pathlib import Path

import click
import numpy as np
import scipy.sparse

import kmeans_tf
from kmeans_tf import data_io
from kmeans_tf.cli import options
from kmeans_tf.cli.console import Command, stdout_is_terminal
from kmeans_tf.cli.inputs import centroids_metric, metric_record, open_data, read_centroids, read_weights
from kmeans_tf.cli.outputs import (
    check_checkpoint,
    check_saved_model,
    checkpoint_folder,
    claim_outputs,
    cluster_sizes,
    labels_output,
    made_folder,
    picture_output,
    print_labels,
    saved_model_output,
    table_output,
    write_outputs,
)
from kmeans_tf.cli.requests import LLOYD, MINI_BATCH, fit_request, given_on_command_line, with_data
from kmeans_tf.data_io.sparse_files import SVMLIGHT_SUFFIXES
from kmeans_tf.engine.options import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    DEFAULT_CHECKPOINT_EVERY,
    DEFAULT_INIT,
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    INIT_STRATEGIES,
    MAX_ITER_LIMIT,
)

# Past this many clusters the summary line gives the smallest and largest size, not every one.
SIZES_LISTED = 8


@click.command(cls=Command)
@options.data_argument
@options.clusters_option(None, help="number of clusters [required unless --init is a file]")
@options.columns_option
@options.feature_option
@options.n_features_option
@options.weights_option
@options.header_option
@options.metric_option()
@click.option(
    "--init",
    default=DEFAULT_INIT,
    metavar="NAME|PATH",
    help=f"how to choose the initial centroids, {' or '.join(INIT_STRATEGIES)} (quote k-means|| in a "
    f"shell), or a file of them (.csv, .tsv, .npy)",
)
@options.n_init_option
@options.init_rounds_option
@click.option(
    "--max-iter", type=click.IntRange(1, MAX_ITER_LIMIT), default=DEFAULT_MAX_ITER, help="most iterations per run"
)
@click.option(
    "--tol",
    type=click.FloatRange(0),
    default=DEFAULT_TOL,
    help="stop when the centroids move less than this (relative to the data's variance)",
)
@options.init_seed_option(None, "--seed", help="seed of the initial centroids [default: a new one each time]")
@options.labels_out_option
@click.option(
    "--centroids-out",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=options.suffix_check(*data_io.DATA_SUFFIXES, special=True),
    help="write the centroids here (.csv, .tsv or .npy; CSV into a device or pipe); a file of --metric "
    "cosine records it on its first line (# metric: cosine) for predict, and cannot be .npy",
)
@click.option(
    "--saved-model",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="write the centroids as a SavedModel in DIR/1, the version folder TensorFlow Serving reads "
    "(DIR made if missing; DIR/1 must not exist, whatever --force says)",
)
@click.option(
    "--json", "as_json", is_flag=True, help="print a summary as JSON on stdout (then labels go only to --labels-out)"
)
@click.option(
    "--algorithm",
    type=click.Choice(ALGORITHMS),
    default=DEFAULT_ALGORITHM,
    help="lloyd computes every distance; hamerly skips those that bounds prove useless; "
    "auto starts as lloyd and turns to hamerly once few labels change; elkan, scikit-learn's "
    "name for its bounded algorithm, runs hamerly (same answer)",
)
@options.batch_size_option
@options.memory_budget_option
@click.option(
    "--mini-batch",
    type=click.IntRange(1),
    metavar="ROWS",
    help="mini-batch k-means (scikit-learn's MiniBatchKMeans): steps on ROWS rows drawn at random, "
    "stopped when their inertia stops falling; a few passes over the data instead of one per "
    "iteration, for an inertia a little higher. --max-iter then counts passes; --tol, --algorithm, "
    "--batch-size and --trajectory do not apply, and .npy data are read into memory",
)
@options.plot_option
@options.trajectory_option
@options.force_option
@options.quiet_option
@options.worker_options
@options.folder_option(
    "--checkpoint",
    help="every --checkpoint-every iterations, worker 0 saves the centroids in DIR (made if missing, and "
    "removed if a failed fit leaves it empty; one folder that every worker reads); a rerun resumes "
    "there. With --workers or .npy data streamed from disk",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(1),
    default=DEFAULT_CHECKPOINT_EVERY,
    metavar="N",
    help="iterations between two checkpoints",
)
@options.folder_option(
    "--logdir",
    help="write each iteration's inertia, centroid shift, labels changed, seconds and cluster sizes for "
    "TensorBoard in DIR (run-0, run-1, ... a run), and the centroids for its projector; worker 0 writes. "
    "Needs pip install 'kmeans-tf[tensorboard]'; costs one more pass an iteration",
)
@click.pass_obj
def fit(console, **arguments):
    """Cluster the rows of DATA with k-means.

    Runs the eager TensorFlow 2 engine (kmeans_tf.kmeans). DATA is a .csv file (a
    header row is optional and detected), a .tsv or .npy file, a folder of .npy files
    (one data set, rows in file-name order), TFRecord files with --feature (a file, a
    quoted glob or a folder of them), or - for CSV on stdin. .npy and TFRecord data are
    streamed from disk, within --memory-budget (pictures read them into memory).
    The labels (0 to K-1, one per row, in the rows' order) go to --labels-out, or to
    stdout unless --json is given. With --plot and --trajectory, data wider than 2 columns
    are drawn on their first two principal components; --trajectory measures the cost of
    each iteration's centroids afterwards (one more pass over the data per iteration).
    With --weights, a row counts as its weight (as scikit-learn's sample_weight): a row of
    weight 2 as the row twice, a row of weight 0 not at all (it still gets a label).
    With --workers, one process per worker fits all their rows together (kmeans_tf.cli.workers).
    A fit that runs longer than two seconds shows its progress on stderr when stderr is a
    terminal (not with --quiet, nor with --json into a pipe): one more pass an iteration,
    for the inertia it shows.

    \b
    Example:
      kmeans-tf fit iris.csv --columns 0,1,2,3 -k 3 --init-seed 0 \\
          --labels-out labels.txt --centroids-out centroids.csv --plot iris.png
    """
    request = fit_request(given_on_command_line(), **arguments)
    processes = _processes(request)
    claim_outputs(request.outputs, force=request.force, inputs=request.inputs)
    check_saved_model("--saved-model", request.saved_model)
    check_checkpoint(request.checkpoint)
    table = open_data(
        request.data,
        columns=request.columns,
        header=request.header,
        memory_budget=request.memory_budget,
        in_memory=request.in_memory,
        weights=request.weights_column,
        feature=request.feature,
        n_features=request.n_features,
    )
    if request.cluster is not None and scipy.sparse.issparse(table.values):
        raise click.ClickException(
            f"--workers share .npy or TFRecord data; {request.data} is sparse data, which one process fits"
        )
    sample_weight = table.weights if request.weights_file is None else read_weights(request.weights_file, table)
    values, sample_weight, n_samples = processes.share(table.values, sample_weight, table.shape[0])
    console.detail(
        f"Read {n_samples} rows x {table.shape[1]} columns from {table.source}"
        + (f" (header: {', '.join(table.names)})" if table.names else " (no header)")
    )
    request = with_data(request, table, n_samples)
    from kmeans_tf import native  # the kernel's description: no public name says which kernel runs

    console.detail(f"Kernel: {native.description()}")
    method = METHODS[request.method]
    last = {}  # each run's last IterationState, for --verbose
    quiet = request.as_json and not stdout_is_terminal()  # --json into a pipe: a script reads it
    streamed = isinstance(values, (np.memmap, kmeans_tf.Shards))
    with (
        checkpoint_folder(request.checkpoint),
        console.iterations(method.steps(request, n_samples), "k-means", n_samples if streamed else None) as show,
        processes.answering(),
    ):
        strategy = processes.connect(request, table)
        show = None if quiet else show

        def record(state):
            last[state.run] = state
            if show is not None:
                show(state)

        callback = record if show is not None or console.verbose else None
        result = method.run(request, values, sample_weight, strategy, callback, console)
    for run, state in last.items():
        console.detail(
            f"Run {run + 1}/{request.n_init}: inertia {state.inertia:.6g} at its last {method.step}, "
            f"{state.iteration + 1} {method.step}s, {'converged' if state.converged else 'not converged'}"
        )
    sizes = cluster_sizes(result.labels, request.clusters)
    total_weight = float(n_samples if sample_weight is None else sample_weight.sum())
    n_samples, sizes, total_weight = processes.totals(n_samples, sizes, total_weight)
    rows = f"{n_samples} rows" + ("" if sample_weight is None else f" of total weight {total_weight:.6g}")
    console.note(
        f"k-means{_by(request.metric)}: {rows}, {table.shape[1]} columns, k={request.clusters}: "
        f"inertia {result.inertia:.6g} "
        f"after {result.n_iter} {method.counts}; {describe_sizes(sizes)}"
    )
    if not result.converged:
        click.echo(f"Warning: not converged after --max-iter {request.max_iter} iterations", err=True)
    summary = None
    if request.as_json:  # made first: a result JSON cannot hold stops before any file is written
        summary = _summary(request, table, result, n_samples, sizes, total_weight, weighted=sample_weight is not None)
    _write_outputs(request, table, result, sample_weight, console)
    if summary is not None and processes.leader:
        click.echo(summary)


@click.command(cls=Command)
@options.data_argument
@click.option(
    "--centroids",
    "centroids_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    help="the centroids (.csv, .tsv or .npy), e.g. from fit --centroids-out",
)
@options.columns_option
@options.feature_option
@options.n_features_option
@options.header_option
@options.metric_option(
    None,
    help=f"how rows are compared [default: the one the centroids file records, else euclidean]: {options.METRIC_HELP}",
)
@options.labels_out_option
@options.batch_size_option
@options.memory_budget_option
@options.force_option
@options.quiet_option
@click.pass_obj
def predict(
    console, data, centroids_file, columns, feature, n_features, header, metric, labels_out, batch_size,
    memory_budget, force,
):  # fmt: skip
    """Label each row of DATA with its nearest centroid.

    DATA is read as by fit (.csv, .tsv, .npy, a folder of .npy files, TFRecord files with
    --feature, or - for CSV on stdin); the labels, one per row in the rows' order, go to
    --labels-out or stdout. The centroids are compared by the metric their file records (fit
    --metric cosine writes it on the first line), or by --metric; a --metric that differs from
    the file's is refused.

    \b
    Example:
      kmeans-tf predict new.csv --centroids centroids.csv --labels-out new_labels.txt
    """
    claim_outputs({"--labels-out": labels_out}, force=force, inputs={"DATA": data, "--centroids": centroids_file})
    metric = centroids_metric(centroids_file, metric)
    if n_features is None and Path(data).suffix.lower() in SVMLIGHT_SUFFIXES:  # as wide as the centroids
        n_features = read_centroids(centroids_file, None, "--centroids").shape[1]
    table = open_data(
        data, columns=columns, header=header, memory_budget=memory_budget, feature=feature, n_features=n_features
    )
    centroids = read_centroids(centroids_file, table, "--centroids")
    labels = kmeans_tf.predict(
        table.values, centroids, metric=metric, batch_size=batch_size, memory_budget=memory_budget
    )
    console.note(f"{len(labels)} rows labelled with the nearest of {len(centroids)} centroids{_by(metric)}")
    write_outputs([labels_output(labels_out, labels)], console)
    if labels_out is None:
        print_labels(labels)


class SingleProcess:
    """A fit in this process alone: all the rows, no strategy, nothing to exchange.

    ``kmeans_tf.cli.workers.Workers`` has the same methods for one worker of several.
    """

    leader = True  # writes --centroids-out and prints --json

    def share(self, values, weights, n_rows):
        """Return the rows to fit (all ``n_rows`` of ``values``), their weights and how many they are."""
        return values, weights, n_rows

    def connect(self, request, table):
        """Return the strategy to run ``request`` on ``table``: none."""
        return None

    def answering(self):
        """Wrap a step that would wait for other workers: nothing to wait for."""
        return contextlib.nullcontext()

    def totals(self, n_samples, sizes, total_weight):
        """Return the row count, cluster sizes and total weight of every process's rows: this one's."""
        return n_samples, sizes, total_weight


def _processes(request):
    """Return this process alone, or this worker's part of a fit on several (the workers' code imported only then)."""
    if request.cluster is None:
        return SingleProcess()
    from kmeans_tf.cli import workers

    workers.quiet_logging(request.cluster)  # before anything imports TensorFlow
    return workers.Workers(request.cluster, request.split, request.timeout)


def _lloyd(request, values, sample_weight, strategy, callback, console):
    """Run Lloyd's k-means (``kmeans_tf.kmeans``): in memory, streamed from disk, or on this worker's rows."""
    return kmeans_tf.kmeans(
        values,
        request.clusters,
        **_both_methods(request, sample_weight),
        tol=request.tol,
        algorithm=request.algorithm,
        batch_size=request.batch_size,
        callback=callback,
        log_dir=request.logdir,
        keep_history=request.trajectory is not None,
        memory_budget=request.memory_budget,
        strategy=strategy,
        checkpoint=request.checkpoint,
        checkpoint_every=request.checkpoint_every,
    )


def _mini_batch(request, values, sample_weight, strategy, callback, console):
    """Run mini-batch k-means (``kmeans_tf.minibatch_kmeans``) on data in memory, in this process alone."""
    result = kmeans_tf.minibatch_kmeans(
        values,
        request.clusters,
        **_both_methods(request, sample_weight),
        batch_size=request.mini_batch,
        callback=callback,
        log_dir=request.logdir,
    )
    console.detail(f"Mini-batch k-means: {result.n_steps} steps of {min(request.mini_batch, values.shape[0])} rows")
    return result


def _both_methods(request, sample_weight):
    """Return the engine's keywords that both methods take from the request alike."""
    return {
        "metric": request.metric,
        "init": request.init,
        "n_init": request.n_init,
        "max_iter": request.max_iter,
        "seed": request.init_seed,
        "init_rounds": request.init_rounds,
        "sample_weight": sample_weight,
    }


def _lloyd_steps(request, n_samples):
    """The most iterations of a Lloyd run."""
    return request.max_iter


def _mini_batch_steps(request, n_samples):
    """The most steps of a mini-batch run: ``--max-iter`` passes of batches."""
    return request.max_iter * n_samples // min(request.mini_batch, n_samples)


@dataclasses.dataclass(frozen=True)
class Method:
    """A method of ``fit``: the function that runs it, what its result's ``n_iter`` counts, and its steps.

    ``run(request, values, sample_weight, strategy, callback, console)`` returns the engine's result;
    ``callback`` is called with each step's ``IterationState`` (``step`` names one), of which a run
    makes ``steps(request, n_samples)`` at the most.
    """

    run: object
    counts: str
    step: str
    steps: object


METHODS = {
    LLOYD: Method(_lloyd, "iterations", "iteration", _lloyd_steps),
    MINI_BATCH: Method(_mini_batch, "passes", "step", _mini_batch_steps),
}


def _write_outputs(request, table, result, sample_weight, console):
    """Write the files that ``request`` asks for, all or none; then the labels on stdout unless written or --json."""

    def trajectory():
        from kmeans_tf.figures import project_2d, trajectory_figure

        costs = [
            kmeans_tf.inertia(table.values, centroids, metric=request.metric, sample_weight=sample_weight)
            for centroids in result.centroid_history[1:]
        ]
        points, path = project_2d(table.values, result.centroid_history)
        return trajectory_figure(points, path, costs, result.labels)

    with made_folder("--saved-model", request.saved_model):
        write_outputs(
            [
                labels_output(request.labels_out, result.labels),
                table_output(
                    request.centroids_out,
                    result.centroids,
                    "Centroids",
                    names=table.names,
                    comment=metric_record(request.metric),
                ),
                picture_output(request.plot, lambda: _fit_figure(table, result)),
                picture_output(request.trajectory, trajectory),
                saved_model_output(request.saved_model, result.centroids, request.metric),
            ],
            console,
        )
    if request.labels_out is None and not request.as_json:
        print_labels(result.labels)


def _by(metric):
    """What a note says of the metric: nothing for the default one."""
    return "" if metric_record(metric) is None else f" (by {metric})"


def describe_sizes(sizes):
    """Say how many rows each cluster got: every size for a few clusters, else the range and the empty ones."""
    if len(sizes) <= SIZES_LISTED:
        return f"cluster sizes {', '.join(map(str, sizes))}"
    empty = int(np.count_nonzero(sizes == 0))
    return f"cluster sizes {sizes.min()} to {sizes.max()} over {len(sizes)} clusters" + (
        f", {empty} empty" if empty else ""
    )


def _summary(request, table, result, n_samples, sizes, total_weight, *, weighted):
    """Return the ``--json`` summary of a fit (of every worker's rows); ValueError if the result has NaN."""
    return json.dumps(
        {
            "n_samples": n_samples,
            "n_features": table.shape[1],
            "columns": table.names,
            "k": request.clusters,
            "metric": request.metric,
            "n_iter": result.n_iter,
            "converged": result.converged,
            "inertia": result.inertia,
            "centroids": _shortest(result.centroids),
            "cluster_sizes": sizes.tolist(),
            "weighted": weighted,
            "total_weight": total_weight,
        },
        indent=2,
        allow_nan=False,
    )


def _shortest(values):
    """Return nested lists of Python floats that print like ``values``' own dtype (no float32 noise)."""
    return [[float(str(value)) for value in row] for row in np.asarray(values)]


def _fit_figure(table, result):
    """Draw the clustered data (on the first two principal components when wider than 2 columns)."""
    from functions import plot_clusters
    from kmeans_tf.figures import project_2d

    samples, centroids = project_2d(table.values, result.centroids)
    if table.values.shape[1] == 2:
        axis_names = table.names or ("column 1", "column 2")
        title = f"k-means, k={len(centroids)}"
    else:
        axis_names = ("first principal component", "second principal component")
        title = f"k-means, k={len(centroids)}, on {table.values.shape[1]} columns"
    figure = plot_clusters(samples, centroids, None, labels=result.labels, title=title)
    axes = figure.axes[0]
    axes.set_xlabel(axis_names[0])
    axes.set_ylabel(axis_names[1])
    return figure

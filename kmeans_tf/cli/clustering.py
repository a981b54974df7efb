"""The data commands: ``fit`` clusters the rows of a data file, ``predict`` labels rows with given centroids.

Both run the eager engine (``kmeans_tf``), imported inside the command, so that
``kmeans-tf --help`` answers without importing TensorFlow.
"""

import json
from pathlib import Path

import click
import numpy as np

from kmeans_tf import data_io
from kmeans_tf.cli import workers as several
from kmeans_tf.cli.console import Command
from kmeans_tf.cli.inputs import open_data
from kmeans_tf.cli.options import (
    batch_size_option,
    clusters_option,
    columns_option,
    data_argument,
    force_option,
    header_option,
    init_rounds_option,
    init_seed_option,
    labels_out_option,
    memory_budget_option,
    n_init_option,
    plot_option,
    quiet_option,
    suffix_check,
    trajectory_option,
    weights_option,
)
from kmeans_tf.cli.outputs import (
    checkpoint_folder,
    claim_outputs,
    cluster_sizes,
    needs_two_columns,
    save_plot,
    write_labels,
)
from kmeans_tf.engine.options import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    DEFAULT_INIT,
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    INIT_STRATEGIES,
    MAX_ITER_LIMIT,
)

# Past this many clusters the summary line gives the smallest and largest size, not every one.
SIZES_LISTED = 8


@click.command(cls=Command)
@data_argument
@clusters_option(None, help="number of clusters [required unless --init is a file]")
@columns_option
@weights_option
@header_option
@click.option(
    "--init",
    default=DEFAULT_INIT,
    show_default=True,
    metavar="NAME|PATH",
    help=f"how to choose the initial centroids, {' or '.join(INIT_STRATEGIES)} (quote k-means|| in a "
    f"shell), or a file of them (.csv, .tsv, .npy)",
)
@n_init_option
@init_rounds_option
@click.option(
    "--max-iter",
    type=click.IntRange(1, MAX_ITER_LIMIT),
    default=DEFAULT_MAX_ITER,
    show_default=True,
    help="most iterations per run",
)
@click.option(
    "--tol",
    type=click.FloatRange(0),
    default=DEFAULT_TOL,
    show_default=True,
    help="stop when the centroids move less than this (relative to the data's variance)",
)
@init_seed_option(None, "--seed", help="seed of the initial centroids [default: a new one each time]")
@labels_out_option
@click.option(
    "--centroids-out",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=suffix_check(*data_io.DATA_SUFFIXES, special=True),
    help="write the centroids here (.csv, .tsv or .npy; CSV into a device or pipe)",
)
@click.option(
    "--json", "as_json", is_flag=True, help="print a summary as JSON on stdout (then labels go only to --labels-out)"
)
@click.option(
    "--algorithm",
    type=click.Choice(ALGORITHMS),
    default=DEFAULT_ALGORITHM,
    show_default=True,
    help="lloyd computes every distance; hamerly skips those that bounds prove useless; "
    "auto starts as lloyd and turns to hamerly once few labels change (same answer)",
)
@batch_size_option
@memory_budget_option
@click.option(
    "--mini-batch",
    type=click.IntRange(1),
    metavar="ROWS",
    help="mini-batch k-means (scikit-learn's MiniBatchKMeans): steps on ROWS rows drawn at random, "
    "stopped when their inertia stops falling; a few passes over the data instead of one per "
    "iteration, for an inertia a little higher. --max-iter then counts passes; --tol, --algorithm, "
    "--batch-size and --trajectory do not apply, and .npy data are read into memory",
)
@plot_option
@trajectory_option
@force_option
@quiet_option
@several.worker_options
@click.option(
    "--checkpoint",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="every --checkpoint-every iterations, worker 0 saves the centroids in DIR (made if missing, and "
    "removed if a failed fit leaves it empty; one folder that every worker reads); a rerun resumes "
    "there. With --workers or .npy data streamed from disk",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    metavar="N",
    help="iterations between two checkpoints",
)
@click.pass_obj
def fit(
    console,
    data,
    clusters,
    columns,
    weights,
    header,
    init,
    n_init,
    init_rounds,
    max_iter,
    tol,
    init_seed,
    labels_out,
    centroids_out,
    as_json,
    algorithm,
    batch_size,
    mini_batch,
    memory_budget,
    plot,
    trajectory,
    force,
    workers,
    worker_index,
    split,
    timeout,
    checkpoint,
    checkpoint_every,
):
    """Cluster the rows of DATA with k-means.

    Runs the eager TensorFlow 2 engine (kmeans_tf.kmeans). DATA is a .csv file (a
    header row is optional and detected), a .tsv or .npy file, a folder of .npy files
    (one data set, rows in file-name order), or - for CSV on stdin. .npy data are
    streamed from disk, within --memory-budget (pictures read them into memory).
    The labels (0 to K-1, one per row, in the rows' order) go to --labels-out, or to
    stdout unless --json is given. With --plot and --trajectory, data wider than 2 columns
    are drawn on their first two principal components; --trajectory measures the cost of
    each iteration's centroids afterwards (one more pass over the data per iteration).
    With --weights, a row counts as its weight (as scikit-learn's sample_weight): a row of
    weight 2 as the row twice, a row of weight 0 not at all (it still gets a label).
    With --workers, one process per worker fits all their rows together (kmeans_tf.cli.workers).

    \b
    Example:
      kmeans-tf fit iris.csv --columns 0,1,2,3 -k 3 --init-seed 0 \\
          --labels-out labels.txt --centroids-out centroids.csv --plot iris.png
    """
    if mini_batch is not None:
        refuse_with_mini_batch(
            "tol", "algorithm", "batch_size", "trajectory", "workers", "worker_index", "checkpoint", "checkpoint_every"
        )
    init_file = None if init in INIT_STRATEGIES else init
    if init_file is not None and not Path(init_file).is_file():
        raise click.BadParameter(
            f"{init!r} is neither {' nor '.join(INIT_STRATEGIES)} nor an existing file", param_hint="'--init'"
        )
    pictures = {"--plot": plot, "--trajectory": trajectory}
    cluster = several.check_cluster(workers, worker_index)
    several.quiet_logging(cluster)
    labels_out, centroids_out = several.outputs(cluster, labels_out, centroids_out, pictures)
    weights_file = weights.file if weights is not None else None
    claim_outputs(
        {"--labels-out": labels_out, "--centroids-out": centroids_out, **pictures},
        force=force,
        inputs={"DATA": data, "--init": init_file, "--weights": weights_file},
    )
    table = open_data(
        data,
        columns=columns,
        header=header,
        memory_budget=memory_budget,
        in_memory=plot is not None or trajectory is not None or mini_batch is not None,
        weights=weights.column if weights is not None else None,
    )
    n_samples, n_features = table.shape
    sample_weight = table.weights if weights_file is None else _read_weights(weights_file, n_samples, table)
    values, sample_weight = several.rows_of(table.values, sample_weight, cluster, split)
    n_samples = several.n_rows_of(values)
    console.detail(
        f"Read {n_samples} rows x {n_features} columns from {table.source}"
        + (f" (header: {', '.join(table.names)})" if table.names else " (no header)")
    )
    needs_two_columns(pictures, n_features, table.source)
    if init_file is not None:
        init = _read_centroids(init_file, n_features, table, "--init")
        if clusters is None:
            clusters = len(init)
        elif clusters != len(init):
            raise click.ClickException(
                f"--init {init_file} has {len(init)} rows (centroids) "
                f"but -k/--clusters is {clusters}; they should match"
            )
    elif clusters is None:
        raise click.UsageError("Missing option '-k' / '--clusters' (needed unless --init is a file).")
    if cluster is None and n_samples < clusters:
        raise click.ClickException(
            f"{table.source} has {n_samples} rows, fewer than the {clusters} clusters "
            f"asked for; k-means needs at least one row per cluster"
        )

    if checkpoint is not None and cluster is None and isinstance(table.values, np.ndarray):
        raise click.ClickException(
            f"--checkpoint needs .npy data streamed from disk, or --workers; {table.source} is read into memory here"
        )
    import kmeans_tf
    from kmeans_tf import native
    from kmeans_tf.figures import project_2d, trajectory_figure

    console.detail(f"Kernel: {native.description()}")
    runs = []
    with (
        checkpoint_folder(checkpoint),
        console.progress(n_init, "k-means") as advance,
        several.peers_answering(cluster, timeout),
    ):
        strategy = several.make_strategy(cluster, timeout)

        def record(run, result):
            runs.append(result)
            advance()

        if mini_batch is None:
            result = kmeans_tf.kmeans(
                values,
                clusters,
                init=init,
                n_init=n_init,
                max_iter=max_iter,
                tol=tol,
                seed=init_seed,
                algorithm=algorithm,
                batch_size=batch_size,
                callback=record,
                keep_history=trajectory is not None,
                init_rounds=init_rounds,
                sample_weight=sample_weight,
                memory_budget=memory_budget,
                strategy=strategy,
                checkpoint=checkpoint,
                checkpoint_every=checkpoint_every,
            )
        else:
            result = kmeans_tf.minibatch_kmeans(
                values,
                clusters,
                batch_size=mini_batch,
                init=init,
                n_init=n_init,
                max_iter=max_iter,
                seed=init_seed,
                init_rounds=init_rounds,
                sample_weight=sample_weight,
            )
            console.detail(f"Mini-batch k-means: {result.n_steps} steps of {min(mini_batch, n_samples)} rows")
    for run, each in enumerate(runs, start=1):
        console.detail(
            f"Run {run}/{n_init}: inertia {each.inertia:.6g}, {each.n_iter} iterations, "
            f"{'converged' if each.converged else 'not converged'}"
        )

    sizes = cluster_sizes(result.labels, clusters)
    total_weight = float(n_samples if sample_weight is None else sample_weight.sum())
    with several.peers_answering(cluster, timeout):
        n_samples, sizes, total_weight = several.totals(strategy, n_samples, sizes, total_weight)
    rows = f"{n_samples} rows" + ("" if sample_weight is None else f" of total weight {total_weight:.6g}")
    console.note(
        f"k-means: {rows}, {n_features} columns, k={clusters}: inertia {result.inertia:.6g} "
        f"after {result.n_iter} {'iterations' if mini_batch is None else 'passes'}; {describe_sizes(sizes)}"
    )
    if not result.converged:
        click.echo(f"Warning: not converged after --max-iter {max_iter} iterations", err=True)
    summary = None
    if as_json:  # made first: a result JSON cannot hold stops before any file is written
        summary = json.dumps(
            {
                "n_samples": n_samples,
                "n_features": n_features,
                "columns": table.names,
                "k": clusters,
                "n_iter": result.n_iter,
                "converged": result.converged,
                "inertia": result.inertia,
                "centroids": _shortest(result.centroids),
                "cluster_sizes": sizes.tolist(),
                "weighted": sample_weight is not None,
                "total_weight": total_weight,
            },
            indent=2,
            allow_nan=False,
        )
    if labels_out is not None or not as_json:
        write_labels(labels_out, result.labels, console)
    if centroids_out is not None:
        data_io.write_table(centroids_out, result.centroids, names=table.names, overwrite=True)
        console.note(f"Centroids written to {centroids_out}")
    if plot is not None:
        save_plot(_fit_figure(table, result), plot, console)
    if trajectory is not None:
        costs = [
            kmeans_tf.inertia(table.values, centroids, sample_weight=sample_weight)
            for centroids in result.centroid_history[1:]
        ]
        points, path = project_2d(table.values, result.centroid_history)
        save_plot(trajectory_figure(points, path, costs, result.labels), trajectory, console)
    if summary is not None and (cluster is None or cluster.leader):
        click.echo(summary)


@click.command(cls=Command)
@data_argument
@click.option(
    "--centroids",
    "centroids_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    help="the centroids (.csv, .tsv or .npy), e.g. from fit --centroids-out",
)
@columns_option
@header_option
@labels_out_option
@batch_size_option
@memory_budget_option
@force_option
@quiet_option
@click.pass_obj
def predict(console, data, centroids_file, columns, header, labels_out, batch_size, memory_budget, force):
    """Label each row of DATA with its nearest centroid.

    DATA is read as by fit (.csv, .tsv, .npy, a folder of .npy files, or - for CSV on
    stdin); the labels, one per row in the rows' order, go to --labels-out or stdout.

    \b
    Example:
      kmeans-tf predict new.csv --centroids centroids.csv --labels-out new_labels.txt
    """
    claim_outputs({"--labels-out": labels_out}, force=force, inputs={"DATA": data, "--centroids": centroids_file})
    table = open_data(data, columns=columns, header=header, memory_budget=memory_budget)
    centroids = _read_centroids(centroids_file, table.shape[1], table, "--centroids")

    import kmeans_tf

    labels = kmeans_tf.predict(table.values, centroids, batch_size=batch_size, memory_budget=memory_budget)
    console.note(f"{len(labels)} rows labelled with the nearest of {len(centroids)} centroids")
    write_labels(labels_out, labels, console)


def refuse_with_mini_batch(*names):
    """Raise a usage error naming the options among ``names`` that the command line gave along with --mini-batch."""
    context = click.get_current_context()
    given = [
        f"--{name.replace('_', '-')}"
        for name in names
        if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    ]
    if given:
        raise click.UsageError(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply to --mini-batch")


def describe_sizes(sizes):
    """Say how many rows each cluster got: every size for a few clusters, else the range and the empty ones."""
    if len(sizes) <= SIZES_LISTED:
        return f"cluster sizes {', '.join(map(str, sizes))}"
    empty = int(np.count_nonzero(sizes == 0))
    return f"cluster sizes {sizes.min()} to {sizes.max()} over {len(sizes)} clusters" + (
        f", {empty} empty" if empty else ""
    )


def _read_weights(path, n_samples, table):
    """Read a --weights file and check that it has one weight per row of the data."""
    weights = data_io.read_weights(path)
    if len(weights) != n_samples:
        raise click.ClickException(
            f"--weights {path} has {len(weights)} weights but {table.source} has "
            f"{n_samples} rows; give one weight per row"
        )
    return weights


def _read_centroids(path, n_features, table, option):
    """Read an init or centroids file and check its width against the data's."""
    centroids = data_io.read_table(path)
    width = centroids.values.shape[1]
    if width != n_features:
        raise click.ClickException(
            f"{option} {path} has {width} columns but the data ({table.source}, "
            f"columns used) have {n_features}; they should match"
        )
    return centroids.values


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

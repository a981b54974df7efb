"""The ``kmeans-tf`` command line: the lessons, and k-means on your own data.

``generate``, ``iterate`` and ``gd`` run the lesson scripts' ``main()`` with options for
their constants; ``fit`` and ``predict`` run the eager engine (``compat.eager``) on a data
file. TensorFlow, matplotlib and the lesson modules are imported inside the commands, so
``kmeans-tf --help`` answers at once.

Bad input ends in one line ``Error: ...`` and a non-zero exit (2 for click's usage errors):
library ``ValueError`` and ``OSError`` become ``click.ClickException`` in ``_Command``.
"""
import contextlib
import dataclasses
import json
import os
import sys
import traceback
from pathlib import Path

import click
import numpy as np

from compat import __version__, data_io

# The lessons' constants (generate_samples.py, kmeans_iterate.py, gd_kmeans.py), repeated so
# that --help can show them without importing TensorFlow; tests/test_cli.py checks they agree.
LESSON_CLUSTERS = 3
LESSON_SAMPLES_PER_CLUSTER = 500
LESSON_FEATURES = 2
LESSON_EMBIGGEN_FACTOR = 70
LESSON_SEED = 700
LESSON_CENTROID_SEED = 7
LESSON_ITERATIONS = 10
GD_CLUSTERS = 3
GD_LEARNING_RATE = 0.001
GD_STEPS = 100
GD_INIT_SEED = 0
GD_REPORT_EVERY = 10
# compat.eager's strategy names, for the same reason.
RANDOM_INIT = "random"
KMEANS_PLUSPLUS_INIT = "k-means++"
INIT_STRATEGIES = (RANDOM_INIT, KMEANS_PLUSPLUS_INIT)
ALGORITHMS = ("auto", "lloyd", "hamerly")
PNG_SUFFIX = ".png"


@dataclasses.dataclass
class _Console:
    """Where a command's messages go: stderr, less of it with ``--quiet``, more with ``--verbose``."""

    verbose: bool = False
    quiet: bool = False

    def note(self, message):
        """Tell the user what happened (a file written, a summary), unless ``--quiet``."""
        if not self.quiet:
            click.echo(message, err=True)

    def detail(self, message):
        """Say more, with ``--verbose`` (and not ``--quiet``)."""
        if self.verbose and not self.quiet:
            click.echo(message, err=True)

    @contextlib.contextmanager
    def progress(self, length, label):
        """Yield a function to call after each step: a progress bar when stderr is a terminal."""
        if self.quiet or not _stderr_is_terminal():
            yield lambda: None
            return
        with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
            yield lambda: bar.update(1)


def _stderr_is_terminal():
    return sys.stderr.isatty()


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


class _Command(click.Command):
    """A command whose expected failures (bad values, unreadable files) end in one ``Error:`` line."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (ValueError, OSError) as error:
            raise click.ClickException(_one_line(error)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:  # a bug, not bad input: still one line, unless --verbose
            if ctx.ensure_object(_Console).verbose:
                traceback.print_exc()
            raise click.ClickException(f"internal error: {type(error).__name__}: {_one_line(error)} "
                                       f"(--verbose shows the traceback)") from None


class _Group(click.Group):
    command_class = _Command


# ---------------------------------------------------------------------------
# Options shared by several commands
# ---------------------------------------------------------------------------

def _suffix_check(*suffixes, dash=False):
    """A click callback that accepts a path ending in one of ``suffixes`` (and ``-`` when ``dash``)."""
    def check(ctx, param, value):
        if value is None or (dash and str(value) == data_io.STDIN):
            return value
        if Path(value).suffix.lower() not in suffixes:
            allowed = " or ".join([*suffixes, "-"] if dash else suffixes)
            raise click.BadParameter(f"{str(value)!r} should end in {allowed}")
        return value
    return check


def _quiet(ctx, param, value):
    ctx.ensure_object(_Console).quiet = value


def seed_option(default, help):
    return click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=default,
                        show_default=default is not None, help=help)


def clusters_option(default, help="number of clusters"):
    return click.option("-k", "--clusters", type=click.IntRange(1), default=default,
                        show_default=default is not None, help=help)


def columns_option(function):
    return click.option("--columns", callback=_parse_columns, metavar="COLUMNS",
                        help="use only these columns: header names or 0-based indices, "
                             "comma-separated (e.g. x,y or 0,2)")(function)


plot_option = click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
                           callback=_suffix_check(PNG_SUFFIX), help="draw the result as a PNG picture here")
force_option = click.option("--force", is_flag=True, help="replace output files that already exist")
quiet_option = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_quiet,
                            help="no progress bar and no notes on stderr")
data_argument = click.argument("data", type=click.Path(exists=True, dir_okay=False, allow_dash=True,
                                                       path_type=str))
batch_size_option = click.option("--batch-size", type=click.IntRange(1), default=None,
                                 help="rows per chunk of the distance computation on TensorFlow's ops "
                                      "(the C kernel needs none) [default: sized to a 4 MiB block]")
labels_out_option = click.option("--labels-out", type=click.Path(dir_okay=False, path_type=Path),
                                  help="write the labels here, one per line (default: stdout)")


def lesson_data_options(function):
    """The lesson's ``create_samples`` constants, as options."""
    for option in reversed([
        clusters_option(LESSON_CLUSTERS),
        click.option("--samples-per-cluster", type=click.IntRange(1), default=LESSON_SAMPLES_PER_CLUSTER,
                     show_default=True, help="samples drawn around each centroid"),
        click.option("--features", type=click.IntRange(1), default=LESSON_FEATURES, show_default=True,
                     help="dimensions of each sample"),
        click.option("--embiggen-factor", type=click.FloatRange(0), default=LESSON_EMBIGGEN_FACTOR,
                     show_default=True, help="spread of the true centroids"),
        seed_option(LESSON_SEED, "seed of the samples and their true centroids"),
    ]):
        function = option(function)
    return function


def _parse_columns(ctx, param, value):
    if value is None:
        return None
    try:
        return data_io.parse_columns(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


# ---------------------------------------------------------------------------
# Helpers of the commands
# ---------------------------------------------------------------------------

def _same_file(a, b):
    a, b = Path(a), Path(b)
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _claim_outputs(outputs, *, force, inputs=None):
    """Check the output paths before any work, so that nothing given is lost.

    ``outputs`` and ``inputs`` map an option's name to its path (or None). An output must
    be in an existing folder, differ from every input and from the other outputs, and be
    new unless ``force``.
    """
    inputs = {name: path for name, path in (inputs or {}).items() if path not in (None, data_io.STDIN)}
    claimed = {}
    for option, path in outputs.items():
        if path is None or str(path) == data_io.STDIN:
            continue
        data_io.check_output(path, overwrite=True)
        for name, given in {**inputs, **claimed}.items():
            if _same_file(path, given):
                raise click.ClickException(f"{option} {path} is also {name}; write it somewhere else")
        if Path(path).exists() and not force:
            raise click.ClickException(f"{option} {path} already exists; --force replaces it")
        claimed[option] = path


def _write_labels(path, labels, console):
    """Write labels to ``path``, or to stdout when ``path`` is None."""
    if path is None:
        click.echo(data_io.format_labels(labels), nl=False)
    else:
        data_io.write_labels(path, labels, overwrite=True)
        console.note(f"Labels written to {path}")


def _save_plot(figure, path, console):
    from compat.figures import save_figure

    save_figure(figure, path)
    console.note(f"Picture written to {path}")


def _needs_two_columns(plot, n_columns, what):
    if plot is not None and n_columns < 2:
        raise click.BadParameter(f"a picture needs at least 2 columns, {what} has {n_columns}",
                                 param_hint="'--plot'")


def _project_2d(samples, centroids):
    """Return samples and centroids on the data's first two principal components (numpy SVD)."""
    mean = samples.mean(axis=0)
    _, _, components = np.linalg.svd(samples - mean, full_matrices=False)
    axes = np.zeros((samples.shape[1], 2))
    axes[:, :len(components[:2])] = components[:2].T  # a single row has one component
    return (samples - mean) @ axes, (centroids - mean) @ axes


def _shortest(values):
    """Return nested lists of Python floats that print like ``values``' own dtype (no float32 noise)."""
    return [[float(str(value)) for value in row] for row in np.asarray(values)]


def _read_centroids(path, n_features, table, option):
    """Read an init or centroids file and check its width against the data's."""
    centroids = data_io.read_table(path)
    width = centroids.values.shape[1]
    if width != n_features:
        raise click.ClickException(f"{option} {path} has {width} columns but the data ({table.source}, "
                                   f"columns used) have {n_features}; they should match")
    return centroids.values


# ---------------------------------------------------------------------------
# The commands
# ---------------------------------------------------------------------------

@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="kmeans-tf")
@click.option("-v", "--verbose", is_flag=True, help="say more on stderr (and show tracebacks of bugs)")
@click.pass_context
def main(ctx, verbose):
    """The TensorFlow 1 k-means lesson on TensorFlow 2, and k-means for your own data.

    \b
    Examples:
      kmeans-tf generate --out blobs.csv
      kmeans-tf fit blobs.csv -k 3 --labels-out labels.txt --plot blobs.png
    """
    ctx.ensure_object(_Console).verbose = verbose


@main.command()
@lesson_data_options
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True, path_type=str),
              callback=_suffix_check(".csv", data_io.NPY_SUFFIX, dash=True),
              help="write the samples here (.csv or .npy; default: CSV on stdout)")
@plot_option
@force_option
@quiet_option
@click.pass_obj
def generate(console, clusters, samples_per_cluster, features, embiggen_factor, seed, out, plot, force):
    """Generate the lesson's samples around random centroids.

    Runs generate_samples.main() in TensorFlow 1 graph mode: a blob of normal noise
    around each random centroid. Rows come cluster by cluster, --samples-per-cluster
    rows each.

    \b
    Example:
      kmeans-tf generate --clusters 4 --samples-per-cluster 100 --out blobs.csv --plot blobs.png
    """
    _needs_two_columns(plot, features, "--features")
    _claim_outputs({"--out": out, "--plot": plot}, force=force)
    import generate_samples
    from functions import plot_clusters

    samples, centroids = generate_samples.main(
        n_clusters=clusters, n_samples_per_cluster=samples_per_cluster, n_features=features,
        embiggen_factor=embiggen_factor, seed=seed)
    console.detail(f"True centroids:\n{data_io.format_table(centroids)}".rstrip())
    if out is None or out == data_io.STDIN:
        click.echo(data_io.format_table(samples), nl=False)
    else:
        data_io.write_table(out, samples, overwrite=True)
        console.note(f"{len(samples)} samples written to {out}")
    if plot is not None:
        figure = plot_clusters(samples, centroids, samples_per_cluster,
                               title="Generated samples and their true centroids")
        _save_plot(figure, plot, console)


@main.command()
@lesson_data_options
@click.option("--iterations", type=click.IntRange(1), default=LESSON_ITERATIONS, show_default=True,
              help="k-means iterations (exercise 2)")
@click.option("--init-seed", type=click.IntRange(0, 2**32 - 1), default=LESSON_CENTROID_SEED,
              show_default=True, help="seed of the choice of initial centroids (exercise 1)")
@plot_option
@force_option
@quiet_option
@click.pass_obj
def iterate(console, clusters, samples_per_cluster, features, embiggen_factor, seed, iterations, init_seed,
            plot, force):
    """Run the lesson's k-means iterations (exercises 1 and 2).

    Runs kmeans_iterate.main() in TensorFlow 1 graph mode and prints, for each
    iteration, the cost (total squared distance to the nearest centroid) and the
    centroids.

    \b
    Example:
      kmeans-tf iterate --clusters 3 --iterations 10 --init-seed 7 --plot iterations.png
    """
    _needs_two_columns(plot, features, "--features")
    _claim_outputs({"--plot": plot}, force=force)
    import kmeans_iterate
    from functions import plot_clusters

    samples, initial, history, costs = kmeans_iterate.main(
        n_clusters=clusters, n_samples_per_cluster=samples_per_cluster, n_features=features,
        embiggen_factor=embiggen_factor, seed=seed, centroid_seed=init_seed, n_iterations=iterations)
    console.detail(f"Initial centroids:\n{data_io.format_table(initial)}".rstrip())
    for iteration, (centroids, cost) in enumerate(zip(history, costs), start=1):
        click.echo(kmeans_iterate.format_iteration(iteration, cost, centroids))
    if plot is not None:
        figure = plot_clusters(samples, history[-1], samples_per_cluster,
                               title=f"Centroids after {iterations} k-means iterations")
        _save_plot(figure, plot, console)


@main.command()
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True), default=GD_LEARNING_RATE,
              show_default=True, help="gradient descent step size")
@click.option("--steps", type=click.IntRange(0), default=GD_STEPS, show_default=True,
              help="optimizer steps after the first (the post runs 100)")
@seed_option(GD_INIT_SEED, "seed of the choice of initial prototypes")
@plot_option
@force_option
@quiet_option
@click.pass_obj
def gd(console, learning_rate, steps, seed, plot, force):
    """Run the post "k-means by gradient descent".

    Runs gd_kmeans.main() in TensorFlow 1 graph mode on the post's data (make_blobs
    500, random_state=1111) with 3 prototypes, and prints the cost every 10 steps, as
    the post does.

    \b
    Example:
      kmeans-tf gd --learning-rate 0.001 --steps 100 --seed 0 --plot gd.png
    """
    _claim_outputs({"--plot": plot}, force=force)
    import gd_kmeans

    data = gd_kmeans.make_data()
    initial = gd_kmeans.initial_prototypes(data, GD_CLUSTERS, init_seed=seed)
    costs, prototypes, labels = gd_kmeans.main(data, initial, k=GD_CLUSTERS, learning_rate=learning_rate,
                                               steps=steps)
    reported = sorted({*range(0, steps + 1, GD_REPORT_EVERY), steps})
    for step in reported:
        click.echo(f"Iteration {step}, cost {costs[step]}")
    console.detail(f"Prototypes:\n{data_io.format_table(prototypes)}".rstrip())
    if plot is not None:
        _save_plot(gd_kmeans.plot_prototypes(data, prototypes, labels, GD_CLUSTERS), plot, console)


@main.command()
@data_argument
@clusters_option(None, help="number of clusters [required unless --init is a file]")
@columns_option
@click.option("--init", default=KMEANS_PLUSPLUS_INIT, show_default=True, metavar="random|k-means++|PATH",
              help="how to choose the initial centroids, or a file of them (.csv, .tsv, .npy)")
@click.option("--n-init", type=click.IntRange(1), default=1, show_default=True,
              help="runs from different initial centroids; the lowest inertia wins")
@click.option("--max-iter", type=click.IntRange(1), default=300, show_default=True,
              help="most iterations per run")
@click.option("--tol", type=click.FloatRange(0), default=1e-4, show_default=True,
              help="stop when the centroids move less than this (relative to the data's variance)")
@seed_option(None, "seed of the initial centroids [default: a new one each time]")
@labels_out_option
@click.option("--centroids-out", type=click.Path(dir_okay=False, path_type=Path),
              callback=_suffix_check(*data_io.DATA_SUFFIXES),
              help="write the centroids here (.csv, .tsv or .npy)")
@click.option("--json", "as_json", is_flag=True,
              help="print a summary as JSON on stdout (then labels go only to --labels-out)")
@click.option("--algorithm", type=click.Choice(ALGORITHMS), default=ALGORITHMS[0], show_default=True,
              help="lloyd computes every distance; hamerly skips those that bounds prove useless; "
                   "auto starts as lloyd and turns to hamerly once few labels change (same answer)")
@batch_size_option
@plot_option
@force_option
@quiet_option
@click.pass_obj
def fit(console, data, clusters, columns, init, n_init, max_iter, tol, seed, labels_out, centroids_out,
        as_json, algorithm, batch_size, plot, force):
    """Cluster the rows of DATA with k-means.

    Runs the eager TensorFlow 2 engine (compat.eager.kmeans). DATA is a .csv file (a
    header row is optional and detected), a .tsv or .npy file, or - for CSV on stdin. The labels (0 to K-1, one per row, in the rows' order) go to
    --labels-out, or to stdout unless --json is given. With --plot, data wider than 2
    columns are drawn on their first two principal components.

    \b
    Example:
      kmeans-tf fit iris.csv --columns 0,1,2,3 -k 3 --seed 0 \\
          --labels-out labels.txt --centroids-out centroids.csv --plot iris.png
    """
    init_file = None if init in INIT_STRATEGIES else init
    if init_file is not None and not Path(init_file).is_file():
        raise click.BadParameter(f"{init!r} is neither {' nor '.join(INIT_STRATEGIES)} nor an existing file",
                                 param_hint="'--init'")
    _claim_outputs({"--labels-out": labels_out, "--centroids-out": centroids_out, "--plot": plot},
                   force=force, inputs={"DATA": data, "--init": init_file})
    table = data_io.read_table(data, columns=columns, stream=sys.stdin)
    n_samples, n_features = table.values.shape
    console.detail(f"Read {n_samples} rows x {n_features} columns from {table.source}"
                   + (f" (header: {', '.join(table.names)})" if table.names else " (no header)"))
    _needs_two_columns(plot, n_features, table.source)
    if init_file is not None:
        init = _read_centroids(init_file, n_features, table, "--init")
        if clusters is None:
            clusters = len(init)
        elif clusters != len(init):
            raise click.ClickException(f"--init {init_file} has {len(init)} rows (centroids) "
                                       f"but -k/--clusters is {clusters}; they should match")
    elif clusters is None:
        raise click.UsageError("Missing option '-k' / '--clusters' (needed unless --init is a file).")
    if n_samples < clusters:
        raise click.ClickException(f"{table.source} has {n_samples} rows, fewer than the {clusters} clusters "
                                   f"asked for; k-means needs at least one row per cluster")

    from compat import eager, native

    console.detail(f"Kernel: {native.description()}")
    runs = []
    with console.progress(n_init, "k-means") as advance:
        def record(run, result):
            runs.append(result)
            advance()
        result = eager.kmeans(table.values, clusters, init=init, n_init=n_init, max_iter=max_iter, tol=tol,
                              seed=seed, algorithm=algorithm, batch_size=batch_size, callback=record)
    for run, each in enumerate(runs, start=1):
        console.detail(f"Run {run}/{n_init}: inertia {each.inertia:.6g}, {each.n_iter} iterations, "
                       f"{'converged' if each.converged else 'not converged'}")

    sizes = np.bincount(result.labels, minlength=clusters)
    console.note(f"k-means: {n_samples} rows, {n_features} columns, k={clusters}: inertia {result.inertia:.6g} "
                 f"after {result.n_iter} iterations; cluster sizes {', '.join(map(str, sizes))}")
    if not result.converged:
        click.echo(f"Warning: not converged after --max-iter {max_iter} iterations", err=True)
    if labels_out is not None or not as_json:
        _write_labels(labels_out, result.labels, console)
    if centroids_out is not None:
        data_io.write_table(centroids_out, result.centroids, names=table.names, overwrite=True)
        console.note(f"Centroids written to {centroids_out}")
    if plot is not None:
        _save_plot(_fit_figure(table, result), plot, console)
    if as_json:
        click.echo(json.dumps({
            "n_samples": n_samples, "n_features": n_features, "columns": table.names,
            "k": clusters, "n_iter": result.n_iter, "converged": result.converged,
            "inertia": result.inertia, "centroids": _shortest(result.centroids),
            "cluster_sizes": sizes.tolist(),
        }, indent=2))


def _fit_figure(table, result):
    """Draw the clustered data (on the first two principal components when wider than 2 columns)."""
    from functions import plot_clusters

    samples, centroids = table.values, result.centroids
    if samples.shape[1] == 2:
        axis_names = table.names or ("column 1", "column 2")
        title = f"k-means, k={len(centroids)}"
    else:
        samples, centroids = _project_2d(samples, centroids)
        axis_names = ("first principal component", "second principal component")
        title = f"k-means, k={len(centroids)}, on {table.values.shape[1]} columns"
    figure = plot_clusters(samples, centroids, None, labels=result.labels, title=title)
    axes = figure.axes[0]
    axes.set_xlabel(axis_names[0])
    axes.set_ylabel(axis_names[1])
    return figure


@main.command()
@data_argument
@click.option("--centroids", "centroids_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="the centroids (.csv, .tsv or .npy), e.g. from fit --centroids-out")
@columns_option
@labels_out_option
@batch_size_option
@force_option
@quiet_option
@click.pass_obj
def predict(console, data, centroids_file, columns, labels_out, batch_size, force):
    """Label each row of DATA with its nearest centroid.

    DATA is read as by fit (.csv, .tsv, .npy, or - for CSV on stdin); the labels, one per
    row in the rows' order, go to --labels-out or stdout.

    \b
    Example:
      kmeans-tf predict new.csv --centroids centroids.csv --labels-out new_labels.txt
    """
    _claim_outputs({"--labels-out": labels_out}, force=force,
                   inputs={"DATA": data, "--centroids": centroids_file})
    table = data_io.read_table(data, columns=columns, stream=sys.stdin)
    centroids = _read_centroids(centroids_file, table.values.shape[1], table, "--centroids")

    from compat import eager

    labels = eager.predict(table.values, centroids, batch_size=batch_size)
    console.note(f"{len(labels)} rows labelled with the nearest of {len(centroids)} centroids")
    _write_labels(labels_out, labels, console)

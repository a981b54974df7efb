"""The ``elbow`` command: k-means for several k on a data file, a table of scores, and a suggested k.

It runs ``kmeans_tf.elbow``, imported inside the command, so that ``kmeans-tf --help``
answers without importing TensorFlow or scikit-learn.
"""

import json
import math

import click

from kmeans_tf.cli import options
from kmeans_tf.cli.console import Command
from kmeans_tf.cli.inputs import open_data
from kmeans_tf.cli.outputs import claim_outputs, picture_output, write_outputs
from kmeans_tf.data_io.tfrecord_files import is_tfrecord_data
from kmeans_tf.engine.options import (
    CALINSKI_HARABASZ_RULE,
    DAVIES_BOULDIN_RULE,
    DEFAULT_GAP_REFERENCES,
    DEFAULT_INIT,
    DEFAULT_RULE,
    DEFAULT_SILHOUETTE_ROWS,
    GAP_MAX_RULE,
    GAP_RULE,
    GAP_RULES,
    INIT_STRATEGIES,
    KNEEDLE_RULE,
    LOG_KNEEDLE_RULE,
    MIN_K_VALUES,
    RULES,
    SILHOUETTE_RULE,
)

# The table's columns: heading, the ElbowResult field, and the format of a value.
COLUMNS = (
    ("k", "k", "d"),
    ("inertia", "inertia", ".6g"),
    ("silhouette", "silhouette", ".4f"),
    ("Calinski-Harabasz", "calinski_harabasz", ".6g"),
    ("Davies-Bouldin", "davies_bouldin", ".4f"),
)
# The gap statistic's columns, shown where the rule measured it.
GAP_COLUMNS = (
    ("gap", "gap", ".4f"),
    ("gap-s.e.", "gap_se", ".4f"),
)
UNDEFINED = "-"
NO_STRUCTURE = "the gap statistic finds no cluster structure: k=1 fits as well"
# Each rule: what its suggested k is, and why it has none.
SUGGESTIONS = {
    KNEEDLE_RULE: (
        "the knee of the inertia curve by the kneedle rule",
        "the inertia curve has no knee by the kneedle rule",
    ),
    LOG_KNEEDLE_RULE: (
        "the knee of the log of the inertia by the kneedle rule",
        "the log of the inertia has no knee by the kneedle rule",
    ),
    SILHOUETTE_RULE: ("the highest silhouette", "no k has a silhouette"),
    CALINSKI_HARABASZ_RULE: ("the highest Calinski-Harabasz score", "no k has a Calinski-Harabasz score"),
    DAVIES_BOULDIN_RULE: ("the lowest Davies-Bouldin score", "no k has a Davies-Bouldin score"),
    GAP_MAX_RULE: ("the smallest k whose gap is within a standard error of the highest", NO_STRUCTURE),
    GAP_RULE: (
        "the first k whose gap is within a standard error of the next",
        f"{NO_STRUCTURE}, or the gap still grows at the largest k",
    ),
}


class KValues(click.ParamType):
    """The k values of ``--k``: ``A:B`` (A to B, inclusive) or a comma-separated list, at least MIN_K_VALUES of them.

    ``A:B`` is a ``range``, never built here: the command checks its last k against the rows first.
    """

    name = "k_values"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            if ":" in value:
                first, last = (int(part) for part in value.split(":"))
                values = range(first, last + 1)
            else:
                values = sorted(int(part) for part in value.split(","))
        except ValueError:
            self.fail(
                f"{value!r} should be A:B (every k from A to B) or a comma-separated list, e.g. 2:12 or 2,4,8",
                param,
                ctx,
            )
        if len(values) < MIN_K_VALUES:
            self.fail(f"{value!r} gives {len(values)} k values; choosing k needs at least {MIN_K_VALUES}", param, ctx)
        if values[0] < 1:
            self.fail(f"{value!r} holds k={values[0]}; every k should be >= 1", param, ctx)
        if isinstance(values, list) and len(set(values)) != len(values):
            self.fail(f"{value!r} repeats a value", param, ctx)
        return values


@click.command(cls=Command)
@options.data_argument
@click.option(
    "--k",
    "k_values",
    type=KValues(),
    required=True,
    metavar="A:B|K1,K2,...",
    help=f"the k values to fit: A:B for every k from A to B, or a list; at least {MIN_K_VALUES}",
)
@options.columns_option
@options.feature_option
@options.n_features_option
@options.header_option
@options.metric_option()
@click.option(
    "--init",
    type=click.Choice(INIT_STRATEGIES),
    default=DEFAULT_INIT,
    help="how to choose the initial centroids (quote k-means|| in a shell)",
)
@options.n_init_option
@options.init_rounds_option
@options.init_seed_option(
    None, "--seed", help="seed of the initial centroids and of the silhouette's sample [default: a new one each time]"
)
@click.option(
    "--silhouette-rows",
    type=click.IntRange(2),
    default=DEFAULT_SILHOUETTE_ROWS,
    help="measure the silhouette on this many rows drawn at random (the same rows for every k)",
)
@click.option(
    "--rule",
    type=click.Choice(RULES),
    default=DEFAULT_RULE,
    show_default=True,
    help=f"how the k is suggested; {GAP_MAX_RULE} and {GAP_RULE} also fit --gap-references reference sets",
)
@click.option(
    "--gap-references",
    type=click.IntRange(1),
    default=DEFAULT_GAP_REFERENCES,
    show_default=True,
    help="reference sets of the gap rules, each as large as the data and fitted for every k as the data is",
)
@options.memory_budget_option
@options.plot_option
@click.option("--json", "as_json", is_flag=True, help="print the table and the suggested k as JSON on stdout")
@options.force_option
@options.quiet_option
@click.pass_obj
def elbow(
    console,
    data,
    k_values,
    columns,
    feature,
    n_features,
    header,
    metric,
    init,
    n_init,
    init_rounds,
    init_seed,
    silhouette_rows,
    memory_budget,
    rule,
    gap_references,
    plot,
    as_json,
    force,
):
    """Fit k-means for several k and suggest one: by default, by the gap statistic (--rule gap-max).

    Runs kmeans_tf.elbow on DATA (read as by fit: .csv, .tsv, .npy data streamed from disk
    within --memory-budget, sparse .npz or svmlight rows, TFRecord files with --feature read
    into memory, or - for CSV on stdin) and prints, for each k: the inertia (the
    sum of squared distances to the nearest centroid, which always falls as k grows); the
    silhouette (-1 to 1, higher is better), measured on --silhouette-rows rows; the
    Calinski-Harabasz score (higher is better) and the Davies-Bouldin score (0 or more,
    lower is better); with a gap rule, the gap statistic and its standard error. The scores
    are scikit-learn's; k = 1 has none (-).

    The suggested k is by --rule. The default, gap-max, found the right k most often on the
    benchmark of docs/choosing-k.md: the smallest k whose gap statistic (Tibshirani et al.
    2001: the mean log inertia of k-means on --gap-references reference sets drawn uniformly in
    the box of the data's principal axes, less the data's log inertia) is within a standard
    error of the highest; none where that is k = 1 (no cluster structure), which only a --k
    from 1 can answer. Its cost: every k is fitted on each reference set too, (1 +
    --gap-references) times the fits of the other rules (about 3 times the time on that
    benchmark); for data streamed from disk, each
    reference set is written to the temporary folder (as large as the data, one at a time).
    gap: the first k whose gap is within a standard error of the next one's (Tibshirani's
    rule). silhouette, calinski-harabasz: the k of the highest score; davies-bouldin: of the
    lowest. kneedle: the knee of the inertia curve (Satopää et al. 2011); log-kneedle: of its
    log.

    --plot draws the inertia and the silhouette against k, the suggested k marked. With
    --metric cosine (spherical k-means) the inertia sums 1 - cosine, the silhouette is by the
    cosine distance, and the other two scores are measured on the rows scaled to unit length.

    \b
    Example:
      kmeans-tf elbow blobs.csv --k 1:10 --init-seed 0 --plot elbow.png
    """
    claim_outputs({"--plot": plot}, force=force, inputs={"DATA": data})
    table = open_data(
        data,
        columns=columns,
        header=header,
        memory_budget=memory_budget,
        in_memory=feature is not None or is_tfrecord_data(data),  # TFRecord rows read into memory
        feature=feature,
        n_features=n_features,
    )
    n_samples, n_features = table.shape
    console.detail(f"Read {n_samples} rows x {n_features} columns from {table.source}")
    if n_samples < k_values[-1]:
        raise click.ClickException(
            f"{table.source} has {n_samples} rows, fewer than k={k_values[-1]} "
            f"asked for by --k; k-means needs at least one row per cluster"
        )

    k_values = list(k_values)
    import kmeans_tf

    with console.progress(len(k_values), "k values") as advance:

        def record(k, result):
            console.detail(f"k={k}: inertia {result.inertia:.6g} after {result.n_iter} iterations")
            advance()

        result = kmeans_tf.elbow(
            table.values,
            k_values,
            metric=metric,
            init=init,
            n_init=n_init,
            init_rounds=init_rounds,
            seed=init_seed,
            silhouette_rows=silhouette_rows,
            rule=rule,
            gap_references=gap_references,
            callback=record,
            memory_budget=memory_budget,
        )

    def draw():
        from kmeans_tf.figures import elbow_figure

        return elbow_figure(result.k, result.inertia, result.silhouette, result.suggested_k, rule=result.rule)

    write_outputs([picture_output(plot, draw)], console)  # the picture first: the table only once it is written
    columns = shown_columns(result)
    fields = [field for _, field, _ in columns] + ["n_iter"]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "n_samples": n_samples,
                    "n_features": n_features,
                    "columns": table.names,
                    "metric": metric,
                    "silhouette_rows": len(result.silhouette_sample),
                    "rule": result.rule,
                    "gap_references": gap_references if result.rule in GAP_RULES else None,
                    "suggested_k": result.suggested_k,
                    "table": [dict(zip(fields, row)) for row in _rows(result, columns)],
                },
                indent=2,
                allow_nan=False,
            )
        )
    else:
        click.echo(format_table(result), nl=False)
        click.echo(describe_suggestion(result.suggested_k, result.rule))


def shown_columns(result):
    """The table's columns: the scores, and the gap's where a gap rule measured it."""
    return COLUMNS + GAP_COLUMNS if result.rule in GAP_RULES else COLUMNS


def _rows(result, columns):
    """Each k's row of the table as Python numbers, None where a score is undefined, and the iterations."""
    columns = [getattr(result, field) for _, field, _ in columns] + [result.n_iter]
    return [
        [
            None if isinstance(value, float) and math.isnan(value) else value
            for value in (column[i].item() for column in columns)
        ]
        for i in range(len(result.k))
    ]


def format_table(result):
    """The table as text: a heading, then a row per k, right-aligned; ``-`` where a score is undefined."""
    columns = shown_columns(result)
    cells = [[heading for heading, _, _ in columns]]
    cells += [
        [UNDEFINED if value is None else format(value, style) for value, (_, _, style) in zip(row, columns)]
        for row in _rows(result, columns)
    ]
    widths = [max(len(row[column]) for row in cells) for column in range(len(columns))]
    return "".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths)) + "\n" for row in cells)


def describe_suggestion(suggested_k, rule):
    """The last line: the suggested k, or none, and what it is by ``rule``."""
    chosen, none = SUGGESTIONS[rule]
    if suggested_k is None:
        return f"Suggested k: none ({none}; --rule {rule})"
    return f"Suggested k: {suggested_k} ({chosen}; --rule {rule})"

"""The lesson commands: ``generate``, ``iterate`` and ``gd`` run the lesson scripts' ``main()``.

Their options are the lessons' constants, with the lesson modules' values as defaults.
``--data-seed`` seeds the data and ``--init-seed`` the choice of initial centroids, in
every lesson command.
"""

import click
import numpy as np

import gd_kmeans
import generate_samples
import kmeans_iterate
from kmeans_tf import data_io
from kmeans_tf.cli import options
from kmeans_tf.cli.console import Command
from kmeans_tf.cli.outputs import (
    animation_output,
    claim_outputs,
    needs_two_columns,
    picture_output,
    table_output,
    write_outputs,
)


@click.command(cls=Command)
@options.lesson_data_options(generate_samples)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=str),
    callback=options.suffix_check(".csv", data_io.NPY_SUFFIX, dash=True),
    help="write the samples here (.csv or .npy; default: CSV on stdout)",
)
@options.plot_option
@options.force_option
@options.quiet_option
@click.pass_obj
def generate(console, clusters, samples_per_cluster, features, embiggen_factor, data_seed, out, plot, force):
    """Generate the lesson's samples around random centroids.

    Runs generate_samples.main() in TensorFlow 1 graph mode: a blob of normal noise
    around each random centroid. Rows come cluster by cluster, --samples-per-cluster
    rows each.

    \b
    Example:
      kmeans-tf generate --clusters 4 --samples-per-cluster 100 --out blobs.csv --plot blobs.png
    """
    needs_two_columns({"--plot": plot}, features, "--features")
    claim_outputs({"--out": out, "--plot": plot}, force=force)
    from functions import plot_clusters

    samples, centroids = _run_lesson(
        generate_samples.main, clusters, samples_per_cluster, features, embiggen_factor, data_seed
    )
    console.detail(f"True centroids:\n{data_io.format_table(centroids)}".rstrip())
    to_stdout = out is None or out == data_io.STDIN
    write_outputs(
        [
            table_output(None if to_stdout else out, samples, f"{len(samples)} samples"),
            picture_output(plot, lambda: plot_clusters(samples, centroids, samples_per_cluster)),
        ],
        console,
    )
    if to_stdout:
        click.echo(data_io.format_table(samples), nl=False)


@click.command(cls=Command)
@options.lesson_data_options(kmeans_iterate)
@click.option(
    "--iterations", type=click.IntRange(1), default=kmeans_iterate.n_iterations, help="k-means iterations (exercise 2)"
)
@options.init_seed_option(kmeans_iterate.centroid_seed, help="seed of the choice of initial centroids (exercise 1)")
@options.plot_option
@options.trajectory_option
@options.animate_option
@options.force_option
@options.quiet_option
@click.pass_obj
def iterate(
    console,
    clusters,
    samples_per_cluster,
    features,
    embiggen_factor,
    data_seed,
    iterations,
    init_seed,
    plot,
    trajectory,
    animate,
    force,
):
    """Run the lesson's k-means iterations (exercises 1 and 2).

    Runs kmeans_iterate.main() in TensorFlow 1 graph mode and prints, for each
    iteration, the cost (total squared distance to the nearest centroid) and the
    centroids. Pictures of wider data are drawn on their first two principal components.

    \b
    Example:
      kmeans-tf iterate --clusters 3 --iterations 10 --init-seed 7 --plot iterations.png \\
          --trajectory paths.png --animate iterations.gif
    """
    pictures = {"--plot": plot, "--trajectory": trajectory, "--animate": animate}
    needs_two_columns(pictures, features, "--features")
    claim_outputs(pictures, force=force)
    from functions import plot_clusters

    samples, initial, history, costs, label_history = _run_lesson(
        kmeans_iterate.main,
        clusters,
        samples_per_cluster,
        features,
        embiggen_factor,
        data_seed,
        centroid_seed=init_seed,
        n_iterations=iterations,
    )
    console.detail(f"Initial centroids:\n{data_io.format_table(initial)}".rstrip())
    for iteration, (centroids, cost) in enumerate(zip(history, costs), start=1):
        click.echo(kmeans_iterate.format_iteration(iteration, cost, centroids))
    points = path = None
    if trajectory is not None or animate is not None:
        from kmeans_tf.figures import project_2d, trajectory_figure

        points, path = project_2d(samples, np.concatenate([initial[None], history]))
    write_outputs(
        [
            picture_output(plot, lambda: plot_clusters(samples, history[-1], samples_per_cluster)),
            picture_output(trajectory, lambda: trajectory_figure(points, path, costs, label_history[-1])),
            animation_output(animate, points, path, label_history),
        ],
        console,
    )


@click.command(cls=Command)
@options.clusters_option(gd_kmeans.k, help="number of prototypes")
@click.option(
    "--learning-rate",
    type=click.FloatRange(0, min_open=True),
    callback=options.finite,
    default=gd_kmeans.learning_rate,
    help="gradient descent step size",
)
@click.option(
    "--steps",
    type=click.IntRange(0),
    default=gd_kmeans.steps,
    help="the post's loop 'for i in range(STEPS + 1)': STEPS + 1 optimizer steps, the cost after each",
)
@options.data_seed_option(gd_kmeans.data_seed)
@options.init_seed_option(
    gd_kmeans.init_seed, help="seed of the choice of initial prototypes (the default is the post's)"
)
@options.plot_option
@options.trajectory_option
@options.force_option
@options.quiet_option
@click.pass_obj
def gd(console, clusters, learning_rate, steps, data_seed, init_seed, plot, trajectory, force):
    """Run the post "k-means by gradient descent".

    Runs gd_kmeans.main() in TensorFlow 1 graph mode on the post's data (make_blobs,
    500 points) and prints the cost every 10 steps, as the post does.

    \b
    Example:
      kmeans-tf gd --learning-rate 0.001 --steps 100 --plot gd.png --trajectory gd_paths.png
    """
    claim_outputs({"--plot": plot, "--trajectory": trajectory}, force=force)
    data = gd_kmeans.make_data(data_seed=data_seed)
    initial = gd_kmeans.initial_prototypes(data, clusters, init_seed=init_seed)
    costs, prototypes, labels, history = gd_kmeans.main(
        data, initial, k=clusters, learning_rate=learning_rate, steps=steps
    )
    click.echo("\n".join(gd_kmeans.report_lines(costs)))
    console.detail(f"Prototypes:\n{data_io.format_table(prototypes)}".rstrip())

    def paths():
        from kmeans_tf.figures import trajectory_figure

        # costs[i] is the cost after optimizer step i + 1: the path starts at the initial prototypes.
        return trajectory_figure(data, np.concatenate([initial[None], history]), costs, labels, log_cost=True, first=0)

    write_outputs(
        [
            picture_output(plot, lambda: gd_kmeans.plot_prototypes(data, prototypes, labels, clusters)),
            picture_output(trajectory, paths),
        ],
        console,
    )


def _run_lesson(main, clusters, samples_per_cluster, features, embiggen_factor, data_seed, **more):
    """Run a lesson's ``main`` on the samples that ``options.lesson_data_options`` describe; return what it returns.

    A lesson's ``main`` takes ``create_samples``' arguments first, in their order. Samples that
    overflowed float32 (a huge ``--embiggen-factor``) are refused.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused just below
        outputs = main(clusters, samples_per_cluster, features, embiggen_factor, data_seed, **more)
    samples = outputs[0]
    if not np.isfinite(samples).all():
        raise click.BadParameter(
            f"{embiggen_factor:g} makes samples too large for float32 (largest {np.finfo(np.float32).max:.3g})",
            param_hint="'--embiggen-factor'",
        )
    return outputs

"""The ``export`` command: a file of centroids as a SavedModel that TensorFlow Serving reads (``kmeans_tf.serving``)."""

from pathlib import Path

import click

import kmeans_tf
from kmeans_tf.cli import options
from kmeans_tf.cli.console import Command
from kmeans_tf.cli.inputs import read_centroids
from kmeans_tf.cli.outputs import check_saved_model
from kmeans_tf.engine.options import DEFAULT_METRIC, METRICS


@click.command(cls=Command)
@click.argument("centroids", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--metric",
    type=click.Choice(METRICS),
    default=DEFAULT_METRIC,
    help="euclidean: the nearest centroid, as fit and predict label rows; cosine: the centroid of the largest "
    "cosine similarity (rows compared by direction)",
)
@options.quiet_option
@click.pass_obj
def export(console, centroids, out_dir, metric):
    """Write CENTROIDS (.csv, .tsv or .npy, e.g. from fit --centroids-out) as a SavedModel in OUT_DIR/1.

    OUT_DIR/1 is the version folder that TensorFlow Serving reads under a model's base path
    OUT_DIR (made if missing); it must not exist. Its signatures take a float32 batch
    "samples": serving_default gives "labels" and "distances" (to the nearest centroid),
    predict the labels, transform the distances to every centroid, score minus the sum of
    squared distances (cosine: of 1 - cos). It is written beside itself under a temporary
    name and renamed at the end: an error leaves nothing.

    \b
    Example:
      kmeans-tf fit blobs.csv -k 4 --centroids-out centroids.csv
      kmeans-tf export centroids.csv models/blobs
      saved_model_cli show --dir models/blobs/1 --all
    """
    check_saved_model("OUT_DIR", out_dir)
    values = read_centroids(centroids, None, "CENTROIDS")
    version = kmeans_tf.export_saved_model(values, out_dir, metric=metric)
    console.note(f"SavedModel of {len(values)} centroids ({metric}) written to {version}")

"""The ``export`` command: a file of centroids as a SavedModel that TensorFlow Serving reads (``kmeans_tf.serving``)."""

from pathlib import Path

import click

import kmeans_tf
from kmeans_tf.cli import options
from kmeans_tf.cli.console import Command
from kmeans_tf.cli.inputs import centroids_metric, read_centroids
from kmeans_tf.cli.outputs import check_saved_model


@click.command(cls=Command)
@click.argument("centroids", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@options.metric_option(
    None, help=f"how rows are compared [default: the one CENTROIDS records, else euclidean]: {options.METRIC_HELP}"
)
@options.quiet_option
@click.pass_obj
def export(console, centroids, out_dir, metric):
    """Write CENTROIDS (.csv, .tsv or .npy, e.g. from fit --centroids-out) as a SavedModel in OUT_DIR/1.

    OUT_DIR/1 is the version folder that TensorFlow Serving reads under a model's base path
    OUT_DIR (made if missing); it must not exist. Its signatures take a float32 batch
    "samples": serving_default gives "labels" and "distances" (to the nearest centroid),
    predict the labels, transform the distances to every centroid, score minus the sum of
    squared distances (cosine: of 1 - cos). A centroids file of fit --metric cosine records its
    metric, which the SavedModel takes (a --metric that differs is refused). It is written
    beside itself under a temporary name and renamed at the end: an error leaves nothing.

    \b
    Example:
      kmeans-tf fit blobs.csv -k 4 --centroids-out centroids.csv
      kmeans-tf export centroids.csv models/blobs
      saved_model_cli show --dir models/blobs/1 --all
    """
    check_saved_model("OUT_DIR", out_dir)
    metric = centroids_metric(centroids, metric, "CENTROIDS")
    values = read_centroids(centroids, None, "CENTROIDS")
    version = kmeans_tf.export_saved_model(values, out_dir, metric=metric)
    console.note(f"SavedModel of {len(values)} centroids ({metric}) written to {version}")

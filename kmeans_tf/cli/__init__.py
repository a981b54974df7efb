"""The ``kmeans-tf`` command line: the lessons, and k-means on your own data.

One job a module:

- ``console``: where messages go (``--quiet``, ``--verbose``, a progress bar), and the funnel
  that turns every failure into one ``Error:`` line and a non-zero exit (2 for usage errors);
- ``options``: the options several commands share (and ``fit``'s workers' options), defined once;
- ``outputs``: output paths claimed before any work, then written;
- ``lessons``: ``generate``, ``iterate``, ``gd``, the lesson scripts with options;
- ``inputs``: a data file read into memory, or ``.npy`` data mapped and streamed from disk, and the
  centroids and weights files checked against it;
- ``requests``: ``fit``'s options checked together, once, into one request (and against the data);
- ``clustering``: ``fit`` and ``predict`` on a data file, by the engine's public functions;
- ``workers``: ``fit`` as one of several workers (``--workers``): the cluster, each worker's rows, the strategy;
- ``choosing_k``: ``elbow``, k-means for several k on a data file and the k it suggests;
- ``conversion``: ``convert``, a CSV of any size into a ``.npy`` file;
- ``exporting``: ``export``, a file of centroids as a SavedModel for TensorFlow Serving.

TensorFlow is imported inside the commands that need it, so ``kmeans-tf --help`` answers at once.
"""

import click

from kmeans_tf import __version__
from kmeans_tf.cli import choosing_k, clustering, conversion, exporting, lessons
from kmeans_tf.cli.console import Console, Group


# Every option's help shows its default (those of None: none).
@click.group(
    cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100, "show_default": True}
)
@click.version_option(__version__, "--version", prog_name="kmeans-tf")
@click.option("-v", "--verbose", is_flag=True, help="say more on stderr (and show tracebacks of bugs)")
@click.pass_context
def main(ctx, verbose):
    """The TensorFlow 1 k-means lesson on TensorFlow 2, and k-means for your own data.

    \b
    Examples:
      kmeans-tf generate --out blobs.csv
      kmeans-tf elbow blobs.csv --k 1:10 --plot elbow.png
      kmeans-tf fit blobs.csv -k 3 --labels-out labels.txt --plot blobs.png
    """
    ctx.ensure_object(Console).verbose = verbose


for command in (
    lessons.generate,
    lessons.iterate,
    lessons.gd,
    clustering.fit,
    clustering.predict,
    choosing_k.elbow,
    conversion.convert,
    exporting.export,
):
    main.add_command(command)

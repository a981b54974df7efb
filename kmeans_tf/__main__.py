"""``python -m kmeans_tf``: the ``kmeans-tf`` command line."""

from kmeans_tf.cli import main

main(prog_name="kmeans-tf")

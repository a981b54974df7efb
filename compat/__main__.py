"""``python -m compat``: the ``kmeans-tf`` command line (as ``python -m kmeans_tf``)."""

from kmeans_tf.cli import main

main(prog_name="kmeans-tf")

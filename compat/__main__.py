"""``python -m compat``: the ``kmeans-tf`` command line."""
from compat.cli import main

main(prog_name="kmeans-tf")

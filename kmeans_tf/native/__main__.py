"""Build the C kernel ahead of time: ``python -m kmeans_tf.native [--force]``.

The engine builds it on first use anyway (see ``kmeans_tf/native/build.py``); building it
here makes the first call fast. The library reported ready is verified against its build
record and loaded, with every op present. Exits 1 with a one-line reason when it fails.
"""

import sys

from kmeans_tf.native.build import BuildError, build
from kmeans_tf.native.load import open_library


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        path = build(force="--force" in argv)
    except BuildError as error:
        print(f"kmeans-tf: {error}", file=sys.stderr)
        return 1
    kernel, reason = open_library(path)
    if kernel is None:
        print(f"kmeans-tf: {reason}", file=sys.stderr)
        return 1
    print(f"kmeans-tf: fused C kernel ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

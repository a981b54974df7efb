"""``python -m compat.native [--force]``: the C kernel built ahead of time, as ``python -m kmeans_tf.native``."""

import sys

from kmeans_tf.native.__main__ import main

if __name__ == "__main__":
    sys.exit(main())

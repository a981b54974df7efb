"""Build the fused C kernel ahead of time: ``python -m compat.build_kernels [--force]``.

The engine builds it on first use anyway (see ``compat/_native.py``); building it here
makes the first call fast and shows the compiler's errors, if any. Exits 1 when it fails.
"""
import sys

from compat import _native


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        path = _native.build(force="--force" in argv)
    except _native.BuildError as error:
        print(f"kmeans-tf: {error}", file=sys.stderr)
        return 1
    print(f"kmeans-tf: fused C kernel ready: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""k-means on several workers (``kmeans(..., strategy=...)``, ``kmeans-tf fit --workers``)."""
import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from compat import eager
from compat.engine import distributed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Seconds a check in a process of its own may take before it fails.
SUBPROCESS_TIMEOUT = 300


def run_python(*args, timeout=SUBPROCESS_TIMEOUT, env=None):
    """Run ``python ARGS`` from the repository's root, with this interpreter, and return the completed process."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": ROOT, **(env or {})})


def test_mirrored_strategy_gives_the_single_process_answer():
    # on the C kernel where it is built, and on TensorFlow's ops: labels, iterations, centroids, relocation, seeding
    done = run_python("-m", "tests.distributed_checks", "--with-tf-ops")
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "ok", done.stderr[-3000:]


def test_a_strategy_must_be_a_mirrored_one():
    with pytest.raises(ValueError, match="strategy should be a tf.distribute.MirroredStrategy"):
        eager.kmeans(np.zeros((4, 2)), 2, strategy="two workers")


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_split_makes_contiguous_ranges_across_shards(parts):
    arrays = [np.arange(14.0).reshape(7, 2), np.arange(14.0, 24.0).reshape(5, 2)]
    pieces, starts = distributed.split(eager.Shards(arrays), parts)
    assert starts == [12 * part // parts for part in range(parts + 1)]
    joined = np.concatenate([np.concatenate(list(piece.blocks(100))) for piece in pieces])
    assert_array_equal(joined, np.concatenate(arrays))


def test_split_needs_a_row_per_replica():
    with pytest.raises(ValueError, match="fewer than the 3 replicas"):
        distributed.split(np.zeros((2, 2)), 3)

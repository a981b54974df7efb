"""Streamed data that are not what they seemed: NaN at the door, files cut or changed during a fit, a full disk,
data at the top of float64; every case one clear ValueError (or OSError), never a crash or a wrong answer."""

import numpy as np
import pytest

from compat import eager
from kmeans_tf.stream import budget

SMALLEST_BUDGET = budget.MIN_MEMORY_BUDGET  # 1 MiB: chunks of a few thousand rows


def mapped(tmp_path, array, name="data.npy"):
    np.save(tmp_path / name, array)
    return np.load(tmp_path / name, mmap_mode="r")


def message(call):
    """The message of the ValueError that ``call()`` raises."""
    with pytest.raises(ValueError) as raised:
        call()
    return str(raised.value)


@pytest.mark.parametrize(
    "row, column, value", [(30, 1, np.nan), (9000, 0, -np.inf)], ids=["nan", "inf-in-a-later-chunk"]
)
def test_streamed_predict_and_inertia_refuse_what_the_array_in_memory_refuses(tmp_path, row, column, value):
    samples = np.ones((20000, 2))
    samples[row, column] = value
    centroids = [[0.0, 0.0], [1.0, 1.0]]
    expected = f"samples should be finite, got {value} at row {row}, column {column}"
    assert message(lambda: eager.predict(samples, centroids)) == expected
    assert message(lambda: eager.inertia(samples, centroids)) == expected
    data = mapped(tmp_path, samples)
    assert message(lambda: eager.predict(data, centroids, memory_budget=SMALLEST_BUDGET)) == expected
    assert message(lambda: eager.inertia(data, centroids)) == expected

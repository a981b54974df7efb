"""The M-step's rules (``m_step``) on their own: the total squared shift of the centroids."""

import numpy as np
import pytest

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import m_step
from tests.cases import DTYPE_IDS, DTYPES


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (300, 5000), (3, 700_000)], ids=str)
def test_the_squared_shift_is_the_float64_sum_of_the_differences_squares(dtype, shape):
    rng = np.random.default_rng(sum(shape))
    old, new = (rng.normal(size=shape).astype(dtype) for _ in range(2))
    shift = float(m_step.squared_shift(tf.constant(new), tf.constant(old)))
    differences = (new - old).astype(np.float64)  # in the centroids' own dtype first, as scikit-learn
    assert shift == pytest.approx(float(np.sum(differences**2)), rel=1e-12)
    if np.prod(shape) <= m_step.SHIFT_CELLS:  # one sum: TensorFlow's of the whole, bit for bit
        assert shift == float(tf.reduce_sum(tf.square(tf.cast(new - old, tf.float64))))


def test_no_shift_is_exactly_zero():
    centroids = tf.constant(np.arange(3_000_000, dtype=np.float32).reshape(3, -1))
    assert float(m_step.squared_shift(centroids, centroids)) == 0.0

"""k-means by gradient descent (the post "K-means in TensorFlow"), the TensorFlow 2 way.

The cost is E(w) = sum_i min_k ||x_i - w_k||^2, and each step is plain gradient descent,
GradientDescentOptimizer's update ``w -= learning_rate * dE/dw``. The gradient is exact:
``dE/dw_k = 2 (n_k w_k - sum of the samples nearest to w_k)``, summed a chunk of rows at a
time, so the (n_samples, k, n_features) differences of the post's broadcast are never held at once.
"""

import gd_kmeans as post  # the lesson's constants: GradientDescentOptimizer(0.001), 100 steps
from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import validation
from kmeans_tf.engine.options import CHUNK_BYTES
from kmeans_tf.engine.tf_ops import count_chunks, row_slice
from kmeans_tf.engine.tracing import matrix, scalar, traced_per_dtype


def gd_kmeans(samples, initial_prototypes, *, learning_rate=post.learning_rate, steps=post.steps):
    """Learn prototypes by gradient descent on ``sum_i min_k ||x_i - w_k||^2``, as the post does.

    Like the post's loop ``for i in range(steps + 1)``, this takes ``steps + 1`` optimizer
    steps and records the cost after each (the post's "Iteration i"), as ``gd_kmeans.main``
    does in graph mode.

    Parameters
    ----------
    samples : array of shape (n_samples, n_features)
    initial_prototypes : array of shape (k, n_features)
    learning_rate : float > 0, default=0.001
    steps : int >= 0, default=100

    Returns
    -------
    prototypes : tensor of shape (k, n_features), after the last step
    costs : float64 tensor of shape (steps + 1,), ``costs[i]`` after optimizer step ``i + 1``
    """
    samples = validation.check_samples(samples)
    initial_prototypes = validation.check_centroids(
        initial_prototypes, None, samples.shape[1], samples.dtype, name="initial_prototypes"
    )
    steps = validation.check_int("steps", steps, 0)
    learning_rate = validation.check_float("learning_rate", learning_rate, minimum=0, open_minimum=True)
    n_clusters, n_features = initial_prototypes.shape
    chunk_rows = tf.constant(max(1, CHUNK_BYTES // (n_clusters * n_features * samples.itemsize)), tf.int32)
    data = tf.constant(samples)
    prototypes = tf.constant(initial_prototypes)
    rate = tf.constant(learning_rate, samples.dtype)
    _, gradient = _cost_and_gradient(data, prototypes, chunk_rows)
    costs = []
    for _ in range(steps + 1):
        prototypes = prototypes - rate * gradient
        cost, gradient = _cost_and_gradient(data, prototypes, chunk_rows)
        costs.append(cost)
    return prototypes, tf.stack(costs)


@traced_per_dtype(lambda dtype: [matrix(dtype), matrix(dtype), scalar(tf.int32)])
def _cost_and_gradient(data, prototypes, chunk_rows):
    """Return the cost at ``prototypes`` (float64) and its gradient, ``chunk_rows`` samples at a time."""
    n_clusters = tf.shape(prototypes)[0]

    def add_chunk(i, cost, sums, counts):
        chunk = row_slice(data, chunk_rows, i)
        distances = tf.reduce_sum(tf.square(chunk[:, None, :] - prototypes[None, :, :]), axis=2)
        nearest = tf.argmin(distances, axis=1)
        cost += tf.reduce_sum(tf.cast(tf.reduce_min(distances, axis=1), tf.float64))
        sums += tf.math.unsorted_segment_sum(chunk, nearest, n_clusters)
        counts += tf.math.unsorted_segment_sum(tf.ones_like(chunk[:, 0]), nearest, n_clusters)
        return i + 1, cost, sums, counts

    _, cost, sums, counts = tf.while_loop(
        lambda i, *_: i < count_chunks(data, chunk_rows),
        add_chunk,
        (0, tf.constant(0.0, tf.float64), tf.zeros_like(prototypes), tf.zeros_like(prototypes[:, 0])),
    )
    return cost, 2 * (counts[:, None] * prototypes - sums)

"""Seed 002, "K-means in TensorFlow": prototypes learned by gradient descent on the k-means cost.

The cost is E(w) = sum_i min_k ||x_i - w_k||^2 (Bottou & Bengio 1995), minimised with
GradientDescentOptimizer(0.001). The code keeps the post's TF 0.x calls
(``tf.concat(axis, values)``, ``tf.initialize_all_variables``, ``tf.arg_min``), which run
here through the ``compat.v1`` shim; each one warns with its modern spelling.
"""
import numpy as np
from sklearn import datasets

from compat import v1 as tf

# Number of clusters
k = 3
n_samples = 500
data_seed = 1111  # datasets.make_blobs(500, random_state=1111), as in the post
init_seed = 0  # the post drew prototypes with the unseeded np.random.choice
learning_rate = 0.001
steps = 100
report_every = 10


def make_data(n_samples=n_samples, data_seed=data_seed):
    """Return the post's blobs as float32, shape (n_samples, 2)."""
    Xi, yi = datasets.make_blobs(n_samples, random_state=data_seed)
    return Xi.astype(np.float32)


def initial_prototypes(Xi, k=k, init_seed=init_seed):
    """Choose ``k`` distinct data points as the starting prototypes, as the post does, but seeded."""
    idx = np.random.RandomState(init_seed).choice(range(Xi.shape[0]), k, replace=False)
    return Xi[idx].copy()


def main(Xi=None, Wi=None, k=k, learning_rate=learning_rate, steps=steps):
    """Run the post's optimisation in one session.

    Parameters
    ----------
    Xi : array of shape (n_samples, n_features), default=the post's blobs
    Wi : array of shape (k, n_features), default=``initial_prototypes(Xi, k)``

    Returns
    -------
    costs : array of shape (steps + 1,), the cost after each optimizer step
        (the post prints ``costs[0], costs[10], ..., costs[100]`` as "Iteration i")
    W_learned : array of shape (k, n_features)
    y : array of shape (n_samples,), the label (nearest prototype) of each point
    """
    if Xi is None:
        Xi = make_data()
    if Wi is None:
        Wi = initial_prototypes(Xi, k)
    graph = tf.Graph()
    with graph.as_default():
        # Input
        X = tf.placeholder_with_default(Xi, Xi.shape, name='data')
        # Model variables, initiated from data
        W = tf.Variable(Wi, name='prototypes')

        # Reshape data and prototypes tensors
        Xc = tf.concat(2, k * [tf.expand_dims(X, 2)])
        Wc = tf.transpose(tf.expand_dims(W, 2), [2, 1, 0])
        # Define objective of model
        distances = tf.reduce_sum((Xc - Wc) ** 2, 1)
        cost = tf.reduce_sum(tf.reduce_min(distances, 1))

        # Make an object which will minimize cost w.r.t. W
        optimizer = tf.train.GradientDescentOptimizer(learning_rate).minimize(cost)
        labels = tf.arg_min(distances, 1)
        init = tf.initialize_all_variables()

    costs = []
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        for i in range(steps + 1):
            sess.run(optimizer)
            costs.append(sess.run(cost))
        W_learned = sess.run(W)
        y = sess.run(labels)
    return np.array(costs), W_learned, y


def plot_prototypes(Xi, W_learned, y, k=k):
    """Draw the post's picture: points shaded by label, prototypes as red circles."""
    from matplotlib import cm
    from matplotlib.figure import Figure

    ax = Figure(figsize=(7, 6)).subplots()
    ax.scatter(*Xi.T, c=y, lw=0, cmap=cm.Greys_r, vmax=k + 0.5, label='data')
    ax.scatter(*W_learned.T, c='none', s=100, edgecolor='r', lw=2, label='prototypes')
    ax.legend(scatterpoints=3)
    ax.set_title("k-means by gradient descent")
    return ax.figure


if __name__ == "__main__":
    from compat.figures import finish_lesson_figure

    Xi = make_data()
    costs, W_learned, y = main(Xi)
    for i in range(0, steps + 1, report_every):
        print('Iteration {}, cost {}'.format(i, costs[i]))
    finish_lesson_figure(plot_prototypes(Xi, W_learned, y), __file__)

"""The post "K-means in TensorFlow" (k-means by gradient descent): prototypes learned on the k-means cost.

The cost is E(w) = sum_i min_k ||x_i - w_k||^2 (Bottou & Bengio 1995), minimised with
GradientDescentOptimizer(0.001). The code keeps the post's TF 0.x spellings: the argument
order ``tf.concat(axis, values)``, gone from TensorFlow 2, runs through the ``compat.v1``
shim; ``tf.initialize_all_variables`` and ``tf.arg_min`` still exist in ``tf.compat.v1``,
and the shim has them warn with their modern spelling too.
"""

import numpy as np

from compat import v1 as tf

# Number of clusters
k = 3
n_samples = 500
data_seed = 1111  # datasets.make_blobs(500, random_state=1111), as in the post
# The post's unseeded start: benchmarks/find_gd_start.py tried all C(500, 3) starts and only this one prints its table.
init_seed = 5129809
learning_rate = 0.001
steps = 100  # the post's loop: for i in range(100 + 1)
report_every = 10
# The files written beside --output PATH, named after it (kmeans_tf.lesson_outputs.derived_path).
OTHER_OUTPUTS = ("data.png", "trajectory.png")


def make_data(n_samples=n_samples, data_seed=data_seed):
    """Return the post's blobs as float32, shape (n_samples, 2)."""
    from sklearn import datasets  # the post imports it at the top; here, so that importing the lesson is quick

    Xi, yi = datasets.make_blobs(n_samples, random_state=data_seed)
    return Xi.astype(np.float32)


def initial_prototypes(Xi, k=k, init_seed=init_seed):
    """Choose ``k`` distinct data points as the starting prototypes: the post's ``np.random.choice`` call, seeded."""
    idx = np.random.RandomState(init_seed).choice(range(Xi.shape[0]), k, replace=False)
    return Xi[idx].copy()


def main(Xi=None, Wi=None, k=k, learning_rate=learning_rate, steps=steps):
    """Run the post's optimisation in one session: ``steps + 1`` optimizer steps, as the post's
    ``for i in range(100 + 1)``.

    Parameters
    ----------
    Xi : array of shape (n_samples, n_features), default=the post's blobs
    Wi : array of shape (k, n_features), default=``initial_prototypes(Xi, k)``

    Returns
    -------
    costs : array of shape (steps + 1,); ``costs[i]`` is the cost after optimizer step i + 1,
        the post's "Iteration i" (it prints ``costs[0], costs[10], ..., costs[100]``)
    W_learned : array of shape (k, n_features), the prototypes after the last step
    y : array of shape (n_samples,), the label (nearest prototype) of each point
    W_history : array of shape (steps + 1, k, n_features); ``W_history[i]`` holds the
        prototypes after optimizer step i + 1, as ``costs[i]``
    """
    if Xi is None:
        Xi = make_data()
    if Wi is None:
        Wi = initial_prototypes(Xi, k)
    graph = tf.Graph()
    with graph.as_default():
        # Input
        X = tf.placeholder_with_default(Xi, Xi.shape, name="data")
        # Model variables, initiated from data
        W = tf.Variable(Wi, name="prototypes")

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
    W_history = []
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        for i in range(steps + 1):  # noqa: B007 (the post's loop, as written)
            sess.run(optimizer)
            step_cost, step_W = sess.run([cost, W])
            costs.append(step_cost)
            W_history.append(step_W)
        W_learned = sess.run(W)
        y = sess.run(labels)
    return np.array(costs), W_learned, y, np.array(W_history)


def plot_data(Xi):
    """Draw the post's first picture: the data in black, before clustering."""
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    ax.scatter(*Xi.T, c="k", lw=0)
    return ax.figure


def plot_prototypes(Xi, W_learned, y, k=k):
    """Draw the post's last picture: points shaded by label, prototypes as red circles."""
    from matplotlib import cm
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    ax.scatter(*Xi.T, c=y, lw=0, cmap=cm.Greys_r, vmax=k + 0.5, label="data")
    ax.scatter(*W_learned.T, c="none", s=100, edgecolor="r", lw=2, label="prototypes")
    ax.legend(scatterpoints=3)
    return ax.figure


def report_lines(costs, every=report_every):
    """Return the post's printed table: ``Iteration i, cost c`` every ``every`` iterations, and the last."""
    return [f"Iteration {i}, cost {costs[i]}" for i in sorted({*range(0, len(costs), every), len(costs) - 1})]


if __name__ == "__main__":
    from kmeans_tf.figures import trajectory_figure
    from kmeans_tf.lesson_outputs import finish_lesson, lesson_outputs

    output, data_output, trajectory_output = lesson_outputs(__file__, OTHER_OUTPUTS)
    Xi = make_data()
    Wi = initial_prototypes(Xi)
    costs, W_learned, y, W_history = main(Xi, Wi)
    print("\n".join(report_lines(costs)))
    finish_lesson(
        {
            output: plot_prototypes(Xi, W_learned, y),
            data_output: plot_data(Xi),
            # The post's "Iteration i" is the cost after step i + 1: the path starts at Wi, the costs at 0.
            trajectory_output: trajectory_figure(
                Xi, np.concatenate([Wi[None], W_history]), costs, y, log_cost=True, first=0
            ),
        }
    )

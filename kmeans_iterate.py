"""The lesson's exercises: seeded initial centroids (exercise 1) and 10 k-means iterations (exercise 2).

Beside the lesson's figure of the final centroids, the script draws the lesson's second
script's figure (the initial centroids, before any iteration), the centroids' paths with
the cost per iteration, and an animation of the iterations.
"""

import numpy as np

from compat import v1 as tf
from functions import (
    DEFAULT_ITERATIONS,
    assign_to_nearest,
    choose_random_centroids,
    create_samples,
    iterate_kmeans,
    plot_clusters,
    total_squared_distance,
)

n_features = 2
n_clusters = 3
n_samples_per_cluster = 500
seed = 700
embiggen_factor = 70
centroid_seed = 7  # exercise 1: a seed of their own for the initial centroids
n_iterations = DEFAULT_ITERATIONS
# The files written beside --output PATH, named after it (kmeans_tf.lesson_outputs.derived_path).
OTHER_OUTPUTS = ("initial.png", "trajectory.png", "iterations.gif")


def main(
    n_clusters=n_clusters, n_samples_per_cluster=n_samples_per_cluster, n_features=n_features,
    embiggen_factor=embiggen_factor, seed=seed, centroid_seed=centroid_seed, n_iterations=n_iterations,
):  # fmt: skip
    """Run the iterated lesson in one session.

    Returns
    -------
    sample_values : array of shape (n_clusters * n_samples_per_cluster, n_features)
    initial_centroid_values : array of shape (n_clusters, n_features)
    centroid_history : array of shape (n_iterations, n_clusters, n_features), centroids after each iteration
    cost_history : array of shape (n_iterations,), total within-cluster squared distance after each iteration
    label_history : array of shape (n_iterations + 1, n_clusters * n_samples_per_cluster), each sample's
        nearest centroid among the initial centroids, then among the centroids after each iteration
    """
    graph = tf.Graph()
    with graph.as_default():
        data_centroids, samples = create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed)
        initial_centroids = choose_random_centroids(samples, n_clusters, seed=centroid_seed)
        history = iterate_kmeans(samples, initial_centroids, n_clusters, n_iterations)
        costs = [total_squared_distance(samples, centroids) for centroids in history]
        labels = [assign_to_nearest(samples, centroids) for centroids in [initial_centroids, *history]]
        model = tf.global_variables_initializer()
    with tf.Session(graph=graph) as session:
        session.run(model)
        # One run, so every tensor sees the same random draws.
        sample_values, initial_centroid_values, centroid_history, cost_history, label_history = session.run(
            [samples, initial_centroids, tf.stack(history), tf.stack(costs), tf.stack(labels)]
        )
    return sample_values, initial_centroid_values, centroid_history, cost_history, label_history


def format_iteration(iteration, cost, centroids):
    """Return one line of the printed table: the iteration, its cost and its centroids."""
    points = "  ".join("(" + ", ".join(f"{value:8.3f}" for value in centroid) + ")" for centroid in centroids)
    return f"Iteration {iteration:2d}  cost {cost:14.3f}  centroids {points}"


if __name__ == "__main__":
    from functools import partial

    from kmeans_tf.figures import save_animation, trajectory_figure
    from kmeans_tf.lesson_outputs import finish_lesson, lesson_outputs

    output, initial_output, trajectory_output, animation_output = lesson_outputs(__file__, OTHER_OUTPUTS)
    sample_values, initial_centroid_values, centroid_history, cost_history, label_history = main()
    for iteration, (centroids, cost) in enumerate(zip(centroid_history, cost_history), start=1):
        print(format_iteration(iteration, cost, centroids))
    centroid_path = np.concatenate([initial_centroid_values[None], centroid_history])
    finish_lesson(
        {
            output: plot_clusters(sample_values, centroid_history[-1], n_samples_per_cluster),
            # The lesson's second script: the initial centroids over the data, before any iteration.
            initial_output: plot_clusters(sample_values, initial_centroid_values, n_samples_per_cluster),
            trajectory_output: trajectory_figure(sample_values, centroid_path, cost_history, label_history[-1]),
        },
        animations={animation_output: partial(save_animation, sample_values, centroid_path, label_history)},
    )

"""The lesson's first script: generate the samples and plot them around their true centroids."""

from compat import v1 as tf
from functions import create_samples, plot_clusters

n_features = 2
n_clusters = 3
n_samples_per_cluster = 500
seed = 700
embiggen_factor = 70


def main(
    n_clusters=n_clusters, n_samples_per_cluster=n_samples_per_cluster, n_features=n_features,
    embiggen_factor=embiggen_factor, seed=seed,
):  # fmt: skip
    """Build the lesson's graph, run it once, return ``(sample_values, centroid_values)`` as numpy arrays."""
    graph = tf.Graph()
    with graph.as_default():
        centroids, samples = create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed)
        model = tf.global_variables_initializer()
    with tf.Session(graph=graph) as session:
        session.run(model)
        sample_values = session.run(samples)
        centroid_values = session.run(centroids)
    return sample_values, centroid_values


if __name__ == "__main__":
    from kmeans_tf.lesson_outputs import finish_lesson, lesson_outputs

    (output,) = lesson_outputs(__file__)
    sample_values, centroid_values = main()
    finish_lesson({output: plot_clusters(sample_values, centroid_values, n_samples_per_cluster)})

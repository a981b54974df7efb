"""The lesson's functions ("Clustering and k-means", LearningTensorFlow), in TF1 graph mode.

Each function builds ops in the current default graph and returns tensors: none creates a
Session or runs anything. The script or test that calls them owns the ``tf.Graph()`` and
the ``tf.Session``. Names and argument order are the tutorial's; where the port changes
the tutorial, a one-line comment says what the tutorial did and why.
"""

import numpy as np

from compat import v1 as tf

DEFAULT_ITERATIONS = 10  # exercise 2: "perform this iteration 10 times"


def create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed):
    """Build the lesson's data: a blob of normal noise (stddev 5) around each random centroid.

    Returns
    -------
    centroids : tensor of shape (n_clusters, n_features), float32, named "centroids"
    samples : tensor of shape (n_clusters * n_samples_per_cluster, n_features), float32,
        named "samples"; rows i * n_samples_per_cluster ... belong to cluster i.
    """
    # The tutorial drew centroids from the global np.random, so its seed did not fix them.
    rng = np.random.RandomState(seed)
    slices = []
    centroids = []
    with tf.name_scope("create_samples"):
        # Create samples for each cluster
        for i in range(n_clusters):
            samples = tf.random_normal(
                (n_samples_per_cluster, n_features),
                mean=0.0,
                stddev=5.0,
                dtype=tf.float32,
                seed=seed,
                name=f"cluster_{i}",
            )
            current_centroid = (rng.random_sample((1, n_features)) * embiggen_factor) - (embiggen_factor / 2)
            current_centroid = current_centroid.astype(np.float32)
            centroids.append(current_centroid)  # the tutorial never appended: its concat got []
            samples += current_centroid
            slices.append(samples)  # the tutorial never appended: its concat got []
        # Create a big "samples" dataset
        samples = tf.concat(slices, 0, name="samples")
        centroids = tf.concat(centroids, 0, name="centroids")
    return centroids, samples


def choose_random_centroids(samples, n_clusters, seed=None):
    """Pick ``n_clusters`` distinct samples at random as the initial centroids (exercise 1: ``seed``)."""
    with tf.name_scope("choose_random_centroids"):
        # Step 0: Initialisation: Select `n_clusters` number of random points
        n_samples = tf.shape(samples)[0]
        random_indices = tf.random_shuffle(tf.range(0, n_samples), seed=seed)
        begin = [
            0,
        ]
        size = [
            n_clusters,
        ]
        centroid_indices = tf.slice(random_indices, begin, size)
        initial_centroids = tf.gather(samples, centroid_indices, name="initial_centroids")
    return initial_centroids


def assign_to_nearest(samples, centroids):
    """Return the index of the nearest centroid (squared Euclidean distance) for each sample."""
    with tf.name_scope("assign_to_nearest"):
        # (1, n, d) - (k, 1, d) broadcasts to every sample-centroid difference, shape (k, n, d).
        expanded_vectors = tf.expand_dims(samples, 0)
        expanded_centroids = tf.expand_dims(centroids, 1)
        distances = tf.reduce_sum(tf.square(tf.subtract(expanded_vectors, expanded_centroids)), 2)
        mins = tf.argmin(distances, 0, name="nearest_indices")
        nearest_indices = mins
    return nearest_indices


def update_centroids(samples, nearest_indices, n_clusters, previous_centroids=None):
    """Move each centroid to the mean of the samples assigned to it.

    A cluster with no samples keeps its row of ``previous_centroids`` when that is given;
    without it, running the graph raises ``InvalidArgumentError`` naming the empty cluster.
    The tutorial's version silently produced a NaN centroid there.
    """
    with tf.name_scope("update_centroids"):
        # The tutorial's tf.to_int32 is still in tf.compat.v1 (TF 2.21), deprecated in favour of tf.cast.
        nearest_indices = tf.cast(nearest_indices, tf.int32)
        partitions = tf.dynamic_partition(samples, nearest_indices, n_clusters)
        means = []
        for i, partition in enumerate(partitions):
            mean = tf.reduce_mean(partition, 0)
            count = tf.shape(partition)[0]
            if previous_centroids is None:
                not_empty = tf.debugging.assert_positive(
                    count,
                    message=f"update_centroids: cluster {i} has no samples "
                    "(pass previous_centroids to keep its centroid)",
                )
                with tf.control_dependencies([not_empty]):
                    mean = tf.identity(mean)
            else:
                mean = tf.where(count > 0, mean, previous_centroids[i])
            means.append(tf.expand_dims(mean, 0))
        new_centroids = tf.concat(means, 0, name="new_centroids")
    return new_centroids


def total_squared_distance(samples, centroids):
    """Return the k-means cost: the sum over samples of the squared distance to the nearest centroid."""
    with tf.name_scope("total_squared_distance"):
        distances = tf.reduce_sum(tf.square(tf.expand_dims(samples, 0) - tf.expand_dims(centroids, 1)), 2)
        return tf.reduce_sum(tf.reduce_min(distances, 0), name="total_squared_distance")


def iterate_kmeans(samples, initial_centroids, n_clusters, n_iterations=DEFAULT_ITERATIONS):
    """Build exercise 2: ``assign_to_nearest`` then ``update_centroids``, ``n_iterations`` times.

    Returns the list of centroid tensors after each iteration (``n_iterations`` of them,
    each of shape (n_clusters, n_features)). An empty cluster keeps its previous centroid.
    """
    centroids = initial_centroids
    history = []
    with tf.name_scope("iterate_kmeans"):
        for _ in range(n_iterations):
            nearest_indices = assign_to_nearest(samples, centroids)
            centroids = update_centroids(samples, nearest_indices, n_clusters, previous_centroids=centroids)
            history.append(centroids)
    return history


def plot_clusters(all_samples, centroids, n_samples_per_cluster, *, labels=None, ax=None, title=None):
    """Draw the samples, a colour per cluster, and a big magenta X on each centroid.

    As in the tutorial, the samples are coloured by the slice they came from
    (``n_samples_per_cluster`` rows per cluster); pass ``labels`` to colour them by
    cluster label instead. Draws on ``ax`` if given, otherwise on a new ``Figure``.
    Never calls ``plt.show()``.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt  # the tutorial imports it here too
    from matplotlib.figure import Figure

    if ax is None:
        ax = Figure().subplots()  # matplotlib's default size, as the tutorial's plt.scatter
    all_samples = np.asarray(all_samples)
    centroids = np.asarray(centroids)
    # Choose a different colour for each cluster
    colour = plt.cm.rainbow(np.linspace(0, 1, len(centroids)))
    for i, centroid in enumerate(centroids):
        # Grab just the samples for the given cluster and plot them out with a new colour
        if labels is None:
            samples = all_samples[i * n_samples_per_cluster : (i + 1) * n_samples_per_cluster]
        else:
            samples = all_samples[np.asarray(labels) == i]
        ax.scatter(samples[:, 0], samples[:, 1], color=colour[i])
        # Also plot centroid
        ax.plot(centroid[0], centroid[1], markersize=35, marker="x", color="k", mew=10)
        ax.plot(centroid[0], centroid[1], markersize=30, marker="x", color="m", mew=5)
    if title:
        ax.set_title(title)
    return ax.figure

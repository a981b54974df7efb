"""``KMeansLayer``: the engine's labels, scikit-learn's distances and the soft assignments, from centroids given or
adapted, inside a Keras model saved and loaded again, and its door checks."""

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import euclidean_distances
from sklearn.metrics.pairwise import cosine_distances

import kmeans_tf
from kmeans_tf._tensorflow import tf
from kmeans_tf.keras import OUTPUTS, KMeansLayer
from tests.cases import random_case

N_FEATURES, N_CLUSTERS = 3, 4


@pytest.fixture(scope="module")
def blobs():
    """Rows to fit on, rows to label, and centroids fitted on the first (float32)."""
    samples, _ = random_case(0, 300, N_FEATURES, N_CLUSTERS)
    new, _ = random_case(1, 200, N_FEATURES, N_CLUSTERS)
    return samples, new, kmeans_tf.kmeans(samples, N_CLUSTERS, seed=0).centroids


def softmax(values):
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("temperature", [1.0, 10.0], ids=["T=1", "T=10"])
def test_given_centroids_give_the_engines_labels_scikit_learns_distances_and_the_softmax(blobs, temperature):
    _, new, centroids = blobs
    labels = KMeansLayer(N_CLUSTERS, centroids=centroids)(new).numpy()
    assert labels.dtype == np.int64
    assert_array_equal(labels, kmeans_tf.predict(new, centroids))
    distances = KMeansLayer(N_CLUSTERS, output="distances", centroids=centroids)(new).numpy()
    assert_allclose(distances, euclidean_distances(new, centroids), rtol=1e-5, atol=1e-6)
    soft = KMeansLayer(N_CLUSTERS, output="soft", temperature=temperature, centroids=centroids)(new).numpy()
    expected = softmax(-euclidean_distances(new.astype(np.float64), centroids, squared=True) / temperature)
    assert_allclose(soft, expected, rtol=1e-4, atol=1e-6)
    assert_allclose(soft.sum(axis=1), 1, rtol=1e-6)


def test_cosine_gives_the_engines_labels_and_one_minus_cos(blobs):
    samples, new, _ = blobs
    centroids = kmeans_tf.kmeans(samples, N_CLUSTERS, metric="cosine", seed=0).centroids
    labels = KMeansLayer(N_CLUSTERS, metric="cosine", centroids=centroids)(new).numpy()
    assert_array_equal(labels, kmeans_tf.predict(new, centroids, metric="cosine"))
    layer = KMeansLayer(N_CLUSTERS, output="distances", metric="cosine", centroids=centroids)
    assert_allclose(layer(new).numpy(), cosine_distances(new, centroids), atol=1e-6)
    assert_array_equal(KMeansLayer(N_CLUSTERS, metric="cosine", centroids=centroids)(np.zeros((1, 3))), [-1])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_adapt_fits_the_engines_centroids(blobs, metric):
    samples, new, _ = blobs
    layer = KMeansLayer(N_CLUSTERS, metric=metric)
    layer.adapt(samples, seed=3, n_init=2)
    expected = kmeans_tf.kmeans(samples, N_CLUSTERS, metric=metric, seed=3, n_init=2).centroids
    assert_array_equal(layer.centroids.numpy(), expected.astype(np.float32))
    assert_array_equal(layer(new).numpy(), kmeans_tf.predict(new, expected, metric=metric))


def test_adapt_takes_a_dataset_as_the_engine_does(blobs):
    samples, new, _ = blobs
    layer = KMeansLayer(N_CLUSTERS)
    layer.adapt(tf.data.Dataset.from_tensor_slices(samples).batch(64), seed=3)
    expected = kmeans_tf.kmeans(samples, N_CLUSTERS, seed=3).centroids
    assert_allclose(layer.centroids.numpy(), expected, rtol=1e-6)
    assert_array_equal(layer(new).numpy(), kmeans_tf.predict(new, layer.centroids.numpy()))


@pytest.mark.parametrize("output", OUTPUTS)
def test_a_model_saved_and_loaded_gives_the_same_outputs(blobs, tmp_path, output):
    samples, new, _ = blobs
    layer = KMeansLayer(N_CLUSTERS, output=output, temperature=2.0, name="clusters")
    inputs = keras.Input((N_FEATURES,))
    model = keras.Model(inputs, layer(inputs))  # built before adapt, as Keras' preprocessing layers allow
    layer.adapt(samples, seed=0)
    before = model.predict(new, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert_array_equal(loaded.predict(new, verbose=0), before)
    again = loaded.get_layer("clusters")
    assert isinstance(again, KMeansLayer)
    assert again.get_config() == layer.get_config()
    assert_array_equal(again.centroids.numpy(), layer.centroids.numpy())
    assert again.centroids.trainable is False


def test_from_config_makes_the_same_layer(blobs):
    _, new, centroids = blobs
    layer = KMeansLayer(N_CLUSTERS, output="soft", metric="cosine", temperature=0.5, centroids=centroids)
    twin = KMeansLayer.from_config(layer.get_config())
    assert (twin.n_clusters, twin.output_kind, twin.metric, twin.temperature) == (N_CLUSTERS, "soft", "cosine", 0.5)
    twin.build((None, N_FEATURES))
    twin.set_weights(layer.get_weights())
    twin.has_centroids = True
    assert_array_equal(twin(new).numpy(), layer(new).numpy())


def test_calling_before_adapt_or_centroids_is_a_clear_error(blobs):
    _, new, _ = blobs
    layer = KMeansLayer(N_CLUSTERS)
    with pytest.raises(ValueError, match=r"has no centroids yet: call its adapt\(data\) first"):
        layer(new)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n_clusters": 0}, "n_clusters=0 should be an integer >= 1"),
        ({"n_clusters": 2.5}, "n_clusters=2.5 should be an integer >= 1"),
        ({"output": "probabilities"}, "output='probabilities' should be one of 'labels', 'distances', 'soft'"),
        ({"metric": "manhattan"}, "metric='manhattan' should be one of 'euclidean', 'cosine'"),
        ({"temperature": 0}, "temperature=0 should be a finite number > 0"),
        ({"temperature": float("nan")}, "temperature=nan should be a finite number > 0"),
        ({"centroids": np.ones((3, 2))}, r"centroids should have n_clusters=4 rows, got shape \(3, 2\)"),
        ({"centroids": np.zeros((4, 2)), "metric": "cosine"}, "centroids row 0 has length 0"),
    ],
    ids=["n_clusters 0", "n_clusters float", "output", "metric", "temperature 0", "temperature NaN", "rows", "zero"],
)
def test_bad_arguments_are_refused_at_construction(arguments, message):
    arguments = {"n_clusters": N_CLUSTERS, **arguments}
    with pytest.raises(ValueError, match=message):
        KMeansLayer(arguments.pop("n_clusters"), **arguments)


def test_data_of_another_width_than_the_layers_is_refused(blobs):
    samples, _, centroids = blobs
    with pytest.raises(ValueError, match="data has 2 features but the layer's centroids have 3"):
        KMeansLayer(N_CLUSTERS, centroids=centroids).adapt(samples[:, :2], seed=0)
    layer = KMeansLayer(N_CLUSTERS)
    layer.adapt(samples, seed=0)
    for inputs in (keras.Input((2,)), samples[:, :2]):  # a model being built, and data
        with pytest.raises(ValueError, match="the layer's input has 2 features but the layer's centroids have 3"):
            layer(inputs)
    with pytest.raises(ValueError, match="the layer's input has 2 features but the layer's centroids have 3"):
        KMeansLayer(N_CLUSTERS, centroids=centroids)(samples[:, :2])

"""A tf.data.Dataset of float batches, streamed by the engine as a memory map is; the estimators and tensors."""

import tempfile
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import kmeans_tf
from kmeans_tf._tensorflow import tf
from kmeans_tf.stream import budget
from kmeans_tf.stream import streamed as streaming
from tests.cases import DTYPE_IDS, DTYPES, random_case

SMALLEST_BUDGET = budget.MIN_MEMORY_BUDGET  # 1 MiB: chunks of a few thousand rows, across the batches


def batched(samples, rows=333):
    """The rows as a dataset of batches of ``rows`` rows (the last one shorter)."""
    return tf.data.Dataset.from_tensor_slices(samples).batch(rows)


def uneven(samples, seed=0):
    """The rows as a dataset of batches of uneven sizes (some empty), of unknown cardinality."""
    cuts = np.sort(np.random.RandomState(seed).randint(0, len(samples), 40))
    parts = np.split(samples, cuts)
    spec = tf.TensorSpec((None, samples.shape[1]), tf.as_dtype(samples.dtype))
    return tf.data.Dataset.from_generator(lambda: iter(parts), output_signature=spec)


def mapped(tmp_path, samples):
    np.save(tmp_path / "data.npy", samples)
    return np.load(tmp_path / "data.npy", mmap_mode="r")


def assert_same_fit(streamed, in_memory):
    assert_array_equal(np.asarray(streamed.labels), in_memory.labels)
    assert streamed.n_iter == in_memory.n_iter and streamed.centroids.dtype == in_memory.centroids.dtype
    # float64 sums in another order (chunk by chunk): equal to rounding.
    assert_allclose(streamed.centroids, in_memory.centroids, rtol=1e-6, atol=1e-9)
    assert_allclose(streamed.inertia, in_memory.inertia, rtol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("make", [batched, uneven], ids=["batches-of-333", "uneven-batches"])
def test_a_dataset_fit_equals_the_fit_in_memory(tmp_path, dtype, weighted, make):
    samples, initial = random_case(1, 20000, 5, 7, dtype)
    weights = np.random.RandomState(1).uniform(0, 2, len(samples)) if weighted else None
    options = dict(init=initial, max_iter=100, sample_weight=weights)
    in_memory = kmeans_tf.kmeans(samples, 7, **options)
    streamed = kmeans_tf.kmeans(make(samples), 7, memory_budget=SMALLEST_BUDGET, **options)
    assert_same_fit(streamed, in_memory)
    # the chunks a memory map is read in hold the same numbers: the same answer, bit for bit
    from_disk = kmeans_tf.kmeans(mapped(tmp_path, samples), 7, memory_budget=SMALLEST_BUDGET, **options)
    assert_array_equal(streamed.centroids, from_disk.centroids)
    assert streamed.inertia == from_disk.inertia


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_predict_and_inertia_of_a_dataset_equal_those_in_memory(dtype):
    samples, initial = random_case(2, 12000, 3, 5, dtype)
    weights = np.random.RandomState(2).uniform(0, 2, len(samples))
    labels = kmeans_tf.predict(uneven(samples), initial, memory_budget=SMALLEST_BUDGET)
    assert_array_equal(labels, kmeans_tf.predict(samples, initial))
    for weight in (None, weights):
        # float32 distances, summed chunk by chunk: equal to float32 rounding
        assert_allclose(
            kmeans_tf.inertia(batched(samples), initial, sample_weight=weight),
            kmeans_tf.inertia(samples, initial, sample_weight=weight),
            rtol=1e-6,
        )


@pytest.mark.parametrize("init", ["random", "k-means++", "k-means||"])
@pytest.mark.parametrize("sample_rows", [None, 500], ids=["every-row", "rows-by-index"])
def test_seeding_a_dataset_picks_what_a_memory_map_picks(tmp_path, monkeypatch, init, sample_rows):
    if sample_rows is not None:  # seeding reads rows by index: a pass over the dataset each time
        monkeypatch.setattr(streaming, "SEEDING_SAMPLE_ROWS", sample_rows)
    samples, _ = random_case(3, 4000, 4, 6, np.float64)
    options = dict(init=init, seed=7, n_init=2, memory_budget=SMALLEST_BUDGET)
    from_dataset = kmeans_tf.kmeans(batched(samples, 100), 6, **options)
    from_disk = kmeans_tf.kmeans(mapped(tmp_path, samples), 6, **options)
    assert_array_equal(np.asarray(from_dataset.labels), np.asarray(from_disk.labels))
    assert_array_equal(from_dataset.centroids, from_disk.centroids)


def test_an_empty_cluster_takes_the_farthest_row_of_the_dataset():
    samples, initial = random_case(5, 12000, 3, 5, np.float32)
    initial[1] = 1e4  # far from every row: its cluster is empty after the first pass
    in_memory = kmeans_tf.kmeans(samples, 5, init=initial, max_iter=50)
    streamed = kmeans_tf.kmeans(batched(samples), 5, init=initial, max_iter=50, memory_budget=SMALLEST_BUDGET)
    assert_same_fit(streamed, in_memory)
    assert np.bincount(in_memory.labels, minlength=5).min() > 0


def test_a_feature_of_dict_elements_is_chosen_by_dataset_rows():
    samples, initial = random_case(6, 3000, 4, 3, np.float32)
    ids = np.arange(len(samples))
    dataset = tf.data.Dataset.from_tensor_slices({"emb": samples, "id": ids}).batch(128)
    rows = kmeans_tf.DatasetRows(dataset, feature="emb")
    result = kmeans_tf.kmeans(rows, 3, init=initial)
    assert_same_fit(result, kmeans_tf.kmeans(samples, 3, init=initial))
    assert_array_equal(kmeans_tf.predict(rows, result.centroids), result.labels)  # counted once, checked each pass
    with pytest.raises(ValueError, match=r"yields dicts of \['emb', 'id'\]; choose the rows' feature"):
        kmeans_tf.kmeans(dataset, 3)
    with pytest.raises(ValueError, match=r"dataset has no feature 'vec'; its elements hold \['emb', 'id'\]"):
        kmeans_tf.DatasetRows(dataset, feature="vec")


def test_the_labels_of_a_long_dataset_go_to_a_scratch_file(monkeypatch, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    samples, initial = random_case(8, 200_000, 2, 3, np.float64)  # labels: 1.6 MB in memory, over the budget
    streamed = kmeans_tf.kmeans(batched(samples, 4096), 3, init=initial, memory_budget=SMALLEST_BUDGET)
    assert isinstance(streamed.labels, np.memmap) and streamed.labels.dtype == np.int32
    assert_array_equal(streamed.labels, kmeans_tf.kmeans(samples, 3, init=initial).labels)
    del streamed
    assert list(scratch.iterdir()) == []


def test_the_memory_numpy_holds_does_not_grow_with_the_datasets_length():
    def peak(n_rows):
        samples, initial = random_case(9, n_rows, 4, 3, np.float32)
        dataset = batched(samples, 2048)
        del samples  # the dataset holds the rows, in TensorFlow's memory (not traced)
        tracemalloc.start()
        try:
            kmeans_tf.kmeans(dataset, 3, init=initial, max_iter=5, memory_budget=SMALLEST_BUDGET)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # labels beyond the budget live in a scratch file: what numpy holds is the chunks and a batch or two
    small, large = peak(100_000), peak(400_000)
    assert large < 1.2 * small + 2**20, (small, large)


def repeated_twice_then_longer(samples):
    """A dataset that yields ``samples`` on its first two passes, and one row more on the next ones."""
    passes = []

    def rows():
        passes.append(None)
        yield samples
        if len(passes) > 2:
            yield samples[:1]

    return tf.data.Dataset.from_generator(rows, output_signature=tf.TensorSpec((None, 2), tf.float64))


def bad_batches(*batches):
    return tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=tf.TensorSpec(None, tf.float64))


def test_bad_datasets_are_refused_with_one_clear_error():
    ones = np.ones((10, 2))
    cases = [
        (batched(ones).repeat(), r"dataset is infinite \(its cardinality is tf.data.INFINITE_CARDINALITY\)"),
        (batched(ones.astype(np.int32)), "should yield float32 or float64 batches, got int32"),
        (tf.data.Dataset.from_tensor_slices(ones), r"2-D batches \(rows, n_features\), got elements of shape \(2,\)"),
        (bad_batches(ones, ones[:, :1]), r"dataset: batch 1 has shape \(10, 1\), the first batch 2 columns"),
        (bad_batches(ones, np.ones(3)), r"dataset: batch 1 has shape \(3,\); batches should be 2-D"),
        (bad_batches(), r"at least one row and one column, got shape \(0, 0\)"),
        (repeated_twice_then_longer(ones), "yielded more rows on a later pass than the 10 its first pass counted"),
        (
            bad_batches(ones, np.where(np.eye(10, 2), np.nan, 1.0)),
            "dataset should be finite, got nan at row 10, column 0",
        ),
    ]
    for dataset, message in cases:
        with pytest.raises(ValueError, match=message):
            kmeans_tf.kmeans(dataset, 2, init="random", seed=0)
    with pytest.raises(ValueError, match="is a tf.data.Dataset, which is not split among replicas"):
        kmeans_tf.kmeans(batched(ones), 2, strategy=tf.distribute.MirroredStrategy(["/cpu:0"]))


def test_a_dataset_shorter_on_a_later_pass_is_refused():
    passes = []

    def rows():
        passes.append(None)
        yield np.ones((10, 2)) if len(passes) < 3 else np.ones((4, 2))

    dataset = tf.data.Dataset.from_generator(rows, output_signature=tf.TensorSpec((None, 2), tf.float64))
    with pytest.raises(ValueError, match="dataset ended after 4 rows on a later pass, where its first pass counted 10"):
        kmeans_tf.kmeans(dataset, 2, init="random", seed=0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_kmeans_estimator_fits_predicts_and_scores_a_dataset(dtype):
    samples, initial = random_case(10, 5000, 3, 4, dtype)
    dataset = batched(samples, 256)
    in_memory = kmeans_tf.KMeans(4, init=initial, n_init=1).fit(samples)
    streamed = kmeans_tf.KMeans(4, init=initial, n_init=1).fit(dataset)
    assert_array_equal(streamed.labels_, in_memory.labels_)
    assert_allclose(streamed.cluster_centers_, in_memory.cluster_centers_, rtol=1e-6, atol=1e-9)
    # seeded by random_state as the engine is by seed (in memory, the estimator weighs each row 1 explicitly)
    seeded = kmeans_tf.KMeans(4, random_state=3).fit(dataset)
    assert_array_equal(seeded.labels_, kmeans_tf.kmeans(samples, 4, seed=3).labels)
    assert streamed.n_features_in_ == 3 and streamed.cluster_centers_.dtype == dtype
    assert_array_equal(streamed.predict(dataset), in_memory.predict(samples))
    assert streamed.score(dataset) == pytest.approx(in_memory.score(samples), rel=1e-6)
    with pytest.raises(ValueError, match="X has 2 features, but KMeans is expecting 3 features as input"):
        streamed.predict(batched(samples[:, :2]))
    with pytest.raises(ValueError, match="transform returns one row of distances per sample"):
        streamed.transform(dataset)
    with pytest.raises(ValueError, match="MiniBatchKMeans.fit draws its batches at random"):
        kmeans_tf.MiniBatchKMeans(4).fit(dataset)
    with pytest.raises(ValueError, match="a callable init is called with X in memory"):
        kmeans_tf.KMeans(4, init=lambda X, k, random_state: initial).fit(dataset)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_partial_fit_takes_each_batch_of_a_dataset_as_a_tensor(dtype):
    samples, _ = random_case(11, 2000, 3, 4, dtype)
    from_tensors = kmeans_tf.MiniBatchKMeans(4, random_state=0, batch_size=500)
    from_arrays = kmeans_tf.MiniBatchKMeans(4, random_state=0, batch_size=500)
    for batch in batched(samples, 500):
        from_tensors.partial_fit(batch)
        from_arrays.partial_fit(batch.numpy())
    assert from_tensors.cluster_centers_.dtype == dtype
    assert_array_equal(from_tensors.cluster_centers_, from_arrays.cluster_centers_)
    assert_array_equal(from_tensors.predict(tf.constant(samples)), from_arrays.predict(samples))

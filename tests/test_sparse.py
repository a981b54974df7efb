"""Sparse rows (scipy.sparse): the dense answer from the same start, on every entry point, never made dense."""

import numpy as np
import pytest
import scipy.sparse
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as ScikitKMeans

from kmeans_tf import KMeans, MiniBatchKMeans, inertia, kmeans, kmeans_plusplus, minibatch_kmeans, predict
from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import csr_rows, sparse
from tests.cases import DTYPE_IDS, DTYPES


def sparse_case(seed, n_rows=1500, n_features=40, n_clusters=5, dtype=np.float64, density=0.15):
    """Rows of a few non-zeros around ``n_clusters`` sparse centres, CSR, and ``n_clusters`` rows as a start."""
    rng = np.random.RandomState(seed)
    centres = scipy.sparse.random(n_clusters, n_features, density=0.3, random_state=rng).toarray() * 10
    mask = rng.uniform(size=(n_rows, n_features)) < density
    dense = np.where(mask, centres[rng.randint(n_clusters, size=n_rows)] + rng.normal(0, 1, (n_rows, n_features)), 0)
    rows = scipy.sparse.csr_matrix(dense.astype(dtype))
    return rows, rows[rng.choice(n_rows, n_clusters, replace=False)].toarray()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
def test_sparse_rows_give_scikit_learns_answer_from_the_same_start(either_path, dtype, weighted, algorithm):
    rows, initial = sparse_case(0, dtype=dtype)
    weights = np.random.RandomState(0).uniform(0.5, 2, rows.shape[0]) if weighted else None
    ours = kmeans(rows, 5, init=initial, algorithm=algorithm, sample_weight=weights)
    theirs = ScikitKMeans(5, init=initial, n_init=1, algorithm="lloyd").fit(rows, sample_weight=weights)
    assert_array_equal(ours.labels, theirs.labels_)
    assert ours.n_iter == theirs.n_iter_
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    assert_allclose(ours.centroids, theirs.cluster_centers_, rtol=rtol, atol=rtol)
    assert_allclose(ours.inertia, theirs.inertia_, rtol=rtol)
    dense = kmeans(rows.toarray(), 5, init=initial, algorithm=algorithm, sample_weight=weights)
    assert_array_equal(ours.labels, dense.labels)


def test_every_format_and_dtype_is_taken_and_nothing_given_changes():
    rows, initial = sparse_case(1)
    expected = kmeans(rows, 5, init=initial)
    unsorted = rows.copy()
    unsorted.indices = unsorted.indices.copy()
    for row in range(unsorted.shape[0]):  # each row's columns in reverse order: not canonical
        start, stop = unsorted.indptr[row], unsorted.indptr[row + 1]
        unsorted.indices[start:stop] = unsorted.indices[start:stop][::-1].copy()
        unsorted.data[start:stop] = unsorted.data[start:stop][::-1].copy()
    unsorted.has_sorted_indices = False
    kept = unsorted.copy()
    for given in (rows.tocsc(), scipy.sparse.csr_array(rows), rows.tocoo(), unsorted):
        assert_array_equal(kmeans(given, 5, init=initial).labels, expected.labels)
    assert_array_equal(unsorted.indices, kept.indices) and assert_array_equal(unsorted.data, kept.data)
    integers = scipy.sparse.csr_matrix(np.rint(rows.toarray()).astype(np.int32))
    assert kmeans(integers, 5, init=initial).centroids.dtype == np.float64


def test_predict_inertia_and_the_estimators_on_sparse_rows(either_path):
    rows, initial = sparse_case(2, dtype=np.float32)
    model = KMeans(5, init=initial).fit(rows)
    assert_array_equal(model.predict(rows), model.labels_)
    assert_array_equal(predict(rows, model.cluster_centers_), model.labels_)
    assert_allclose(-model.score(rows), inertia(rows, model.cluster_centers_), rtol=1e-6)
    distances = model.transform(rows)
    assert_allclose(distances, model.transform(rows.toarray()), rtol=1e-5, atol=1e-4)
    assert_array_equal(distances.argmin(axis=1), model.labels_)
    with pytest.raises(ValueError, match="has a row of zeros at row"):  # rows with no non-zero have no direction
        KMeans(5, init=initial, metric="cosine").fit(rows)
    rows = rows[np.diff(rows.indptr) > 0]
    # A dense start: sparse centroids would tie exactly (cos 0) on the rows outside their non-zeros, and the two
    # kernels may break such a tie apart by the rounding of the centroids' unit lengths.
    start = np.abs(np.random.RandomState(2).normal(size=initial.shape)).astype(np.float32)
    cosine = KMeans(5, init=start, metric="cosine").fit(rows)
    assert_array_equal(cosine.labels_, kmeans(rows.toarray(), 5, init=start, metric="cosine").labels)
    assert_allclose(np.linalg.norm(cosine.cluster_centers_, axis=1), 1, rtol=1e-6)


def test_mini_batches_and_seeding_on_sparse_rows():
    rows, _ = sparse_case(3, n_rows=6000)
    full = kmeans(rows, 5, seed=0, n_init=3)
    batches = minibatch_kmeans(rows, 5, seed=0, n_init=3, batch_size=512)
    assert batches.inertia < 1.1 * full.inertia
    stepped = MiniBatchKMeans(5, random_state=0)
    for start in range(0, rows.shape[0], 1000):
        stepped.partial_fit(rows[start : start + 1000])
    assert stepped.cluster_centers_.shape == (5, 40)
    centers, indices = kmeans_plusplus(rows, 5, random_state=0)
    assert_array_equal(centers, rows[indices].toarray())
    for init in ("k-means++", "k-means||", "random"):
        assert kmeans(rows, 5, init=init, seed=1).inertia < 1.5 * full.inertia


def test_a_nan_in_sparse_rows_is_named_by_its_row_and_column():
    rows, _ = sparse_case(4)
    rows = rows.copy()
    row = 7
    rows.data[rows.indptr[row]] = np.nan
    column = rows.indices[rows.indptr[row]]
    with pytest.raises(ValueError, match=f"samples should be finite, got nan at row {row}, column {column}"):
        kmeans(rows, 3)


def test_documents_cluster_through_a_tfidf_pipeline():
    # the README's example
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    documents = [
        "the cat sat on the mat",
        "my cat chased the neighbour's cat",
        "a cat and a kitten",
        "stock markets fell sharply today",
        "bond markets and stock prices",
        "markets rallied as stock prices rose",
    ]
    pipeline = make_pipeline(TfidfVectorizer(), KMeans(2, metric="cosine", random_state=0))
    labels = pipeline.fit_predict(documents)
    assert len(set(labels[:3])) == 1 and len(set(labels[3:])) == 1 and labels[0] != labels[3]


def test_rows_beyond_float64_squares_give_the_dense_rows_answer():
    # values near 1e150: their squares leave no room in float64, so the rows are scaled down inside and the inertia is
    # measured on the rows themselves, non-zero by non-zero
    rows, initial = sparse_case(7, n_rows=400, n_features=12, n_clusters=3)
    huge, huge_initial = rows * 1e150, initial * 1e150
    ours = kmeans(huge, 3, init=huge_initial)
    dense = kmeans(huge.toarray(), 3, init=huge_initial)
    assert_array_equal(ours.labels, dense.labels)
    assert_allclose(ours.inertia, dense.inertia, rtol=1e-9)
    assert_allclose(inertia(huge, ours.centroids), dense.inertia, rtol=1e-9)


def test_the_rows_squared_norms_are_the_same_made_a_few_rows_at_a_time(monkeypatch):
    rows, _ = sparse_case(8, n_rows=300, n_features=30)
    rows = scipy.sparse.vstack([scipy.sparse.csr_matrix((3, 30)), rows, scipy.sparse.csr_matrix((2, 30))]).tocsr()
    expected = np.asarray(rows.multiply(rows).sum(axis=1), np.float64).ravel()
    whole = sparse.squared_norms(rows)
    monkeypatch.setattr(sparse, "NORM_CHUNK", 7)  # a row or two at a time, rows of none among them
    assert_array_equal(sparse.squared_norms(rows), whole)
    assert_allclose(whole, expected, rtol=1e-13)


@pytest.mark.parametrize("algorithm", ["lloyd", "auto"])
def test_an_empty_cluster_of_sparse_rows_is_relocated_as_scikit_learn_does(either_path, algorithm):
    rows, initial = sparse_case(9, n_clusters=4)
    initial = np.vstack([initial[:3], np.full((1, rows.shape[1]), 100.0)])  # far from every row: empty at first
    ours = kmeans(rows, 4, init=initial, algorithm=algorithm)
    theirs = ScikitKMeans(4, init=initial, n_init=1, algorithm="lloyd").fit(rows)
    assert_array_equal(ours.labels, theirs.labels_)
    assert ours.n_iter == theirs.n_iter_ and np.bincount(ours.labels, minlength=4).min() > 0
    assert_allclose(ours.centroids, theirs.cluster_centers_, rtol=1e-10, atol=1e-10)


def unaligned(array):
    """A copy of the 1-D ``array`` in a buffer not aligned to the 64 bytes TensorFlow's own kernels require."""
    raw = np.empty(array.size + 1, array.dtype)
    copy = raw[1:] if raw.ctypes.data % csr_rows.TENSOR_ALIGNMENT == 0 else raw[:-1]
    copy[...] = array
    assert copy.ctypes.data % csr_rows.TENSOR_ALIGNMENT != 0
    return copy


@pytest.mark.parametrize("algorithm", ["lloyd", "auto"])
def test_the_c_kernel_reads_unaligned_rows_in_place_and_relocates_as_from_a_copy(native_kernel, algorithm):
    rows, initial = sparse_case(9, n_clusters=4)
    initial = np.vstack([initial[:3], np.full((1, rows.shape[1]), 100.0)])  # far from every row: empty at first
    odd = scipy.sparse.csr_matrix((unaligned(rows.data), unaligned(rows.indices), rows.indptr), shape=rows.shape)
    expected = kmeans(rows.copy(), 4, init=initial, algorithm=algorithm)
    found = kmeans(odd, 4, init=initial, algorithm=algorithm)
    assert_array_equal(found.labels, expected.labels)
    assert found.centroids.tobytes() == expected.centroids.tobytes()
    assert np.bincount(found.labels, minlength=4).min() > 0  # the empty cluster took a row


def test_rows_in_place_are_the_callers_arrays_and_copies_where_they_cannot_be(native_kernel):
    rows = sparse_case(3)[0]
    centroid, labels = np.zeros((1, rows.shape[1])), np.zeros(rows.shape[0], np.int64)

    def squares(tensors):  # the sum of the rows' squared norms, as the C kernel reads them
        return float(native_kernel.sum_squared_distances(tensors, centroid, labels))

    shared = csr_rows.in_place(rows)
    before = squares(shared)
    rows.data *= 2  # written after the tensors were made: they read the same memory
    assert squares(shared) == pytest.approx(4 * before, rel=1e-12)
    frozen = rows.copy()
    frozen.data.flags.writeable = False  # DLPack exports no read-only array: copied
    wide = scipy.sparse.csr_matrix((rows.data, rows.indices.astype(np.int64), rows.indptr), shape=rows.shape)
    for copied in (frozen, wide):
        tensors = csr_rows.in_place(copied)
        assert tensors.columns.dtype == tf.int32 and squares(tensors) == pytest.approx(4 * before, rel=1e-12)
    readable = native_kernel.readable(shared)  # copies that TensorFlow's own ops may read
    assert float(tf.reduce_sum(readable.values**2)) == pytest.approx(4 * before, rel=1e-12)
    assert_array_equal(readable.columns.numpy(), rows.indices)


def test_a_fit_by_the_c_kernel_copies_none_of_the_rows(native_kernel, monkeypatch):
    rows, initial = sparse_case(4)
    expected = kmeans(rows, 5, init=initial)

    def refuse(array):
        raise AssertionError(f"a copy of {array.nbytes} bytes of the rows")

    monkeypatch.setattr(csr_rows, "tensor_of", refuse)
    assert_array_equal(kmeans(rows, 5, init=initial).labels, expected.labels)

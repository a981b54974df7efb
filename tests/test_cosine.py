"""metric="cosine": spherical k-means on every path (in memory, streamed, mini-batch, estimators, elbow)."""

import json

import numpy as np
import pandas
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import metrics

from kmeans_tf import KMeans, MiniBatchKMeans, Shards, elbow, inertia, kmeans, minibatch_kmeans, predict
from tests.cases import DTYPE_IDS, DTYPES, assert_error, first_fast, fit_outputs, random_case, run

SQRT_HALF = np.sqrt(0.5)


def unit(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def spherical_reference(samples, initial, weights=None, max_iter=300):
    """Spherical k-means in plain numpy, float64: labels by largest cosine, centroids the normalised weighted mean
    direction, until no label changes. Returns labels, centroids, inertia, iterations, and the smallest margin of a
    row (its largest cosine less its second largest) over the iterations."""
    rows, centroids = unit(np.asarray(samples, np.float64)), unit(np.asarray(initial, np.float64))
    weights = np.ones(len(rows)) if weights is None else weights
    labels, margin = None, np.inf
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        similarity = rows @ centroids.T
        best_two = np.sort(similarity, axis=1)[:, -2:]
        margin = min(margin, float((best_two[:, 1] - best_two[:, 0]).min()))
        new_labels = np.argmax(similarity, axis=1)
        sums = np.stack(
            [(weights[new_labels == j, None] * rows[new_labels == j]).sum(axis=0) for j in range(len(centroids))]
        )
        assert (np.bincount(new_labels, minlength=len(centroids)) > 0).all(), "the case should have no empty cluster"
        changed = labels is None or (new_labels != labels).any()
        labels, centroids = new_labels, unit(sums)
        if not changed:
            break
    similarity = rows @ centroids.T
    labels = np.argmax(similarity, axis=1)
    cost = float(weights @ (1 - similarity[np.arange(len(rows)), labels]))
    return labels, centroids, cost, n_iter, margin


def test_a_tiny_case_worked_out_by_hand(either_path):
    # Directions (0.6, 0.8), (0.8, 0.6), (0, -1), (-1, 0), whatever their lengths; from the diagonals both ways, each
    # pair's mean direction is a diagonal again: cos = 1.4 / sqrt(2) for the first two rows, 1 / sqrt(2) for the others.
    samples = np.array([[3.0, 4.0], [8.0, 6.0], [0.0, -2.0], [-0.5, 0.0]])
    result = kmeans(samples, 2, init=np.array([[1.0, 1.0], [-2.0, -2.0]]), metric="cosine")
    assert_array_equal(result.labels, [0, 0, 1, 1])
    assert_allclose(result.centroids, [[SQRT_HALF, SQRT_HALF], [-SQRT_HALF, -SQRT_HALF]], rtol=1e-15)
    assert_allclose(result.inertia, 2 * (1 - 1.4 * SQRT_HALF) + 2 * (1 - SQRT_HALF), rtol=1e-14)
    assert result.converged and result.n_iter == 1  # the start's directions are the answer: nothing moves
    assert_allclose(inertia(samples * 7, result.centroids * 3, metric="cosine"), result.inertia, rtol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("seed", first_fast(range(4)))
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_the_numpy_reference_from_the_same_start(either_path, seed, dtype, weighted):
    samples, initial = random_case(seed, 2000, 6, 5, dtype)
    weights = np.random.RandomState(seed).uniform(0.5, 2, len(samples)) if weighted else None
    labels, centroids, cost, n_iter, margin = spherical_reference(samples, initial, weights)
    # Float32 rows and distances round a cosine by a few 1e-8 here: no row lies that near a tie at any iteration, or
    # the labels could differ by rounding alone (float64: by a few 1e-16).
    assert margin > (5e-7 if dtype == np.float32 else 1e-12)
    result = kmeans(samples, 5, init=initial, metric="cosine", sample_weight=weights, tol=0)
    assert_array_equal(result.labels, labels)
    assert result.n_iter == n_iter and result.converged
    # float32 rows and centroids: each cell within a few float32 roundings of the float64 reference
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(result.centroids, centroids, rtol=rtol, atol=rtol)
    assert_allclose(np.linalg.norm(result.centroids.astype(np.float64), axis=1), 1, rtol=rtol)
    assert_allclose(result.inertia, cost, rtol=rtol)
    assert result.centroids.dtype == dtype


def test_the_callers_rows_are_never_written():
    samples, initial = random_case(1, 500, 4, 3, np.float64)
    kept = samples.copy()
    kmeans(samples, 3, init=initial, metric="cosine")
    predict(samples, initial, metric="cosine")
    inertia(samples, initial, metric="cosine")
    minibatch_kmeans(samples, 3, metric="cosine", seed=0, batch_size=100)
    assert_array_equal(samples, kept)


def test_lengths_do_not_matter():
    samples, initial = random_case(2, 1000, 5, 4, np.float32)
    lengths = np.random.RandomState(2).uniform(0.01, 100, (len(samples), 1)).astype(np.float32)
    first = kmeans(samples, 4, init=initial, metric="cosine")
    scaled = kmeans(samples * lengths, 4, init=initial * 5, metric="cosine")
    assert_array_equal(scaled.labels, first.labels)
    assert_allclose(scaled.centroids, first.centroids, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("init", ["k-means++", "k-means||", "random", "given"])
def test_streamed_gives_the_answer_in_memory(tmp_path, init):
    samples, initial = random_case(3, 6000, 5, 6, np.float32)
    np.save(tmp_path / "a.npy", samples[:2500])
    np.save(tmp_path / "b.npy", samples[2500:])
    shards = Shards([np.load(tmp_path / "a.npy", mmap_mode="r"), np.load(tmp_path / "b.npy", mmap_mode="r")])
    weights = np.random.RandomState(3).uniform(0.5, 2, len(samples))
    options = dict(init=initial) if init == "given" else dict(init=init, seed=4, n_init=2)
    in_memory = kmeans(samples, 6, metric="cosine", sample_weight=weights, keep_iterations=True, **options)
    streamed = kmeans(
        shards, 6, metric="cosine", sample_weight=weights, keep_iterations=True, memory_budget=2**20, **options
    )
    assert_array_equal(np.asarray(streamed.labels), in_memory.labels)
    assert streamed.n_iter == in_memory.n_iter
    assert_allclose(streamed.centroids, in_memory.centroids, rtol=1e-6, atol=1e-7)
    assert_allclose(streamed.inertia, in_memory.inertia, rtol=1e-9)
    assert_allclose(streamed.iterations.inertia, in_memory.iterations.inertia, rtol=1e-9)
    assert_array_equal(np.asarray(predict(shards, in_memory.centroids, metric="cosine")), in_memory.labels)
    assert_allclose(
        inertia(shards, in_memory.centroids, metric="cosine", sample_weight=weights), in_memory.inertia, rtol=1e-9
    )


def test_inertia_is_the_weighted_sum_of_one_minus_cosine():
    samples, initial = random_case(4, 800, 3, 5, np.float64)
    weights = np.random.RandomState(4).uniform(0, 3, len(samples))
    cosines = unit(samples) @ unit(initial).T
    expected = float(weights @ (1 - cosines.max(axis=1)))
    assert_allclose(inertia(samples, initial, metric="cosine", sample_weight=weights), expected, rtol=1e-12)
    assert_array_equal(predict(samples, initial, metric="cosine"), cosines.argmax(axis=1))


def test_a_row_of_zeros_is_refused_by_its_row(tmp_path):
    samples, initial = random_case(5, 300, 4, 3, np.float64)
    samples[17] = 0
    message = "samples has a row of zeros at row 17: metric='cosine' compares rows by direction"
    for call in (
        lambda: kmeans(samples, 3, metric="cosine"),
        lambda: predict(samples, initial, metric="cosine"),
        lambda: inertia(samples, initial, metric="cosine"),
        lambda: minibatch_kmeans(samples, 3, metric="cosine"),
        lambda: kmeans(np.asarray(samples), 3, metric="cosine", memory_budget=2**20),
    ):
        with pytest.raises(ValueError, match=message):
            call()
    np.save(tmp_path / "a.npy", samples[:10])
    np.save(tmp_path / "b.npy", samples[10:])
    shards = Shards([np.load(tmp_path / "a.npy", mmap_mode="r"), np.load(tmp_path / "b.npy", mmap_mode="r")])
    with pytest.raises(ValueError, match=r"b\.npy has a row of zeros at row 7:"):
        kmeans(shards, 3, metric="cosine")
    good = samples[:17]
    initial[1] = 0
    with pytest.raises(ValueError, match="init has a row of zeros at row 1"):
        kmeans(good, 3, init=initial, metric="cosine")
    with pytest.raises(ValueError, match="centroids has a row of zeros at row 1"):
        predict(good, initial, metric="cosine")


def test_an_unknown_metric_is_refused():
    samples, _ = random_case(0, 50, 2, 2)
    for call in (
        lambda: kmeans(samples, 2, metric="manhattan"),
        lambda: predict(samples, samples[:2], metric="manhattan"),
        lambda: minibatch_kmeans(samples, 2, metric="manhattan"),
    ):
        with pytest.raises(ValueError, match="metric='manhattan' should be one of 'euclidean', 'cosine'"):
            call()


def test_the_estimators_take_the_metric(either_path):
    samples, initial = random_case(6, 1500, 5, 4, np.float32)
    expected = kmeans(samples, 4, init=initial, metric="cosine")
    model = KMeans(4, init=initial, metric="cosine").fit(samples)
    assert_array_equal(model.labels_, expected.labels)
    assert_array_equal(model.predict(samples), expected.labels)
    distances = model.transform(samples)
    assert_allclose(
        distances, 1 - unit(samples.astype(np.float64)) @ unit(model.cluster_centers_.astype(np.float64)).T, atol=1e-6
    )
    assert_array_equal(distances.argmin(axis=1), expected.labels)
    assert_allclose(model.score(samples), -expected.inertia, rtol=1e-6)
    batches = MiniBatchKMeans(4, init=initial, metric="cosine", batch_size=300, random_state=0).fit(samples)
    assert_allclose(np.linalg.norm(batches.cluster_centers_, axis=1), 1, rtol=1e-6)
    assert_allclose(batches.inertia_, inertia(samples, batches.cluster_centers_, metric="cosine"), rtol=1e-9)
    stepped = MiniBatchKMeans(4, init=initial, metric="cosine", random_state=0)
    for start in range(0, len(samples), 500):
        stepped.partial_fit(samples[start : start + 500])
        assert_allclose(np.linalg.norm(stepped.cluster_centers_, axis=1), 1, rtol=1e-6)
    assert stepped.score(samples) > -inertia(samples, initial, metric="cosine")  # the steps improve on the start


def test_mini_batches_come_near_the_full_fit():
    samples, _ = random_case(7, 20000, 8, 6, np.float32)
    full = kmeans(samples, 6, metric="cosine", seed=0, n_init=3)
    batches = minibatch_kmeans(samples, 6, metric="cosine", seed=0, n_init=3, batch_size=512)
    assert_allclose(np.linalg.norm(batches.centroids, axis=1), 1, rtol=1e-6)
    assert batches.inertia < 1.05 * full.inertia
    assert_allclose(batches.inertia, inertia(samples, batches.centroids, metric="cosine"), rtol=1e-9)


def test_elbow_scores_by_direction():
    samples, _ = random_case(8, 600, 4, 3, np.float64)
    result = elbow(samples, [2, 3, 4], metric="cosine", seed=0)
    fit = kmeans(samples, 3, metric="cosine", seed=0)
    assert_allclose(result.inertia[1], fit.inertia, rtol=1e-12)
    rows = result.silhouette_sample
    assert_allclose(result.silhouette[1], metrics.silhouette_score(samples[rows], fit.labels[rows], metric="cosine"))
    assert_allclose(result.calinski_harabasz[1], metrics.calinski_harabasz_score(unit(samples), fit.labels), rtol=1e-9)


def test_the_command_line_fits_streams_and_predicts_by_direction(tmp_path):
    samples, initial = random_case(9, 20000, 16, 6, np.float32)
    np.save(tmp_path / "emb.npy", samples)
    np.save(tmp_path / "init.npy", initial)
    budget = "1MiB"  # less than the data's 1.2 MiB: streamed, a chunk at a time
    fitted = run(
        "fit", tmp_path / "emb.npy", "--init", tmp_path / "init.npy", "--metric", "cosine", "--memory-budget", budget,
        *fit_outputs(tmp_path, "centroids.csv"),
    )  # fmt: skip
    assert fitted.exit_code == 0, fitted.output
    summary = json.loads(fitted.stdout)
    expected = kmeans(samples, 6, init=initial, metric="cosine")
    assert summary["metric"] == "cosine" and summary["n_iter"] == expected.n_iter
    assert_allclose(summary["inertia"], expected.inertia, rtol=1e-9)
    assert_array_equal(np.loadtxt(tmp_path / "labels.txt", dtype=np.int64), expected.labels)
    assert (tmp_path / "centroids.csv").read_text().splitlines()[0] == "# metric: cosine"
    assert_allclose(np.loadtxt(tmp_path / "centroids.csv", delimiter=","), expected.centroids, rtol=1e-6)
    written = pandas.read_csv(tmp_path / "centroids.csv", comment="#", header=None).to_numpy()
    assert_allclose(written, expected.centroids, rtol=1e-6)  # as the guide says pandas reads it

    # predict takes the metric the file records, and refuses another
    predicted = run(
        "predict",
        tmp_path / "emb.npy",
        "--centroids",
        tmp_path / "centroids.csv",
        "--labels-out",
        tmp_path / "again.txt",
    )
    assert predicted.exit_code == 0, predicted.output
    assert_array_equal(np.loadtxt(tmp_path / "again.txt", dtype=np.int64), expected.labels)
    assert "(by cosine)" in predicted.stderr
    refused = run("predict", tmp_path / "emb.npy", "--centroids", tmp_path / "centroids.csv", "--metric", "euclidean")
    assert_error(refused, "records the metric cosine", "--metric euclidean")


def test_the_command_line_refuses_what_cannot_work(tmp_path):
    samples, _ = random_case(10, 200, 4, 3, np.float64)
    samples[42] = 0
    np.save(tmp_path / "emb.npy", samples)
    zero_row = run("fit", tmp_path / "emb.npy", "-k", "3", "--metric", "cosine")
    assert_error(zero_row, "has a row of zeros at row 42")
    npy_out = run("fit", tmp_path / "emb.npy", "-k", "3", "--metric", "cosine", "--centroids-out", tmp_path / "c.npy")
    assert_error(npy_out, "cannot record --metric cosine", exit_code=2)
    assert not (tmp_path / "c.npy").exists()


def test_elbow_on_the_command_line_reports_the_metric(tmp_path):
    samples, _ = random_case(11, 300, 4, 3, np.float64)
    np.save(tmp_path / "emb.npy", samples)
    result = run("elbow", tmp_path / "emb.npy", "--k", "2:4", "--metric", "cosine", "--seed", "0", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["metric"] == "cosine"
    assert_allclose(summary["table"][1]["inertia"], kmeans(samples, 3, metric="cosine", seed=0).inertia, rtol=1e-12)


def test_the_callback_reports_the_inertia_of_one_minus_cosine(either_path):
    samples, initial = random_case(12, 1000, 4, 3, np.float64)
    states = []
    result = kmeans(samples, 3, init=initial, metric="cosine", keep_iterations=True, callback=states.append)
    assert [state.iteration for state in states] == list(range(result.n_iter))
    assert_allclose([state.inertia for state in states], result.iterations.inertia, rtol=1e-12)
    assert_allclose(result.iterations.inertia[-1], result.inertia, rtol=1e-9)  # converged: the last pass's labels

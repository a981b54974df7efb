"""One answer whatever the split: the same labels, iterations and centroids, bit for bit, however the rows are cut.

The data lie near ties: overlapping clusters far from the origin in float32, where a
centroid one float32 step away moves rows from one cluster to another. A cluster's sum
added up in another order (another chunk size, shard, thread count or worker) would give
such a step now and then; the engine's sums are exact (``kmeans_tf.engine.exact``), so none
comes. The runs cover memory budgets from 1 MiB, 1 to 7 shards of uneven sizes, 1 and 2
threads, both kernels, weights, the cosine metric, and 2 and 3 workers.
"""

import json
import os

import numpy as np
import pytest
import scipy.sparse
from numpy.testing import assert_array_equal

from kmeans_tf import kmeans, load_shards
from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import csr_rows, exact, kernels, tf_ops
from tests.cases import run
from tests.test_distributed import finish, start_workers

N_ROWS, N_FEATURES, N_CLUSTERS = 60013, 6, 11
BUDGETS = [2**20, 4 * 2**20, None]


def near_ties(seed=7):
    """Rows of overlapping clusters around 1000 in float32, a start of rows among them, and weights."""
    rng = np.random.RandomState(seed)
    samples = (rng.normal(size=(N_ROWS, N_FEATURES)) * 2 + 1000).astype(np.float32)
    initial = samples[rng.choice(N_ROWS, N_CLUSTERS, replace=False)].copy()
    return samples, initial, rng.uniform(0.5, 2.0, N_ROWS)


def fit(samples, initial, **options):
    return kmeans(samples, N_CLUSTERS, init=initial, n_init=1, max_iter=60, **options)


def assert_same_answer(found, expected):
    assert_array_equal(np.asarray(found.labels), np.asarray(expected.labels))
    assert (found.n_iter, found.converged) == (expected.n_iter, expected.converged)
    assert found.centroids.tobytes() == expected.centroids.tobytes()  # bit for bit


def write_shards(folder, samples, n_shards, seed):
    """``samples`` as ``n_shards`` .npy files of uneven sizes in ``folder``; return the folder."""
    folder.mkdir()
    cuts = np.sort(np.random.RandomState(seed).choice(np.arange(1, len(samples)), n_shards - 1, replace=False))
    for index, piece in enumerate(np.split(samples, cuts)):
        np.save(folder / f"{index:02d}.npy", piece)
    return folder


@pytest.fixture(scope="module")
def case():
    return near_ties()


@pytest.fixture(scope="module")
def in_memory(case):
    samples, initial, weights = case
    return {
        "plain": fit(samples, initial),
        "weighted": fit(samples, initial, sample_weight=weights),
        "cosine": fit(samples - 1000, initial - 1000, metric="cosine"),
    }


@pytest.mark.parametrize("budget", BUDGETS)
def test_a_memory_map_gives_the_answer_in_memory_at_any_budget(tmp_path, case, in_memory, budget):
    samples, initial, weights = case
    np.save(tmp_path / "x.npy", samples)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert_same_answer(fit(mapped, initial, memory_budget=budget), in_memory["plain"])
    assert_same_answer(fit(mapped, initial, memory_budget=budget, sample_weight=weights), in_memory["weighted"])


@pytest.mark.parametrize("n_shards", range(1, 8))
def test_shards_give_the_answer_in_memory_however_the_rows_are_cut(tmp_path, case, in_memory, n_shards):
    samples, initial, _ = case
    folder = write_shards(tmp_path / "shards", samples, n_shards, seed=n_shards)
    budget = BUDGETS[n_shards % len(BUDGETS)]
    assert_same_answer(fit(load_shards(folder), initial, memory_budget=budget), in_memory["plain"])


def test_the_cosine_metric_gives_one_answer_in_memory_and_streamed(tmp_path, case, in_memory):
    samples, initial, _ = case
    folder = write_shards(tmp_path / "shards", samples - 1000, 3, seed=3)
    assert_same_answer(
        fit(load_shards(folder), initial - 1000, metric="cosine", memory_budget=2**20), in_memory["cosine"]
    )


@pytest.mark.parametrize("cpus", [1, 2])
def test_the_answer_is_the_same_on_one_or_two_threads(case, in_memory, cpus):
    samples, initial, _ = case
    allowed = os.sched_getaffinity(0)
    if len(allowed) < cpus:
        pytest.skip(f"this machine lets the process use {len(allowed)} CPU")
    os.sched_setaffinity(0, sorted(allowed)[:cpus])  # the C kernel runs as many threads as usable CPUs
    try:
        assert_same_answer(fit(samples, initial), in_memory["plain"])
    finally:
        os.sched_setaffinity(0, allowed)


def test_tensorflows_ops_give_one_answer_however_the_rows_are_cut(tmp_path, without_native_kernel, case):
    # TensorFlow's matmul rounds distances otherwise than the C kernel: a near tie may go the other way there,
    # but its own answer is the same in memory and over shards.
    samples, initial, weights = case
    folder = write_shards(tmp_path / "shards", samples, 3, seed=3)
    weights_file = tmp_path / "weights.npy"
    np.save(weights_file, weights)
    for options in ({}, {"sample_weight": weights}):
        streamed_options = {"sample_weight": np.load(weights_file, mmap_mode="r")} if options else {}
        expected = fit(samples, initial, **options)
        assert_same_answer(fit(load_shards(folder), initial, memory_budget=2**20, **streamed_options), expected)


def test_exact_sums_do_not_depend_on_the_order_of_the_terms():
    rng = np.random.RandomState(0)
    values = rng.normal(size=(5000, 3)) * np.array([1e-300, 1.0, 1e300])
    exponents = exact.exponents(np.abs(values).max(axis=0))
    forward = exact.column_sums(values, exponents)
    backward = exact.column_sums(values[::-1], exponents)
    pieces = exact.add(
        *(exact.column_sums(part, exponents) for part in np.array_split(values[rng.permutation(5000)], 7))
    )
    assert forward.tobytes() == backward.tobytes() == pieces.tobytes()
    # within the rounding of each term to its units: VALUE_BITS bits below the column's largest magnitude
    np.testing.assert_allclose(exact.value(forward, exponents), values.sum(axis=0), rtol=1e-9)
    assert (exact.normalized(forward)[..., :2] < 2**exact.LIMB_BITS).all()


@pytest.mark.slow
@pytest.mark.parametrize("count", [2, 3])
def test_workers_give_the_single_process_answer_bit_for_bit(tmp_path, case, count):
    samples, initial, _ = case
    np.save(tmp_path / "x.npy", samples)
    np.save(tmp_path / "init.npy", initial)
    options = ["-k", N_CLUSTERS, "--init", tmp_path / "init.npy", "--max-iter", 60, "--json", "--timeout", 90]
    single = run("fit", tmp_path / "x.npy", *options, "--centroids-out", tmp_path / "single.npy")
    assert single.exit_code == 0, single.output
    outputs = ["--centroids-out", tmp_path / "workers.npy", "--labels-out", tmp_path / "labels.npy"]
    results = finish(start_workers(tmp_path / "x.npy", *options, *outputs, count=count))
    assert [code for code, _, _ in results] == [0] * count, [err[-2000:] for _, _, err in results]
    expected = json.loads(single.stdout)
    found = json.loads(results[0][1])
    assert (found["n_iter"], found["cluster_sizes"]) == (expected["n_iter"], expected["cluster_sizes"])
    assert np.load(tmp_path / "workers.npy").tobytes() == np.load(tmp_path / "single.npy").tobytes()
    labels = np.concatenate([np.load(tmp_path / f"labels.worker{index}.npy") for index in range(count)])
    single_labels = fit(np.load(tmp_path / "x.npy", mmap_mode="r"), initial).labels
    assert_array_equal(labels, np.asarray(single_labels))


@pytest.mark.parametrize("sparse", [False, True])
def test_tensorflows_exact_sums_are_the_same_in_pieces(monkeypatch, sparse):
    samples, _, weights = near_ties()
    samples = samples[:1000] - 1000
    if sparse:
        samples[np.abs(samples) < 1] = 0
    labels = tf.constant(np.random.RandomState(0).randint(N_CLUSTERS, size=1000), tf.int64)
    rows = csr_rows.from_scipy(scipy.sparse.csr_matrix(samples)) if sparse else tf.constant(samples)
    exponents = tf.constant(exact.sum_exponents(np.abs(samples).max(axis=0), weights[:1000].max()))
    whole = tf_ops.exact_cluster_sums(rows, labels, N_CLUSTERS, tf.constant(weights[:1000]), exponents)
    monkeypatch.setattr(tf_ops, "EXACT_PIECE_ROWS", 7)
    pieces = tf_ops.exact_cluster_sums(rows, labels, N_CLUSTERS, tf.constant(weights[:1000]), exponents)
    for one, other in zip(whole, pieces):
        assert one.numpy().tobytes() == other.numpy().tobytes()
    expected = np.zeros((N_CLUSTERS, N_FEATURES))
    np.add.at(expected, labels.numpy(), samples.astype(np.float64) * weights[:1000, None])
    np.testing.assert_allclose(exact.value(whole[0].numpy(), exponents.numpy()[:-1]), expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("shape", [(7, 5), (3, 70001)], ids=["one range of cells", "ranges on several threads"])
def test_the_c_kernel_adds_exact_sums_as_tensorflows_ops_do(native_kernel, shape):
    rng = np.random.RandomState(0)
    sums = exact.normalized(np.floor(rng.uniform(-(2.0**60), 2.0**60, (*shape, exact.LIMBS))))
    changes = exact.normalized(np.floor(rng.uniform(-(2.0**40), 2.0**40, (*shape, exact.LIMBS))))
    exponents = np.resize([54.0, -900.0, 1070.0, 0.0, 12.0], shape[1])
    found = native_kernel.exact_add(tf.constant(sums), tf.constant(changes), tf.constant(exponents))
    expected = kernels.TensorFlowKernel().exact_add(tf.constant(sums), tf.constant(changes), tf.constant(exponents))
    for one, other in zip(found, expected):
        assert one.numpy().tobytes() == other.numpy().tobytes()
    assert found[0].numpy().tobytes() == exact.add(sums, changes).tobytes()
    np.testing.assert_array_equal(found[1].numpy(), exact.value(exact.add(sums, changes), exponents))


@pytest.mark.parametrize(
    "exponents, message",
    [
        ([40.0, 40.0], r"exponents must have one entry per feature and one more, shape \[3\], not \[2\]"),
        ([40.0, 0.5, 40.0], r"exponents\[1\] = 0.5 should be a whole number in \[-2000, 2000\]"),
        ([40.0, np.nan, 40.0], r"exponents\[1\] = nan should be a whole number"),
    ],
)
def test_the_kernels_exponents_are_checked(native_kernel, exponents, message):
    samples, centroids = tf.ones([4, 2], tf.float64), tf.ones([2, 2], tf.float64)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        native_kernel.nearest_centroid_sums(samples, centroids, None, tf.constant(exponents, tf.float64))

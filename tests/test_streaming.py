"""Data larger than memory: memory maps and shards streamed by the engine, the budget, scratch labels, convert."""

import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import datasets

from compat import eager
from kmeans_tf.engine import seeding
from kmeans_tf.stream import budget
from kmeans_tf.stream import prepare as stream_prepare
from kmeans_tf.stream import streamed as streaming
from tests.cases import DTYPE_IDS, DTYPES, assert_error, random_case, run

SMALLEST_BUDGET = budget.MIN_MEMORY_BUDGET  # 1 MiB: chunks of a few thousand rows


def mapped(tmp_path, array, name="data.npy"):
    np.save(tmp_path / name, array)
    return np.load(tmp_path / name, mmap_mode="r")


@pytest.fixture(params=["kernel", "tf-ops"])
def engine_path(request):
    """Each test runs on the C kernel (skipped where it is not built) and on TensorFlow's ops."""
    if request.param == "kernel":
        request.getfixturevalue("native_kernel")
    else:
        request.getfixturevalue("without_native_kernel")
    return request.param


def assert_same_fit(streamed, in_memory, engine_path, dtype):
    assert_array_equal(np.asarray(streamed.labels), in_memory.labels)
    assert streamed.n_iter == in_memory.n_iter and streamed.converged == in_memory.converged
    assert streamed.centroids.dtype == in_memory.centroids.dtype
    if engine_path == "tf-ops" and dtype == np.float32:
        # In memory, TensorFlow's ops sum each cluster in float32; the stream sums in float64.
        assert_allclose(streamed.centroids, in_memory.centroids, rtol=1e-5, atol=1e-5)
        assert_allclose(streamed.inertia, in_memory.inertia, rtol=1e-8)
    else:
        # float64 sums in another order (chunk by chunk): equal to rounding.
        assert_allclose(streamed.centroids, in_memory.centroids, rtol=1e-6, atol=1e-9)
        assert_allclose(streamed.inertia, in_memory.inertia, rtol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("seed", range(3))
def test_memory_map_fit_equals_the_fit_in_memory(tmp_path, engine_path, dtype, seed):
    samples, initial = random_case(seed, 20000, 5, 7, dtype)
    in_memory = eager.kmeans(samples, 7, init=initial, max_iter=100)
    streamed = eager.kmeans(mapped(tmp_path, samples), 7, init=initial, max_iter=100, memory_budget=SMALLEST_BUDGET)
    assert_same_fit(streamed, in_memory, engine_path, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_each_iterations_record_streamed_equals_the_one_in_memory(tmp_path, engine_path, dtype):
    samples, initial = random_case(2, 20000, 5, 7, dtype)
    weights = np.random.RandomState(2).uniform(0, 2, len(samples))
    options = dict(init=initial, max_iter=100, sample_weight=weights, keep_iterations=True)
    in_memory = eager.kmeans(samples, 7, **options)
    streamed = eager.kmeans(mapped(tmp_path, samples), 7, memory_budget=SMALLEST_BUDGET, **options)
    assert_same_fit(streamed, in_memory, engine_path, dtype)
    ours, theirs = streamed.iterations, in_memory.iterations
    assert len(theirs.inertia) == in_memory.n_iter and theirs.changed[0] == len(samples)
    assert_array_equal(ours.changed, theirs.changed)
    assert_allclose(ours.inertia, theirs.inertia, rtol=1e-6)
    assert ours.tol == pytest.approx(theirs.tol, rel=1e-9)
    # Each M-step lowers the inertia (to rounding); the last iteration's centroids are those before its step.
    assert np.all(np.diff(theirs.inertia) <= 1e-9 * theirs.inertia[0])
    assert theirs.inertia[-1] >= in_memory.inertia * (1 - 1e-9)
    # The shifts fall to the rounding of the float32 centroids: compared to the first, the largest.
    assert_allclose(ours.shift, theirs.shift, rtol=1e-4, atol=1e-6 * theirs.shift[0])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_an_empty_cluster_takes_the_farthest_sample_as_in_memory(tmp_path, engine_path, dtype):
    samples, initial = random_case(5, 12000, 3, 5, dtype)
    initial[1] = 1e4  # far from every sample: its cluster is empty after the first pass
    in_memory = eager.kmeans(samples, 5, init=initial, max_iter=50)
    streamed = eager.kmeans(mapped(tmp_path, samples), 5, init=initial, max_iter=50, memory_budget=SMALLEST_BUDGET)
    assert_same_fit(streamed, in_memory, engine_path, dtype)
    assert np.bincount(in_memory.labels, minlength=5).min() > 0


@pytest.mark.parametrize("init", ["random", "k-means++"])
def test_seeding_a_small_stream_picks_what_the_array_in_memory_picks(tmp_path, init):
    samples, _ = random_case(2, 3000, 4, 6, np.float64)
    in_memory = eager.kmeans(samples, 6, init=init, seed=7, n_init=2)
    streamed = eager.kmeans(mapped(tmp_path, samples), 6, init=init, seed=7, n_init=2)
    assert_array_equal(np.asarray(streamed.labels), in_memory.labels)
    assert_allclose(streamed.inertia, in_memory.inertia, rtol=1e-9)


def test_seeding_a_large_stream_uses_distinct_rows(monkeypatch, tmp_path):
    monkeypatch.setattr(streaming, "SEEDING_SAMPLE_ROWS", 500)
    samples, _ = random_case(3, 4000, 2, 4, np.float64)
    for init in ("random", "k-means++"):
        result = eager.kmeans(mapped(tmp_path, samples), 4, init=init, seed=1)
        assert result.converged and np.bincount(result.labels, minlength=4).min() > 0
    rows = streaming.distinct_rows(10, 10, np.random.RandomState(0))
    assert_array_equal(rows, np.arange(10))


def test_data_at_the_edges_of_float32_are_scaled_as_in_memory(tmp_path):
    samples, initial = random_case(4, 9000, 3, 4, np.float32)
    samples, initial = samples * np.float32(1e18), initial * np.float32(1e18)
    in_memory = eager.kmeans(samples, 4, init=initial)
    streamed = eager.kmeans(mapped(tmp_path, samples), 4, init=initial, memory_budget=SMALLEST_BUDGET)
    assert_array_equal(np.asarray(streamed.labels), in_memory.labels)
    assert_allclose(streamed.inertia, in_memory.inertia, rtol=1e-6)


def test_a_folder_of_shards_equals_the_file_they_were_cut_from(tmp_path):
    samples, initial = random_case(6, 10000, 4, 5, np.float32)
    folder = tmp_path / "shards"
    folder.mkdir()
    for index, part in enumerate(np.array_split(samples, [2500, 7000])):
        np.save(folder / f"part-{index:02d}.npy", part)
    whole = eager.kmeans(mapped(tmp_path, samples), 5, init=initial, memory_budget=SMALLEST_BUDGET)
    shards = eager.kmeans(eager.load_shards(folder), 5, init=initial, memory_budget=SMALLEST_BUDGET)
    assert_array_equal(np.asarray(shards.labels), np.asarray(whole.labels))
    assert_allclose(shards.centroids, whole.centroids, rtol=1e-6)
    assert_array_equal(
        eager.predict(eager.load_shards(folder), whole.centroids), eager.predict(samples, whole.centroids)
    )


def test_bad_streams_are_refused_at_the_door(tmp_path):
    samples = np.ones((50, 2))
    samples[30, 1] = np.nan
    with pytest.raises(ValueError, match=r"should be finite, got nan at row 30, column 1"):
        eager.kmeans(mapped(tmp_path, samples), 2)
    with pytest.raises(ValueError, match="memory_budget=1000 should be an integer >= 1048576"):
        eager.kmeans(mapped(tmp_path, np.ones((5, 2)), "ok.npy"), 2, memory_budget=1000)
    (tmp_path / "mixed").mkdir()
    np.save(tmp_path / "mixed" / "a.npy", np.ones((3, 2)))
    np.save(tmp_path / "mixed" / "b.npy", np.ones((3, 3)))
    with pytest.raises(ValueError, match="b.npy has 3 columns but .*a.npy has 2"):
        eager.load_shards(tmp_path / "mixed")


def test_labels_beyond_the_budget_go_to_a_scratch_file_that_nothing_outlives(monkeypatch, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    samples, initial = random_case(8, 200_000, 2, 3, np.float64)  # labels: 1.6 MB in memory, over the budget
    data = mapped(tmp_path, samples)
    in_memory = eager.kmeans(samples, 3, init=initial)
    streamed = eager.kmeans(data, 3, init=initial, memory_budget=SMALLEST_BUDGET)
    assert isinstance(streamed.labels, np.memmap) and streamed.labels.dtype == np.int32
    assert not streamed.labels.flags.writeable
    assert_array_equal(streamed.labels, in_memory.labels)
    assert_allclose(streamed.inertia, in_memory.inertia, rtol=1e-9)
    assert list(scratch.iterdir()) == []

    def fail(state):
        raise RuntimeError("stopped by the callback")

    with pytest.raises(RuntimeError, match="stopped"):
        eager.kmeans(data, 3, init=initial, memory_budget=SMALLEST_BUDGET, callback=fail)
    assert list(scratch.iterdir()) == []
    predicted = eager.predict(data, in_memory.centroids, memory_budget=SMALLEST_BUDGET)
    assert isinstance(predicted, np.memmap)
    assert_array_equal(predicted, in_memory.labels)


def test_memory_sizes_parse_in_decimal_and_binary_units():
    assert budget.parse_size("512MB") == 512 * 10**6
    assert budget.parse_size("2GiB") == 2 * 2**30
    assert budget.parse_size("1.5 kb") == 1500
    assert budget.parse_size("4096") == 4096
    for bad in ("", "12XB", "-1MB", "MB", "1e6"):
        with pytest.raises(ValueError, match="is not a size"):
            budget.parse_size(bad)
    assert budget.default_memory_budget() >= budget.MIN_MEMORY_BUDGET


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("order", ["C", "F"])
def test_a_chunk_is_centred_as_the_plain_subtraction_centres_it(dtype, order):
    rows = np.asarray(np.random.RandomState(1).normal(size=(3 * stream_prepare.ROWS_PER_RUN + 5, 3)), dtype, order)
    prepared = stream_prepare.StreamPrepared(np.zeros(3), 0, np.array([0.1, -2.5, 7.0], dtype), 0.0)
    for count in (1, stream_prepare.ROWS_PER_RUN, len(rows)):
        out = np.empty((count, 3), dtype)
        prepared.transform(rows[:count], out)
        assert_array_equal(out, rows[:count] - prepared.offset)


def test_the_chunks_take_most_of_the_room_the_labels_leave():
    row_bytes, per_row = 64, 64 + budget.CHUNK_EXTRA_BYTES_PER_ROW
    scratch = budget.plan(1_000_000, row_bytes, 4 * 10**6)  # int64 labels: 8 MB, over the budget
    beside = budget.plan(1_000_000, row_bytes, 16 * 2**20)  # the labels fit, and leave 8.8 MB
    assert not scratch.labels_in_memory and beside.labels_in_memory
    for plan, left in ((scratch, 4 * 10**6), (beside, 16 * 2**20 - 8 * 10**6)):
        assert left / 2 < 2 * plan.chunk_rows * per_row <= left


def test_fit_streams_npy_data_and_writes_npy_labels(tmp_path):
    samples, initial = random_case(9, 3000, 3, 4, np.float32)
    np.save(tmp_path / "data.npy", samples)
    np.save(tmp_path / "init.npy", initial)
    labels = tmp_path / "labels.npy"
    result = run(
        "fit",
        tmp_path / "data.npy",
        "--init",
        tmp_path / "init.npy",
        "--labels-out",
        labels,
        "--memory-budget",
        "1MiB",
        "--columns",
        "0,1,2",
    )
    assert result.exit_code == 0, result.output
    expected = eager.kmeans(samples, 4, init=initial)
    written = np.load(labels)
    assert written.dtype == np.int32
    assert_array_equal(written, expected.labels)
    as_text = run("predict", tmp_path / "data.npy", "--centroids", tmp_path / "init.npy")
    assert_array_equal(np.array(as_text.stdout.split(), int), eager.predict(samples, initial))
    folder = tmp_path / "shards"
    folder.mkdir()
    np.save(folder / "a.npy", samples[:1000])
    np.save(folder / "b.npy", samples[1000:])
    from_folder = run("fit", folder, "--init", tmp_path / "init.npy", "--labels-out", tmp_path / "f.txt")
    assert from_folder.exit_code == 0, from_folder.output
    assert_array_equal(np.loadtxt(tmp_path / "f.txt", dtype=int), expected.labels)


def test_memory_budget_option_errors_are_one_line(tmp_path):
    np.save(tmp_path / "data.npy", np.ones((4, 2)))
    assert_error(
        run("fit", tmp_path / "data.npy", "-k", 1, "--memory-budget", "lots"),
        "'lots' is not a size",
        "512MB",
        exit_code=2,
    )
    assert_error(run("fit", tmp_path / "data.npy", "-k", 1, "--memory-budget", "1000"), "at least 1.0 MiB", exit_code=2)
    assert_error(run("fit", tmp_path / "data.npy", "-k", 1, "--columns", "x"), "no header row", "'x'")
    big = tmp_path / "big.csv"
    big.write_text("1.0,2.0\n" * 140_000)  # 1.1 MB
    assert_error(
        run("fit", big, "-k", 2, "--memory-budget", "1MiB"), "more than the memory budget", "kmeans-tf convert"
    )


def test_convert_round_trips_a_csv_and_refuses_what_fit_refuses(tmp_path):
    source = tmp_path / "data.csv"
    source.write_text("a,b,c\n" + "".join(f"{i},{i / 3},{-i}\n" for i in range(70_000)))
    out = tmp_path / "data.npy"
    result = run("convert", source, out, "--columns", "c,a")
    assert result.exit_code == 0, result.output
    assert "70000 rows x 2 columns" in result.stderr
    table = np.loadtxt(source, delimiter=",", skiprows=1)
    assert_array_equal(np.load(out), table[:, [2, 0]])
    assert_error(run("convert", source, out), "already exists", "--force")
    for name, text in {"cell": "x,y\n1,2\n3,oops\n", "ragged": "1,2\n3,4,5\n"}.items():
        bad = tmp_path / f"{name}.csv"
        bad.write_text(text)
        fit_error = run("fit", bad, "-k", 1).stderr.splitlines()[-1]
        assert_error(run("convert", bad, tmp_path / f"{name}.npy"), fit_error[len("Error: ") :])
        assert not (tmp_path / f"{name}.npy").exists()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []
    assert_error(run("convert", source, tmp_path / "x.csv"), "should end in .npy", exit_code=2)


SCRIPT = """
import signal, sys, threading, time
import numpy as np
from compat import eager

# Ctrl-C raises KeyboardInterrupt even where the suite was started in the background (SIGINT ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)

peak = [0]
def sample():
    while True:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    peak[0] = max(peak[0], int(line.split()[1]) * 1024)
        time.sleep(0.005)
threading.Thread(target=sample, daemon=True).start()
data = np.load(sys.argv[1], mmap_mode="r")
initial = np.asarray(data[:8])
eager.kmeans(data[:1000], 8, init=initial, max_iter=1)  # TensorFlow and the kernel loaded
time.sleep(0.05)
before = peak[0]
print("started", flush=True)
eager.kmeans(data, 8, init=initial, max_iter=int(sys.argv[2]), tol=0, memory_budget=2**20)
time.sleep(0.05)
print(peak[0] - before, flush=True)
"""


@pytest.mark.slow
def test_peak_anonymous_memory_does_not_grow_with_the_rows_and_ctrl_c_leaves_no_scratch(tmp_path):
    big = np.random.RandomState(0).normal(size=(2_000_000, 8)).astype(np.float32)  # 64 MB
    np.save(tmp_path / "big.npy", big)
    np.save(tmp_path / "small.npy", big[:200_000])
    del big
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(Path(__file__).parents[1])}
    script = textwrap.dedent(SCRIPT)
    growth = {}
    for name in ("small", "big"):
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / f"{name}.npy"), "3"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        growth[name] = int(done.stdout.split()[-1])
    # Ten times the rows: 58 MB more data and 14 MB more labels; the peak stays within a few MB.
    assert growth["big"] - growth["small"] < 6 * 2**20, growth
    assert list(scratch.iterdir()) == []

    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "big.npy"), "1000"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "started"
    child.send_signal(signal.SIGINT)
    _, errors = child.communicate(timeout=120)
    assert child.returncode != 0 and "KeyboardInterrupt" in errors
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_a_weighted_memory_map_fit_equals_the_weighted_fit_in_memory(tmp_path, engine_path, dtype):
    samples, initial = random_case(5, 3000, 3, 6, dtype=dtype)
    weights = np.random.RandomState(5).uniform(0, 3, len(samples))
    weights[::5] = 0
    in_memory = eager.kmeans(samples, 6, init=initial, sample_weight=weights)
    streamed = eager.kmeans(mapped(tmp_path, samples), 6, init=initial, sample_weight=weights, memory_budget=2**20)
    assert_same_fit(streamed, in_memory, engine_path, dtype)
    # In memory the distances are measured about the centroids' mean, streamed about the origin: in float32 the
    # squared distances round differently (relative 1e-7 each), in float64 only their sums' order differs.
    assert eager.inertia(
        mapped(tmp_path, samples, "again.npy"), in_memory.centroids, sample_weight=weights
    ) == pytest.approx(
        eager.inertia(samples, in_memory.centroids, sample_weight=weights), rel=1e-6 if dtype == np.float32 else 1e-9
    )


@pytest.mark.parametrize("init", ["random", "k-means++", "k-means||"])
def test_weighted_seeding_of_a_small_stream_picks_what_the_array_in_memory_picks(tmp_path, init):
    samples, _ = random_case(6, 2000, 2, 5, dtype=np.float64)
    weights = np.random.RandomState(6).uniform(0.5, 2, len(samples))
    in_memory = eager.kmeans(samples, 5, init=init, seed=3, sample_weight=weights)
    streamed = eager.kmeans(mapped(tmp_path, samples), 5, init=init, seed=3, sample_weight=weights)
    assert_array_equal(np.asarray(streamed.labels), in_memory.labels)
    assert_allclose(streamed.centroids, in_memory.centroids, rtol=1e-6)


@pytest.fixture(params=["distances-kept", "distances-recomputed"])
def distances(request, monkeypatch):
    """Streamed k-means|| keeps each row's distance in memory, or (labels over the budget) recomputes it each pass."""
    monkeypatch.setattr(streaming, "SEEDING_SAMPLE_ROWS", 500)  # a few thousand rows count as large
    if request.param == "distances-recomputed":
        plan = budget.plan
        monkeypatch.setattr(
            streaming.budget, "plan", lambda *args: dataclasses.replace(plan(*args), labels_in_memory=False)
        )
    return request.param


def blobs(n_samples=4000, centers=20):
    samples, _ = datasets.make_blobs(n_samples, n_features=4, centers=centers, cluster_std=1.0, random_state=0)
    return samples


def streamed_seeds(monkeypatch):
    """Record what each streamed k-means|| returns, and the passes over the data it took."""
    seeds, passes, all_passes = [], [], [0]
    chunks, kmeans_parallel = streaming.Passes.chunks, seeding.kmeans_parallel

    def counted(self):
        all_passes[0] += 1
        return chunks(self)

    def recorded(*args):
        before = all_passes[0]
        seeds.append(kmeans_parallel(*args))
        passes.append(all_passes[0] - before)
        return seeds[-1]

    monkeypatch.setattr(streaming.Passes, "chunks", counted)
    monkeypatch.setattr(seeding, "kmeans_parallel", recorded)
    return seeds, passes


@pytest.mark.parametrize("seed", range(3))
def test_streamed_kmeans_parallel_picks_k_distinct_rows_never_a_weightless_one(tmp_path, monkeypatch, distances, seed):
    samples = blobs()
    weights = np.random.RandomState(seed).randint(0, 3, len(samples)).astype(np.float64)
    result = eager.kmeans(
        mapped(tmp_path, samples), 20, init="k-means||", seed=seed, sample_weight=weights, keep_history=True, max_iter=1
    )
    initial = result.centroid_history[0]
    assert len(np.unique(initial, axis=0)) == 20
    gaps = np.square(initial[:, None, :] - samples[None, :, :]).sum(axis=2)
    rows = gaps.argmin(axis=1)
    assert_allclose(gaps[np.arange(20), rows], 0, atol=1e-20)  # each is a row, back from the loops' coordinates
    assert weights[rows].min() > 0


def test_streamed_kmeans_parallel_same_seed_same_centroids(tmp_path, monkeypatch, distances):
    seeds, _ = streamed_seeds(monkeypatch)
    data = mapped(tmp_path, blobs())
    for _ in range(2):
        eager.kmeans(data, 20, init="k-means||", seed=3, max_iter=1)
    assert_array_equal(seeds[0], seeds[1])


@pytest.mark.parametrize("rounds", [1, 3])
def test_streamed_kmeans_parallel_takes_rounds_plus_one_passes(tmp_path, monkeypatch, distances, rounds):
    _, passes = streamed_seeds(monkeypatch)
    eager.kmeans(mapped(tmp_path, blobs()), 20, init="k-means||", seed=0, init_rounds=rounds, max_iter=1)
    # kept: a pass for the first distances, one after each round but the last; recomputed: one a round;
    # then one to weigh the candidates
    assert passes == [rounds + 1]


def test_streamed_kmeans_parallel_as_good_as_in_memory_on_average(tmp_path, distances):
    samples = blobs(3000, 15)
    data = mapped(tmp_path, samples)
    seeds = range(10)
    streamed = np.mean([eager.kmeans(data, 15, init="k-means||", seed=s).inertia for s in seeds])
    in_memory = np.mean([eager.kmeans(samples, 15, init="k-means||", seed=s).inertia for s in seeds])
    # The stream sums phi chunk by chunk and its distances to a chunk's candidates in another order, so a
    # draw on the edge may go the other way than in memory: the means over 10 seeds agree, not each fit.
    assert streamed <= in_memory * 1.02

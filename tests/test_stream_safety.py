"""Streamed data that are not what they seemed: NaN at the door, files cut or changed during a fit, a full disk,
data at the top of float64; every case one clear ValueError (or OSError), never a crash or a wrong answer."""

import errno
import os
import re
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from compat import eager
from kmeans_tf.stream import budget, sources
from kmeans_tf.stream import passes as stream_passes
from kmeans_tf.stream import streamed as streaming
from tests.cases import DTYPE_IDS, DTYPES, REPO_ROOT, random_case, run

SMALLEST_BUDGET = budget.MIN_MEMORY_BUDGET  # 1 MiB: chunks of a few thousand rows


def mapped(tmp_path, array, name="data.npy"):
    np.save(tmp_path / name, array)
    return np.load(tmp_path / name, mmap_mode="r")


def message(call):
    """The message of the ValueError that ``call()`` raises."""
    with pytest.raises(ValueError) as raised:
        call()
    return str(raised.value)


@pytest.mark.parametrize(
    "row, column, value", [(30, 1, np.nan), (9000, 0, -np.inf)], ids=["nan", "inf-in-a-later-chunk"]
)
def test_streamed_predict_and_inertia_refuse_what_the_array_in_memory_refuses(tmp_path, row, column, value):
    samples = np.ones((20000, 2))
    samples[row, column] = value
    centroids = [[0.0, 0.0], [1.0, 1.0]]
    expected = f"samples should be finite, got {value} at row {row}, column {column}"
    assert message(lambda: eager.predict(samples, centroids)) == expected
    assert message(lambda: eager.inertia(samples, centroids)) == expected
    data = mapped(tmp_path, samples)
    assert message(lambda: eager.predict(data, centroids, memory_budget=SMALLEST_BUDGET)) == expected
    assert message(lambda: eager.inertia(data, centroids)) == expected


def test_a_nan_in_a_shard_is_named_by_its_file_and_its_row_there(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    np.save(folder / "a.npy", np.ones((1000, 3)))
    bad = np.ones((500, 3))
    bad[3, 2] = np.nan
    np.save(folder / "b.npy", bad)
    expected = f"{folder / 'b.npy'} should be finite, got nan at row 3, column 2"
    shards = eager.load_shards(folder)
    assert message(lambda: eager.kmeans(shards, 2)) == expected
    assert message(lambda: eager.predict(shards, [[0.0, 0.0, 0.0]])) == expected
    assert message(lambda: eager.inertia(shards, [[0.0, 0.0, 0.0]])) == expected
    # a choice of columns: the file's column is named
    assert message(lambda: eager.kmeans(eager.Shards(shards.arrays, columns=[2, 0], name=str(folder)), 2)) == expected
    result = run("fit", folder, "-k", 2)
    assert result.exit_code == 1 and result.stderr.strip() == f"Error: {expected}", result.output


CUT = """
import os, sys
import numpy as np
from compat import eager
from kmeans_tf.stream import passes
from kmeans_tf.stream import prepare as stream_prepare

folder = sys.argv[1]
samples = np.random.RandomState(0).normal(size=(30000, 4))
initial = samples[:3]

def cut_after(owner, name, path):
    # Cut the file to its first rows once ``owner.name`` has run (the first time).
    original = getattr(owner, name)
    def cut(*args, **kwargs):
        result = original(*args, **kwargs)
        os.truncate(path, 4096)
        setattr(owner, name, original)
        return result
    setattr(owner, name, cut)

cases = {
    "lloyd": (passes.Passes, "lloyd", lambda data: eager.kmeans(data, 3, init=initial, memory_budget=2**20)),
    "prepare": (stream_prepare.SourcePasses, "column_magnitudes", lambda data: eager.kmeans(data, 3, init=initial)),
    "seeding": (stream_prepare, "prepare_stream", lambda data: eager.kmeans(data, 3, init="k-means++", seed=0)),
    "predict": (stream_prepare, "predict_exponent", lambda data: eager.predict(data, initial)),
}
for case, (owner, name, call) in cases.items():
    path = os.path.join(folder, case + ".npy")
    np.save(path, samples)
    data = np.load(path, mmap_mode="r")
    cut_after(owner, name, path)
    try:
        call(data)
        print(case, "no error")
    except ValueError as error:
        print(case, error)
"""


def test_a_file_cut_during_a_streamed_fit_is_one_clear_error_not_sigbus(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CUT), str(tmp_path)], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    lines = done.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["lloyd", "prepare", "seeding", "predict"], done.stdout
    for line in lines:
        case = line.split()[0]
        assert f"{tmp_path / case}.npy: the file changed while it was read" in line, line


READ_CASES = {
    "plain": lambda array: (array, None),
    "columns": lambda array: (array, [3, 0]),
    "int16": lambda array: (array.astype(np.int16), None),
    "big-endian": lambda array: (array.astype(">f4"), [1, 2]),
    "rows-of-a-view": lambda array: (array, None, slice(1234, 4321)),
    "columns-of-a-view": lambda array: (array, [0], slice(None), slice(1, 3)),
    "fortran-order": lambda array: (np.asfortranarray(array), None),
}


@pytest.mark.parametrize("case", READ_CASES)
def test_a_memory_map_is_read_from_its_file_as_numpy_reads_it(tmp_path, monkeypatch, case):
    monkeypatch.setattr(sources, "STAGING_BYTES", 1000)  # converted rows are read a few at a time
    array, columns, *view = READ_CASES[case](np.random.RandomState(0).normal(size=(5000, 4)).astype(np.float32))
    data = mapped(tmp_path, array)[tuple(view)] if view else mapped(tmp_path, array)
    source = sources.Source(sources.Shards([data], columns=columns))
    expected = np.asarray(data if columns is None else data[:, columns], source.dtype)
    assert (source.files[0] is None) == (case == "fortran-order")  # rows not contiguous in the file: the map
    assert_array_equal(np.concatenate([chunk.copy() for _, chunk in sources.chunks(source, 700)]), expected)
    assert_array_equal(np.concatenate([block.copy() for block in source.blocks(1024)]), expected)
    indices = np.random.RandomState(1).randint(len(expected), size=300)
    assert_array_equal(
        source.take(np.concatenate([indices, np.arange(100, 160)])), expected[[*indices, *range(100, 160)]]
    )


def test_a_full_disk_under_the_scratch_labels_is_one_clear_error(monkeypatch, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    samples, initial = random_case(8, 200_000, 2, 3, np.float64)  # labels: 1.6 MB in memory, over the budget
    data = mapped(tmp_path, samples)
    for call in (
        lambda: eager.kmeans(data, 3, init=initial, memory_budget=SMALLEST_BUDGET),
        lambda: eager.predict(data, initial, memory_budget=SMALLEST_BUDGET),
    ):
        with pytest.raises(OSError, match=f"no space left on device.* in {re.escape(str(scratch))}"):
            call()
    assert list(scratch.iterdir()) == []


def test_scratch_labels_without_posix_fallocate_are_written_out_first(monkeypatch, tmp_path):
    """Where the system has no ``posix_fallocate`` (macOS), the scratch file is written with zeros before its map."""
    monkeypatch.delattr(os, "posix_fallocate", raising=False)
    labels = sources.new_labels(300_000, in_memory=False, scratch_dir=tmp_path)
    assert labels.dtype == np.int32 and len(labels) == 300_000 and (labels == -1).all()
    labels[-1] = 7
    assert labels[-1] == 7


# Rows whose squared distances need the scale down by a power of two, with small columns beside the large one.
TOP_OF_FLOAT64 = np.array([[1e308, 1.0], [-1e308, 2.0], [1e308, 3.0]])


@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "streamed"])
def test_the_inertia_of_data_scaled_down_is_that_of_the_centroids_returned(tmp_path, streamed):
    data = mapped(tmp_path, TOP_OF_FLOAT64) if streamed else TOP_OF_FLOAT64
    result = eager.kmeans(data, 2, init=TOP_OF_FLOAT64[:2])
    assert_array_equal(result.centroids, [[1e308, 2.0], [-1e308, 2.0]])
    assert result.inertia == 2.0  # (1 - 2)**2 + (3 - 2)**2, worked out by hand
    assert eager.inertia(data, result.centroids) == 2.0
    weights = np.array([1.0, 5.0, 0.5])
    assert eager.inertia(data, result.centroids, sample_weight=weights) == 1.5
    beyond = mapped(tmp_path, TOP_OF_FLOAT64 * [1, 0], "beyond.npy") if streamed else TOP_OF_FLOAT64 * [1, 0]
    with pytest.raises(ValueError, match="the inertia .* is beyond what float64 can hold"):
        eager.kmeans(beyond, 1, init=[[0.0, 0.0]])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_the_inertia_of_data_scaled_down_is_measured_on_the_rows(tmp_path, dtype):
    rng = np.random.RandomState(3)
    labels = np.repeat(np.arange(4), 1250)
    # A first column near the top of the dtype (powers of two, as many of each sign: every mean there is exact),
    # and two of about 10, whose squared distances vanish once the rows are scaled down.
    top = 2.0 ** (np.finfo(dtype).maxexp - 4)
    large = np.array([-1, -0.25, 0.25, 1])[labels] * top
    samples = np.column_stack([large, rng.normal(0, 10, (len(labels), 2))]).astype(dtype)
    initial = samples[[0, 1250, 2500, 3750]]
    for data in (samples, mapped(tmp_path, samples)):
        result = eager.kmeans(data, 4, init=initial, memory_budget=SMALLEST_BUDGET)
        assert_array_equal(np.asarray(result.labels), labels)
        gaps = samples.astype(np.float64) - result.centroids.astype(np.float64)[labels]
        assert not gaps[:, 0].any()
        assert result.inertia == pytest.approx((gaps**2).sum(), rel=1e-12)


def poisoned(path, row, column, value=np.nan):
    """Write ``value`` into the .npy file at ``path`` at (row, column), as another program might during a fit."""
    array = np.load(path, mmap_mode="r")
    position = array.offset + (row * array.shape[1] + column) * array.itemsize
    with open(path, "r+b") as handle:
        handle.seek(position)
        handle.write(np.asarray(value, array.dtype).tobytes())


def after_the_first(monkeypatch, owner, name, then):
    """Run ``then()`` once ``owner.name`` has run for the first time."""
    original = getattr(owner, name)

    def patched(*args, **kwargs):
        result = original(*args, **kwargs)
        monkeypatch.setattr(owner, name, original)
        then()
        return result

    monkeypatch.setattr(owner, name, patched)


@pytest.mark.parametrize("moment", ["lloyd", "nearest_distances", "final"])
@pytest.mark.parametrize("cluster", ["kept", "moved"])
def test_a_nan_written_during_a_streamed_fit_is_refused_naming_the_file(
    tmp_path, monkeypatch, either_path, moment, cluster
):
    samples, initial = random_case(4, 6000, 3, 3, np.float64)
    monkeypatch.setattr(streaming, "SEEDING_SAMPLE_ROWS", 500)  # k-means|| streams: a pass for its distances
    path = tmp_path / "data.npy"
    data = mapped(tmp_path, samples)
    labels = eager.kmeans(samples, 3, init=initial, max_iter=1).labels
    row = int(np.flatnonzero(labels == (0 if cluster == "kept" else 2))[-7])
    # a NaN row is labelled 0 (by the C kernel): it stays in cluster 0 unseen by the sums, or leaves cluster 2
    owner, when = {
        "lloyd": (stream_passes.Passes, "lloyd"),
        "nearest_distances": (stream_passes.Passes, "nearest_distances"),
        "final": (streaming.lloyd.m_step, "converged"),
    }[moment]
    after_the_first(monkeypatch, owner, when, lambda: poisoned(path, row, 1))
    init = "k-means||" if moment == "nearest_distances" else initial
    expected = f"{path}: the file changed while it was read (it now holds nan at row {row}, column 1)"
    assert message(lambda: eager.kmeans(data, 3, init=init, seed=0, max_iter=1 if moment == "final" else 20)) == (
        expected
    )


def test_a_nan_written_during_a_streamed_predict_or_inertia_is_refused_naming_the_file(
    tmp_path, monkeypatch, either_path
):
    samples, centroids = random_case(4, 6000, 3, 3, np.float64)
    path = tmp_path / "data.npy"
    data = mapped(tmp_path, samples)
    expected = f"{path}: the file changed while it was read (it now holds inf at row 5000, column 2)"
    for call in (eager.predict, eager.inertia):
        after_the_first(
            monkeypatch, streaming.stream_prepare, "predict_exponent", lambda: poisoned(path, 5000, 2, np.inf)
        )
        assert message(lambda: call(data, centroids)) == expected
        poisoned(path, 5000, 2, 1.0)


def test_a_nan_written_between_the_preparing_passes_is_refused_where_it_is(tmp_path, monkeypatch):
    samples, initial = random_case(4, 6000, 3, 3, np.float64)
    path = tmp_path / "data.npy"
    data = mapped(tmp_path, samples)
    after_the_first(
        monkeypatch, streaming.stream_prepare.SourcePasses, "column_magnitudes", lambda: poisoned(path, 17, 2)
    )
    assert (
        message(lambda: eager.kmeans(data, 3, init=initial)) == "samples should be finite, got nan at row 17, column 2"
    )

"""The command line's inputs: odd names and odd files are one ``Error:`` line, at once."""

import os
import threading

import numpy as np
import pytest

from kmeans_tf import cli
from tests.cases import BLOBS, BLOBS_CSV, assert_error, run

LONG_NAME = "w" * 300  # longer than a file name may be (255 bytes on Linux)


@pytest.fixture
def blobs(tmp_path):
    path = tmp_path / "blobs.csv"
    path.write_text(BLOBS_CSV)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_a_weights_file_name_too_long_is_one_usage_error(blobs, suffix):
    result = run("fit", blobs, "-k", 2, "--weights", LONG_NAME + suffix)
    assert_error(result, "'--weights'", "File name too long", exit_code=2)


def test_an_init_file_name_too_long_is_one_usage_error(blobs):
    assert_error(
        run("fit", blobs, "-k", 2, "--init", LONG_NAME + ".csv"), "'--init'", "File name too long", exit_code=2
    )


def test_a_fifo_in_a_shard_folder_is_one_line_naming_it_and_never_blocks(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    np.save(folder / "a.npy", BLOBS)
    fifo = folder / "b.npy"
    os.mkfifo(fifo)
    results = []
    fitting = threading.Thread(target=lambda: results.append(run("fit", folder, "-k", 2)), daemon=True)
    fitting.start()
    fitting.join(60)
    if fitting.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # the blocked reader gets an empty file
        fitting.join(60)
        pytest.fail(f"fit blocked on {fifo}")
    assert_error(results[0], f"{fifo} is a FIFO, not a regular file")


def test_npy_data_with_a_weights_column_over_the_budget_says_how_to_keep_them_streamed(tmp_path):
    data = tmp_path / "data.npy"
    np.save(data, np.ones((50_000, 3)))  # 1.1 MiB
    result = run("fit", data, "-k", 2, "--weights", "2", "--memory-budget", "1MiB")
    assert_error(result, f"{data} is 1.1 MiB", "memory budget", "--weights FILE.npy")
    assert "kmeans-tf convert" not in result.stderr


def test_a_failure_in_any_options_callback_is_one_usage_error(monkeypatch, blobs):
    def unreadable(text):
        raise OSError("cannot look it up")

    monkeypatch.setattr(cli.options.data_io, "parse_columns", unreadable)
    assert_error(run("fit", blobs, "-k", 2, "--columns", "x"), "cannot look it up", exit_code=2)

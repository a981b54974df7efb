"""The command line's outputs: never an input, all of a run's or none, and nothing left behind by a signal."""

import errno
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from kmeans_tf import cli, data_io
from tests.cases import BLOBS, BLOBS_CSV, REPO_ROOT, assert_error, run


@pytest.fixture
def blobs(tmp_path):
    path = tmp_path / "blobs.csv"
    path.write_text(BLOBS_CSV)
    return path


@pytest.fixture
def shards(tmp_path):
    """A folder of two .npy shards of the blobs, and the centroids file of a fit of them."""
    folder = tmp_path / "shards"
    folder.mkdir()
    np.save(folder / "a.npy", BLOBS[:3])
    np.save(folder / "b.npy", BLOBS[3:])
    np.save(tmp_path / "centroids.npy", BLOBS[[0, 3]])
    return folder


def contents(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def hidden(folder):
    return [path.name for path in folder.iterdir() if path.name.startswith(".")]


def test_no_output_replaces_a_shard_of_a_data_folder_even_with_force(tmp_path, shards):
    before = contents(shards)
    link = tmp_path / "link.npy"
    link.symlink_to(shards / "b.npy")
    for out in (shards / "b.npy", link):
        fitted = run("fit", shards, "-k", 2, "--labels-out", out, "--force")
        assert_error(fitted, f"--labels-out {out} is also DATA ({shards / 'b.npy'})")
        predicted = run("predict", shards, "--centroids", tmp_path / "centroids.npy", "--labels-out", out, "--force")
        assert_error(predicted, f"--labels-out {out} is also DATA ({shards / 'b.npy'})")
    assert contents(shards) == before


def test_a_new_npy_file_in_a_data_folder_is_refused_as_it_would_be_read_as_a_shard(tmp_path, shards):
    (tmp_path / "folder-link").symlink_to(shards)
    (tmp_path / "dangling.npy").symlink_to(shards / "new.npy")
    for out in (
        shards / "labels.npy",
        shards / "LABELS.NPY",
        tmp_path / "folder-link" / "labels.npy",
        tmp_path / "dangling.npy",
    ):
        for option in ("--labels-out", "--centroids-out"):
            assert_error(run("fit", shards, "-k", 2, option, out), f"{option} {out}", "would be a shard of DATA")
    assert sorted(os.listdir(shards)) == ["a.npy", "b.npy"]
    for name in ("labels.txt", ".labels.npy"):  # neither is a shard
        assert run("fit", shards, "-k", 2, "--labels-out", shards / name).exit_code == 0
    assert run("fit", shards, "-k", 2).exit_code == 0


def test_no_output_replaces_the_weights_or_the_centroids_file_through_a_link(tmp_path, blobs):
    weights = tmp_path / "weights.csv"
    weights.write_text("1\n1\n1\n2\n2\n2\n")
    (tmp_path / "weights-link.csv").symlink_to(weights)
    result = run(
        "fit", blobs, "-k", 2, "--weights", weights, "--centroids-out", tmp_path / "weights-link.csv", "--force"
    )
    assert_error(result, "is also --weights")
    centroids = tmp_path / "centroids.csv"
    centroids.write_text("0,0\n10,10\n")
    (tmp_path / "centroids-link.txt").symlink_to(centroids)
    result = run("predict", blobs, "--centroids", centroids, "--labels-out", tmp_path / "centroids-link.txt", "--force")
    assert_error(result, "is also --centroids")
    assert weights.read_text() == "1\n1\n1\n2\n2\n2\n" and centroids.read_text() == "0,0\n10,10\n"


def test_a_run_writes_all_of_its_outputs_or_none(tmp_path, blobs):
    labels = tmp_path / "lx.txt"
    result = run("fit", blobs, "-k", 2, "--labels-out", labels, "--centroids-out", "/dev/full")
    assert_error(result, "cannot write /dev/full: No space left on device")
    assert not labels.exists() and "Labels written" not in result.stderr
    labels.write_text("old labels\n")
    result = run("fit", blobs, "-k", 2, "--labels-out", labels, "--centroids-out", "/dev/full", "--force")
    assert_error(result, "/dev/full")
    assert labels.read_text() == "old labels\n"
    full_png = tmp_path / "full.png"
    full_png.symlink_to("/dev/full")
    assert_error(run("generate", "--out", tmp_path / "s.csv", "--plot", full_png), "full.png", "No space left")
    assert not (tmp_path / "s.csv").exists()
    assert_error(run("fit", blobs, "-k", 2, "--plot", tmp_path / "p.png", "--trajectory", full_png), "full.png")
    assert not (tmp_path / "p.png").exists()
    assert hidden(tmp_path) == []


def test_labels_go_to_stdout_only_once_the_files_are_written(blobs):
    result = run("fit", blobs, "-k", 2, "--centroids-out", "/dev/full")
    assert_error(result, "/dev/full")
    assert result.stdout == ""


@pytest.mark.parametrize("failing", ["labels", "centroids"])
def test_a_failed_rename_puts_back_every_file_it_replaced(monkeypatch, tmp_path, blobs, failing):
    outputs = {"labels": tmp_path / "labels.txt", "centroids": tmp_path / "centroids.csv"}
    for name, path in outputs.items():
        path.write_text(f"old {name}\n")
    real_replace = os.replace

    def replace(source, destination):
        if str(destination) == str(outputs[failing]) and str(source).endswith(outputs[failing].suffix):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    result = run(
        "fit", blobs, "-k", 2, "--labels-out", outputs["labels"], "--centroids-out", outputs["centroids"], "--force"
    )
    assert_error(result, f"cannot write {outputs[failing]}: Input/output error")
    assert {name: path.read_text() for name, path in outputs.items()} == {
        "labels": "old labels\n",
        "centroids": "old centroids\n",
    }
    assert hidden(tmp_path) == []


def test_a_failed_rename_removes_the_new_files_already_renamed(monkeypatch, tmp_path, blobs):
    labels, centroids = tmp_path / "labels.txt", tmp_path / "centroids.csv"
    real_replace = os.replace

    def replace(source, destination):
        if str(destination) == str(centroids):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    assert_error(run("fit", blobs, "-k", 2, "--labels-out", labels, "--centroids-out", centroids), "Input/output")
    assert sorted(os.listdir(tmp_path)) == ["blobs.csv"]


def test_a_checkpoint_that_cannot_be_a_folder_is_refused_before_the_data_are_read(monkeypatch, tmp_path, shards):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setattr(cli.clustering, "open_data", lambda *args, **kwargs: pytest.fail("the data were read"))
    for path, fragment in [
        ("/dev/null", "--checkpoint /dev/null is not a folder"),
        (tmp_path / "a-file" / "sub", f"cannot make this folder: Not a directory ({tmp_path / 'a-file'} is a file)"),
    ]:
        assert_error(run("fit", shards, "-k", 2, "--checkpoint", path), fragment)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_during_convert_leaves_nothing_behind(tmp_path, signum):
    out = tmp_path / "out.npy"
    child = subprocess.Popen(
        [sys.executable, "-m", "kmeans_tf", "convert", "-", str(out)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    child.stdin.write(b"x,y\n" + b"1,2\n" * 1000)  # stdin stays open: convert waits for more rows
    child.stdin.flush()

    def staged():  # the output's temporary file, not the passing probe that checks the folder is writable
        return [name for name in hidden(tmp_path) if name.startswith(f".{out.name}.")]

    deadline = time.monotonic() + 120
    while not staged() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    if not staged():
        child.kill()
        _, errors = child.communicate(timeout=120)
        pytest.fail(f"convert wrote no temporary file (exit {child.returncode}): {errors.decode()!r}")
    child.send_signal(signum)
    _, errors = child.communicate(timeout=120)
    assert child.returncode == 128 + signum, errors
    assert errors.decode().splitlines() == [f"Aborted: {signal.Signals(signum).name}"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("when", ["writing", "renaming"])
def test_a_stop_while_outputs_are_written_leaves_every_file_as_it_was(monkeypatch, tmp_path, when):
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("old\n")
    real_replace = os.replace

    def stop(*args):
        raise cli.console.Stopped(signal.SIGTERM)

    def stop_at_the_second_rename(source, destination):
        if str(destination) == str(new):
            stop()
        return real_replace(source, destination)

    if when == "renaming":
        monkeypatch.setattr(os, "replace", stop_at_the_second_rename)

    def write_new(where):
        if when == "writing":
            stop()
        data_io.write_labels(where, [2], overwrite=True)

    outputs = [(old, lambda where: data_io.write_labels(where, [1], overwrite=True)), (new, write_new)]
    with pytest.raises(cli.console.Stopped):
        data_io.write_all(outputs, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["old.txt"] and old.read_text() == "old\n"

"""Checkpoints of a streamed or distributed fit (``kmeans(..., checkpoint=DIR)``, ``fit --checkpoint``)."""

import json
import os
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from compat import eager
from kmeans_tf.stream import checkpoint as checkpoints
from tests.cases import DTYPE_IDS, DTYPES, assert_error, random_case, run


class Stopped(Exception):
    """Stands for the crash of a fit."""


def stop_after_saving(monkeypatch, at):
    """Make ``Checkpoint.save`` stop the fit once it has saved iteration ``at``."""
    save = checkpoints.Checkpoint.save

    def save_then_stop(self, n_iter, previous, centroids):
        save(self, n_iter, previous, centroids)
        if n_iter == at:
            raise Stopped

    monkeypatch.setattr(checkpoints.Checkpoint, "save", save_then_stop)


def resumed_fit(monkeypatch, fit, folder):
    """Run ``fit(checkpoint=folder)`` until it saves iteration 3, then again to the end; return the second's answer."""
    with monkeypatch.context() as patched:
        stop_after_saving(patched, 3)
        with pytest.raises(Stopped):
            fit(checkpoint=folder, checkpoint_every=3)
    with np.load(folder / checkpoints.FILE_NAME) as saved:
        assert int(saved["n_iter"]) == 3
    result = fit(checkpoint=folder, checkpoint_every=3)
    assert os.listdir(folder) == []  # removed at the end
    return result


def test_a_resumed_cosine_fit_gives_the_uninterrupted_answer(monkeypatch, tmp_path):
    samples, initial = random_case(2, 5001, 3, 6, np.float64)

    def fit(**options):
        return eager.kmeans(eager.Shards([samples]), 6, init=initial, tol=0, metric="cosine", **options)

    whole = fit()
    assert whole.n_iter > 3, "the case converges too soon to be interrupted"
    resumed = resumed_fit(monkeypatch, fit, tmp_path)
    assert_array_equal(resumed.labels, whole.labels)
    assert resumed.n_iter == whole.n_iter
    assert_allclose(resumed.centroids, whole.centroids, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("tol", [1e-4, 0.0], ids=["tol 1e-4", "tol 0"])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_resumed_fit_gives_the_uninterrupted_answer(monkeypatch, tmp_path, dtype, tol, seed):
    samples, initial = random_case(seed, 5001, 3, 6, dtype)
    weights = np.random.RandomState(seed).uniform(0.5, 2, len(samples)) if seed else None

    def fit(**options):
        return eager.kmeans(eager.Shards([samples]), 6, init=initial, tol=tol, sample_weight=weights, **options)

    whole = fit()
    assert whole.n_iter > 3, "the case converges too soon to be interrupted"
    resumed = resumed_fit(monkeypatch, fit, tmp_path)
    assert_array_equal(resumed.labels, whole.labels)
    assert (resumed.n_iter, resumed.converged) == (whole.n_iter, whole.converged)
    # the running sums are rebuilt from scratch: added in another order, float32 centroids may round one ulp apart
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert_allclose(resumed.centroids, whole.centroids, rtol=rtol)
    assert_allclose(resumed.inertia, whole.inertia, rtol=rtol)


def test_a_checkpoint_of_another_run_is_refused(monkeypatch, tmp_path):
    samples, initial = random_case(0, 5001, 3, 6, np.float64)
    with monkeypatch.context() as patched:
        stop_after_saving(patched, 3)
        with pytest.raises(Stopped):
            eager.kmeans(eager.Shards([samples]), 6, init=initial, checkpoint=tmp_path, checkpoint_every=3)
    path = tmp_path / checkpoints.FILE_NAME
    with pytest.raises(ValueError, match=f"checkpoint {path} was written for n_clusters=6, this run has n_clusters=5;"):
        eager.kmeans(eager.Shards([samples]), 5, init=initial[:5], checkpoint=tmp_path)
    with pytest.raises(ValueError, match="was written for tol=0.0001, this run has tol=0.001"):
        eager.kmeans(eager.Shards([samples]), 6, init=initial, tol=1e-3, checkpoint=tmp_path)
    with pytest.raises(ValueError, match="was written for other data"):
        eager.kmeans(eager.Shards([samples + 1]), 6, init=initial, checkpoint=tmp_path)
    with pytest.raises(ValueError, match="was written for metric='euclidean', this run has metric='cosine'"):
        eager.kmeans(eager.Shards([samples]), 6, init=initial, metric="cosine", checkpoint=tmp_path)
    good = path.read_bytes()
    for field, value, message in (
        ("n_iter", -5, "holds n_iter=-5, outside [1, max_iter=300)"),
        ("n_iter", 300, "holds n_iter=300, outside [1, max_iter=300)"),
        ("options", "[1, 2]", "holds options that are not a record of names and values"),
        ("centroids", np.full((6, 3), np.nan), "holds centroids that are not finite numbers"),
        ("mean", np.array(["a", "b", "c"]), "holds a column mean that is not finite numbers"),
    ):
        with np.load(path) as saved:
            fields = dict(saved)
        fields[field] = np.array(value)
        np.savez(path, **fields)
        with pytest.raises(ValueError, match=re.escape(message)):
            eager.kmeans(eager.Shards([samples]), 6, init=initial, checkpoint=tmp_path)
        path.write_bytes(good)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot be read"):
        eager.kmeans(eager.Shards([samples]), 6, init=initial, checkpoint=tmp_path)


def test_a_failed_write_leaves_no_partial_file(monkeypatch, tmp_path):
    samples, initial = random_case(0, 5001, 3, 6, np.float64)

    def failing_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        eager.kmeans(eager.Shards([samples]), 6, init=initial, checkpoint=tmp_path, checkpoint_every=1)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(checkpoint_every=0), "checkpoint_every=0 should be an integer >= 1"),
        (dict(checkpoint="no such folder"), "checkpoint='no such folder' should be an existing folder, or None"),
        (dict(n_init=2, init="random"), "n_init=2 should be 1 with a checkpoint"),
        (dict(keep_history=True), "keep_history=True should be False with a checkpoint"),
    ],
    ids=["every 0", "no folder", "n_init 2", "history"],
)
def test_bad_checkpoint_options_are_refused_at_the_door(tmp_path, options, message):
    options = {"checkpoint": tmp_path, **options}
    with pytest.raises(ValueError, match=message):
        eager.kmeans(eager.Shards([np.zeros((4, 2))]), 2, **options)


def test_samples_in_memory_have_no_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="needs a strategy or streamed samples"):
        eager.kmeans(np.zeros((4, 2)), 2, checkpoint=tmp_path)


def test_fit_resumes_from_its_checkpoint_folder(monkeypatch, tmp_path):
    samples, initial = random_case(0, 5001, 3, 6, np.float64)
    np.save(tmp_path / "data.npy", samples)
    np.save(tmp_path / "init.npy", initial)
    folder = tmp_path / "saved"
    options = ["fit", tmp_path / "data.npy", "--init", tmp_path / "init.npy", "--json"]
    whole = run(*options)
    assert whole.exit_code == 0, whole.output
    with monkeypatch.context() as patched:
        stop_after_saving(patched, 3)
        assert_error(run(*options, "--checkpoint", folder, "--checkpoint-every", 3), "internal error: Stopped")
    assert os.listdir(folder) == [checkpoints.FILE_NAME]
    resumed = run(*options, "--checkpoint", folder, "--checkpoint-every", 3)
    assert resumed.exit_code == 0, resumed.output
    resumed, whole = json.loads(resumed.stdout), json.loads(whole.stdout)
    for name in ("inertia", "centroids"):  # sums added in another order: equal to float64 rounding
        assert_allclose(resumed.pop(name), whole.pop(name), rtol=1e-12)
    assert resumed == whole  # iterations, cluster sizes, ...
    assert os.listdir(folder) == []


def test_fit_refuses_a_checkpoint_for_data_in_memory(tmp_path):
    (tmp_path / "data.csv").write_text("1,2\n3,4\n5,6\n")
    result = run("fit", tmp_path / "data.csv", "-k", 2, "--checkpoint", tmp_path / "saved")
    assert_error(
        result,
        f"--checkpoint needs .npy data streamed from disk, or --workers; {tmp_path / 'data.csv'} "
        f"is read into memory here",
    )
    np.save(tmp_path / "data.npy", np.zeros((3, 2)))
    result = run(
        "fit", tmp_path / "data.npy", "-k", 2, "--checkpoint", tmp_path / "saved", "--plot", tmp_path / "fit.png"
    )
    assert_error(result, "is read into memory here")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.csv", "data.npy"]  # no folder made
    assert_error(
        run("fit", tmp_path / "data.csv", "-k", 2, "--mini-batch", 2, "--checkpoint", tmp_path / "saved"),
        "--checkpoint does not apply to --mini-batch",
        exit_code=2,
    )


def test_a_failed_fit_removes_the_checkpoint_folders_it_made(tmp_path):
    data = tmp_path / "data.npy"
    np.save(data, np.zeros((3, 2)))
    result = run("fit", data, "-k", 2, "--init", "random", "--n-init", 2, "--checkpoint", tmp_path / "new" / "saved")
    assert_error(result, "n_init=2 should be 1 with a checkpoint")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.npy"]
    (tmp_path / "mine").mkdir()
    result = run("fit", data, "-k", 2, "--n-init", 2, "--checkpoint", tmp_path / "mine" / "saved")
    assert_error(result, "n_init=2 should be 1 with a checkpoint")
    assert [path.name for path in (tmp_path / "mine").iterdir()] == []  # the folder given stays, without the new one


def test_a_checkpoint_folder_that_cannot_be_made_is_one_line(tmp_path):
    np.save(tmp_path / "data.npy", np.zeros((3, 2)))
    (tmp_path / "file").write_text("")
    result = run("fit", tmp_path / "data.npy", "-k", 2, "--checkpoint", tmp_path / "file" / "saved")
    assert_error(result, f"--checkpoint {tmp_path / 'file' / 'saved'}: cannot make this folder: Not a directory")

"""A fit's progress: the per-iteration ``callback`` of every way of fitting, and the TensorBoard log built on it."""

import os
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import kmeans_tf
from kmeans_tf.engine import progress, tensorboard
from kmeans_tf.engine.progress import IterationState
from tests.cases import random_case, run

STREAMED, IN_MEMORY = "streamed", "in memory"


def mapped(tmp_path, samples):
    np.save(tmp_path / "samples.npy", samples)
    return np.load(tmp_path / "samples.npy", mmap_mode="r")


def samples_as(where, tmp_path, samples):
    return mapped(tmp_path, samples) if where == STREAMED else samples


# ---------------------------------------------------------------------------
# The callback
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["auto", "lloyd", "hamerly"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_a_callback_leaves_the_labels_and_centroids_bit_for_bit(either_path, algorithm, weighted):
    samples, initial = random_case(1, 3000, 4, 6, dtype=np.float32)
    weights = np.random.RandomState(1).uniform(0, 2, len(samples)) if weighted else None
    options = dict(init=initial, tol=0, algorithm=algorithm, sample_weight=weights)
    states = []
    plain = kmeans_tf.kmeans(samples, 6, **options)
    watched = kmeans_tf.kmeans(samples, 6, callback=states.append, **options)
    assert_array_equal(watched.labels, plain.labels)
    assert_array_equal(watched.centroids, plain.centroids)
    assert (watched.n_iter, watched.converged, watched.inertia) == (plain.n_iter, plain.converged, plain.inertia)
    assert [state.iteration for state in states] == list(range(plain.n_iter))


@pytest.mark.parametrize("where", [IN_MEMORY, STREAMED])
def test_each_state_is_the_iterations_record_in_the_datas_units(tmp_path, where):
    samples, initial = random_case(2, 2000, 3, 5, dtype=np.float64)
    samples = samples * 1e3 + 5e3  # centred and scaled inside: the states come back in the data's units
    weights = np.random.RandomState(2).uniform(0.5, 2, len(samples))
    data = samples_as(where, tmp_path, samples)
    options = dict(init=initial * 1e3 + 5e3, sample_weight=weights, tol=1e-6)
    states = []
    recorded = kmeans_tf.kmeans(data, 5, keep_iterations=True, callback=states.append, **options)
    plain = kmeans_tf.kmeans(data, 5, **options)
    assert_array_equal(recorded.labels, plain.labels)
    assert_array_equal(recorded.centroids, plain.centroids)
    iterations = recorded.iterations
    assert_array_equal([state.inertia for state in states], iterations.inertia)
    assert_array_equal([state.shift for state in states], iterations.shift)
    assert_array_equal([state.changed for state in states], iterations.changed)
    assert {state.tol for state in states} == {iterations.tol}
    assert [state.converged for state in states] == [False] * (recorded.n_iter - 1) + [recorded.converged]
    assert {state.run for state in states} == {0}
    seconds = [state.seconds for state in states]
    assert seconds == sorted(seconds) and seconds[0] >= 0
    # sizes: the (weighted) rows of each iteration's labels; the first iteration's, by hand
    first = kmeans_tf.predict(samples, options["init"])
    assert_allclose(states[0].sizes, np.bincount(first, weights, minlength=5), rtol=1e-12)
    assert_allclose([state.sizes.sum() for state in states], weights.sum(), rtol=1e-12)


@pytest.mark.parametrize("where", [IN_MEMORY, STREAMED])
def test_false_stops_the_fit_after_that_iteration_and_starts_no_other_run(tmp_path, where):
    samples, _ = random_case(3, 2000, 2, 8, dtype=np.float64)
    data = samples_as(where, tmp_path, samples)
    states = []

    def three_iterations(state):
        states.append(state)
        return state.iteration < 2

    result = kmeans_tf.kmeans(data, 8, init="random", n_init=4, seed=3, tol=0, callback=three_iterations)
    assert [(state.run, state.iteration) for state in states] == [(0, 0), (0, 1), (0, 2)]
    assert (result.n_iter, result.converged) == (3, False)
    assert_array_equal(result.labels, kmeans_tf.predict(samples, result.centroids))
    assert result.inertia == pytest.approx(kmeans_tf.inertia(samples, result.centroids), rel=1e-9)


def test_only_false_stops_a_fit():
    samples, initial = random_case(4, 500, 2, 3, dtype=np.float64)
    full = kmeans_tf.kmeans(samples, 3, init=initial, tol=0)
    for answer in (None, 0, True, "", np.True_):
        assert kmeans_tf.kmeans(samples, 3, init=initial, tol=0, callback=lambda state: answer).n_iter == full.n_iter
    assert kmeans_tf.kmeans(samples, 3, init=initial, tol=0, callback=lambda state: np.False_).n_iter == 1


@pytest.mark.parametrize("where", [IN_MEMORY, STREAMED])
def test_what_a_callback_raises_ends_the_fit_and_reaches_the_caller(tmp_path, where):
    samples, initial = random_case(5, 1000, 2, 4, dtype=np.float64)
    data = samples_as(where, tmp_path, samples)

    def fail(state):
        raise KeyError(f"stopped in run {state.run} at iteration {state.iteration}")

    with pytest.raises(KeyError, match="stopped in run 0 at iteration 0"):
        kmeans_tf.kmeans(data, 4, init=initial, n_init=1, callback=fail)
    # the next fit runs as ever
    assert kmeans_tf.kmeans(data, 4, init=initial, callback=lambda state: None).n_iter >= 1


def test_skipped_is_the_share_of_labels_the_bounds_proved(native_kernel):
    samples, initial = random_case(6, 4000, 3, 5, dtype=np.float64)
    shares = {}
    for algorithm in ("lloyd", "hamerly"):
        states = []
        kmeans_tf.kmeans(samples, 5, init=initial, tol=0, algorithm=algorithm, callback=states.append)
        shares[algorithm] = [state.skipped for state in states]
    assert set(shares["lloyd"]) == {0.0}  # every row measured against every centroid
    hamerly = shares["hamerly"]
    assert hamerly[0] == 0.0  # no bounds yet: every row measured
    assert all(0 <= share <= 1 for share in hamerly) and max(hamerly) > 0.5
    assert hamerly[-1] == max(hamerly)  # the last pass, where no label changes, proves the most


def test_without_bounds_nothing_is_skipped(without_native_kernel):
    samples, initial = random_case(6, 2000, 3, 5, dtype=np.float64)
    states = []
    kmeans_tf.kmeans(samples, 5, init=initial, tol=0, algorithm="hamerly", callback=states.append)
    assert {state.skipped for state in states} == {0.0}


def test_the_state_is_a_small_frozen_record():
    state = IterationState(0, 1, 2.0, 3.0, 4, np.ones(2), 0.5, False, 0.1)
    with pytest.raises(AttributeError):
        state.inertia = 1.0
    assert progress.stops(False) and progress.stops(np.False_)
    assert not any(progress.stops(answer) for answer in (None, 0, True, "", []))


def test_minibatch_kmeans_reports_each_step_and_stops_on_false():
    samples, _ = random_case(6, 3000, 2, 5, dtype=np.float64)
    steps = []
    result = kmeans_tf.minibatch_kmeans(samples, 5, batch_size=100, max_iter=2, seed=6, callback=steps.append)
    assert [state.iteration for state in steps] == list(range(result.n_steps))
    assert all(state.changed is None and state.run == 0 for state in steps)
    assert steps[-1].converged == result.converged
    assert_allclose(steps[-1].sizes.sum(), 100 * result.n_steps)  # the rows each centroid has had, all weights 1
    plain = kmeans_tf.minibatch_kmeans(samples, 5, batch_size=100, max_iter=2, seed=6)
    assert_array_equal(result.centroids, plain.centroids)
    stopped = kmeans_tf.minibatch_kmeans(
        samples, 5, batch_size=100, max_iter=2, seed=6, callback=lambda state: state.iteration < 4
    )
    assert (stopped.n_steps, stopped.converged) == (5, False)
    assert_array_equal(stopped.labels, kmeans_tf.predict(samples, stopped.centroids))


def test_a_callback_is_checked_at_the_door():
    samples, _ = random_case(7, 100, 2, 3, dtype=np.float64)
    with pytest.raises(ValueError, match=r"callback=5 should be callable, as callback\(state\), or None"):
        kmeans_tf.minibatch_kmeans(samples, 3, callback=5)


def test_the_estimators_verbose_lines_come_from_the_callback(capsys):
    samples, _ = random_case(8, 500, 2, 3, dtype=np.float64)
    kmeans_tf.KMeans(3, init=lambda X, k, rng: X[:k], n_init=2, verbose=1, tol=0).fit(samples)
    lines = capsys.readouterr().out.splitlines()
    assert lines.count("Initialization complete") == 2 and lines[-1].endswith("strict convergence.")


# ---------------------------------------------------------------------------
# TensorBoard
# ---------------------------------------------------------------------------


def read_events(folder):
    """Each tag's (step, value) pairs in ``folder``'s event files: scalars as floats, histograms as arrays."""
    from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator
    from tensorboard.util import tensor_util

    events = EventAccumulator(str(folder), size_guidance={TENSORS: 0})
    events.Reload()
    found = {}
    for tag in events.Tags()[TENSORS]:
        values = [(event.step, tensor_util.make_ndarray(event.tensor_proto)) for event in events.Tensors(tag)]
        found[tag] = [(step, value.item() if value.ndim == 0 else value) for step, value in values]
    return found


def logged(folder, tag):
    return [value for _, value in read_events(folder)[tag]]


@pytest.mark.parametrize("where", [IN_MEMORY, STREAMED])
def test_the_log_holds_each_iterations_numbers_one_folder_a_run(tmp_path, where):
    samples, _ = random_case(9, 2000, 3, 4, dtype=np.float64)
    data = samples_as(where, tmp_path, samples)
    states = []
    result = kmeans_tf.kmeans(
        data, 4, init="random", n_init=2, seed=9, keep_iterations=True, callback=states.append, log_dir=tmp_path / "log"
    )
    assert sorted(os.listdir(tmp_path / "log")) == ["run-0", "run-1"]
    for index in (0, 1):
        run_states = [state for state in states if state.run == index]
        events = read_events(tmp_path / "log" / f"run-{index}")
        for tag in ("inertia", "shift", "changed", "skipped", "seconds"):
            assert events[tag] == [(state.iteration, float(getattr(state, tag))) for state in run_states]
        for (step, histogram), state in zip(events["cluster_sizes"], run_states):
            assert step == state.iteration and histogram[:, 2].sum() == 4  # one count a cluster
            assert histogram[0, 0] == state.sizes.min() and histogram[-1, 1] == state.sizes.max()
    # the run returned holds the projector's files, and logged what its record holds
    (returned,) = returned_runs(tmp_path / "log")
    assert logged(returned, "inertia") == list(result.iterations.inertia)
    assert_array_equal(np.loadtxt(returned / tensorboard.CENTROIDS_FILE, delimiter="\t"), result.centroids)


def returned_runs(log_dir):
    """The run folders in ``log_dir`` that hold the projector's files."""
    return [folder for folder in sorted(log_dir.iterdir()) if (folder / "projector_config.pbtxt").exists()]


def test_the_log_gives_the_projector_the_centroids_returned(tmp_path):
    from google.protobuf import text_format
    from tensorboard.plugins import projector

    samples, initial = random_case(10, 1000, 3, 5, dtype=np.float32)
    result = kmeans_tf.kmeans(samples, 5, init=initial, tol=0, log_dir=str(tmp_path))
    tmp_path = tmp_path / "run-0"
    assert_array_equal(np.loadtxt(tmp_path / tensorboard.CENTROIDS_FILE, delimiter="\t"), result.centroids)
    lines = (tmp_path / tensorboard.METADATA_FILE).read_text().splitlines()
    assert lines[0] == "cluster\tsize"
    sizes = np.bincount(result.labels, minlength=5)  # tol=0: the last iteration's labels are the final ones
    assert lines[1:] == [f"{index}\t{size}" for index, size in enumerate(sizes)]
    config = text_format.Parse((tmp_path / "projector_config.pbtxt").read_text(), projector.ProjectorConfig())
    (embedding,) = config.embeddings
    assert (embedding.tensor_path, embedding.metadata_path) == (tensorboard.CENTROIDS_FILE, tensorboard.METADATA_FILE)


def test_the_log_of_a_stopped_fit_ends_at_the_stop(tmp_path):
    samples, initial = random_case(11, 1000, 2, 4, dtype=np.float64)
    kmeans_tf.kmeans(samples, 4, init=initial, tol=0, log_dir=tmp_path, callback=lambda state: state.iteration < 1)
    assert [step for step, _ in read_events(tmp_path / "run-0")["inertia"]] == [0, 1]


def test_minibatch_and_the_estimators_write_the_log(tmp_path):
    samples, _ = random_case(12, 2000, 2, 3, dtype=np.float64)
    steps = []
    result = kmeans_tf.minibatch_kmeans(
        samples, 3, batch_size=200, max_iter=1, seed=1, callback=steps.append, log_dir=tmp_path / "function"
    )
    events = read_events(tmp_path / "function" / "run-0")
    assert events["inertia"] == [(state.iteration, state.inertia) for state in steps]
    assert "changed" not in events and "skipped" not in events and len(steps) == result.n_steps
    kmeans_tf.MiniBatchKMeans(3, batch_size=200, random_state=0, log_dir=tmp_path / "estimator").fit(samples)
    assert (tmp_path / "estimator" / "run-0" / tensorboard.CENTROIDS_FILE).exists()
    model = kmeans_tf.KMeans(3, init=lambda X, k, rng: X[rng.choice(len(X), k)], n_init=2, log_dir=tmp_path / "k")
    model.fit(samples)
    assert sorted(os.listdir(tmp_path / "k")) == ["run-0", "run-1"]
    (returned,) = returned_runs(tmp_path / "k")
    assert_array_equal(np.loadtxt(returned / tensorboard.CENTROIDS_FILE, delimiter="\t"), model.cluster_centers_)
    assert kmeans_tf.KMeans(3).get_params()["log_dir"] is None


def test_a_strategy_fit_writes_the_log_on_worker_0(tmp_path):
    import tensorflow as tf

    samples, initial = random_case(13, 2000, 2, 3, dtype=np.float64)
    states = []
    result = kmeans_tf.kmeans(
        samples,
        3,
        init=initial,
        strategy=tf.distribute.MirroredStrategy(["/cpu:0"]),
        keep_iterations=True,
        callback=states.append,
        log_dir=tmp_path,
    )
    assert logged(tmp_path / "run-0", "inertia") == list(result.iterations.inertia)
    assert [state.inertia for state in states] == list(result.iterations.inertia)
    # another worker reports to its callback and writes nothing
    quiet = progress.watch(states.append, tmp_path / "other", writes=False)
    quiet.start(0)(0, 1.0, 2, 3.0, np.ones(3), False, 0.0)
    quiet.finish(0, result)
    quiet.close()
    assert not (tmp_path / "other").exists() and states[-1].inertia == 1.0


def test_without_tensorboard_log_dir_is_one_error_naming_the_extra(monkeypatch, tmp_path):
    samples, _ = random_case(14, 100, 2, 3, dtype=np.float64)
    for name in [name for name in sys.modules if name.split(".")[0] == "tensorboard"] + ["tensorboard"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    message = r"log_dir needs TensorBoard, which is not installed: pip install 'kmeans-tf\[tensorboard\]'"
    with pytest.raises(ImportError, match=message):
        kmeans_tf.kmeans(samples, 3, log_dir=tmp_path / "log")
    with pytest.raises(ImportError, match=message):
        kmeans_tf.minibatch_kmeans(samples, 3, log_dir=tmp_path / "log")
    assert not (tmp_path / "log").exists()
    np.savetxt(tmp_path / "data.csv", samples, delimiter=",")
    result = run("fit", tmp_path / "data.csv", "-k", 3, "--logdir", tmp_path / "log")
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        "--logdir needs TensorBoard, which is not installed: pip install 'kmeans-tf[tensorboard]'"
    )


@pytest.mark.parametrize("log_dir", [5, "", "a file"], ids=["int", "empty", "file"])
def test_a_bad_log_dir_is_refused_at_the_door(tmp_path, log_dir):
    samples, _ = random_case(15, 100, 2, 3, dtype=np.float64)
    if log_dir == "a file":
        log_dir = tmp_path / "file"
        log_dir.write_text("")
    with pytest.raises(ValueError, match="log_dir=.* should be a folder"):
        kmeans_tf.kmeans(samples, 3, log_dir=log_dir)


def test_fit_logdir_writes_the_log(tmp_path):
    samples, _ = random_case(16, 500, 2, 3, dtype=np.float64)
    np.savetxt(tmp_path / "data.csv", samples, delimiter=",")
    result = run(
        "fit", tmp_path / "data.csv", "-k", 3, "--n-init", 2, "--init-seed", 0, "--json", "--logdir", tmp_path / "log"
    )
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path / "log")) == ["run-0", "run-1"] and len(returned_runs(tmp_path / "log")) == 1

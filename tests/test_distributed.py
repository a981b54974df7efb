"""k-means on several workers (``kmeans(..., strategy=...)``, ``kmeans-tf fit --workers``)."""

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from compat import eager
from kmeans_tf._tensorflow import tf
from kmeans_tf.cli import workers
from kmeans_tf.distributed import replicas as distributed
from kmeans_tf.engine import validation
from tests.cases import assert_error, fit_outputs, free_ports, random_case, run
from tests.distributed_checks import assert_single_process_answer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Seconds a check in a process of its own may take before it fails.
SUBPROCESS_TIMEOUT = 300


def run_python(*args, timeout=SUBPROCESS_TIMEOUT, env=None):
    """Run ``python ARGS`` from the repository's root, with this interpreter, and return the completed process."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": ROOT, **(env or {})},
    )


@pytest.mark.slow
def test_mirrored_strategy_gives_the_single_process_answer():
    # on the C kernel where it is built, and on TensorFlow's ops: labels, iterations, centroids, relocation, seeding
    done = run_python("-m", "tests.distributed_checks", "--with-tf-ops")
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "ok", done.stderr[-3000:]


@pytest.mark.parametrize("init", ["given", "k-means++ weighted"])
def test_a_one_device_mirrored_strategy_gives_the_single_process_answer(either_path, init):
    """In this process, on one replica: labels, iterations, centroids and inertia as one process gives them.

    Two replicas need two logical devices, made before TensorFlow starts its devices: the test above runs them.
    """
    samples, initial = random_case(0, 5001, 5, 7, np.float64)
    if init == "given":
        options = dict(init=initial)
    else:
        options = dict(init="k-means++", seed=1, sample_weight=np.random.RandomState(1).uniform(0.5, 2, len(samples)))
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    assert_single_process_answer(
        eager.kmeans(samples, 7, strategy=strategy, **options),
        eager.kmeans(eager.Shards([samples]), 7, **options),
        1e-12,
    )


def test_a_strategy_must_be_a_mirrored_one():
    with pytest.raises(ValueError, match="strategy should be a tf.distribute.MirroredStrategy"):
        eager.kmeans(np.zeros((4, 2)), 2, strategy="two workers")


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_split_makes_contiguous_ranges_across_shards(parts):
    arrays = [np.arange(14.0).reshape(7, 2), np.arange(14.0, 24.0).reshape(5, 2)]
    pieces, starts = distributed.split(eager.Shards(arrays), parts)
    assert starts == [12 * part // parts for part in range(parts + 1)]
    joined = np.concatenate([np.concatenate(list(piece.blocks(100))) for piece in pieces])
    assert_array_equal(joined, np.concatenate(arrays))


def test_a_workers_weights_may_all_be_zero():
    # whether a weight is > 0 anywhere is checked on every worker's count (distributed.kmeans)
    assert_array_equal(validation.check_sample_weight(np.zeros(3), 3, part=True), np.zeros(3))
    with pytest.raises(ValueError, match="sample_weight should have a weight > 0: all 3 are 0"):
        validation.check_sample_weight(np.zeros(3), 3)
    with pytest.raises(ValueError, match="sample_weight should have a weight > 0: all 8 are 0"):
        validation.check_positive_weights(0, 8, 2, "k-means++")


def test_split_needs_a_row_per_replica():
    with pytest.raises(ValueError, match="fewer than the 3 replicas"):
        distributed.split(np.zeros((2, 2)), 3)


# --- the command: kmeans-tf fit --workers ---

WORKERS_TIMEOUT = 120  # seconds a two-worker fit in these tests may take


def start_workers(data, *options, count=2, verbose=False, started=None, each=None):
    """Start ``kmeans-tf fit DATA --workers ...`` on free localhost ports; return the processes.

    ``started``: the indices of the workers to start (default: every one of the ``count``);
    ``each``: more options for each of them, in turn.
    """
    workers = ",".join(f"127.0.0.1:{port}" for port in free_ports(count))
    started = range(count) if started is None else started
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "compat",
                *(["--verbose"] if verbose else []),
                "fit",
                str(data),
                "--workers",
                workers,
                "--worker-index",
                str(index),
                *map(str, options),
                *map(str, () if each is None else each[turn]),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": ROOT},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for turn, index in enumerate(started)
    ]


def finish(processes, timeout=WORKERS_TIMEOUT):
    """Wait for every process (killed past ``timeout``); return their (exit status, stdout, stderr)."""
    results = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        results.append((process.returncode, out, err))
    return results


@pytest.mark.slow
def test_two_worker_processes_give_the_single_process_answer(tmp_path):
    samples, initial = random_case(0, 30001, 4, 5, np.float64)
    np.save(tmp_path / "data.npy", samples)
    np.save(tmp_path / "init.npy", initial)
    processes = start_workers(
        tmp_path / "data.npy", "--init", tmp_path / "init.npy", *fit_outputs(tmp_path), "--timeout", 60
    )
    results = finish(processes)
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    single = eager.kmeans(np.load(tmp_path / "data.npy", mmap_mode="r"), 5, init=initial)
    summary = json.loads(results[0][1])
    assert results[1][1] == ""  # the summary is worker 0's
    assert summary["n_samples"] == 30001 and summary["n_iter"] == single.n_iter
    assert summary["cluster_sizes"] == np.bincount(single.labels, minlength=5).tolist()
    assert_allclose(summary["inertia"], single.inertia, rtol=1e-12)
    assert_allclose(np.load(tmp_path / "centroids.npy"), single.centroids, rtol=1e-12)
    labels = [np.loadtxt(tmp_path / f"labels.worker{index}.txt", dtype=np.int64) for index in range(2)]
    assert [len(each) for each in labels] == [15000, 15001]
    assert_array_equal(np.concatenate(labels), single.labels)
    assert not (tmp_path / "labels.txt").exists()


@pytest.mark.slow
def test_two_workers_cluster_by_direction_as_one_process_does(tmp_path):
    samples, _ = random_case(2, 30001, 8, 6, np.float32)
    np.save(tmp_path / "emb.npy", samples)
    options = ("-k", 6, "--metric", "cosine", "--init-seed", 3, "--memory-budget", "1MiB")
    processes = start_workers(tmp_path / "emb.npy", *options, *fit_outputs(tmp_path, "centroids.csv"), "--timeout", 60)
    results = finish(processes)
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    single = eager.kmeans(np.load(tmp_path / "emb.npy", mmap_mode="r"), 6, metric="cosine", seed=3)
    summary = json.loads(results[0][1])
    assert summary["metric"] == "cosine" and summary["n_iter"] == single.n_iter
    assert_allclose(summary["inertia"], single.inertia, rtol=1e-9)
    labels = [np.loadtxt(tmp_path / f"labels.worker{index}.txt", dtype=np.int64) for index in range(2)]
    assert_array_equal(np.concatenate(labels), single.labels)
    assert (tmp_path / "centroids.csv").read_text().startswith("# metric: cosine\n")
    assert_allclose(np.loadtxt(tmp_path / "centroids.csv", delimiter=","), single.centroids, rtol=1e-5)


@pytest.mark.slow
def test_two_workers_keep_the_best_of_n_init_runs_and_say_nothing_else(tmp_path):
    samples, _ = random_case(1, 30001, 4, 5, np.float64)
    np.save(tmp_path / "data.npy", samples)
    processes = start_workers(
        tmp_path / "data.npy", "-k", 5, "--init", "random", "--n-init", 3, "--init-seed", 1, "--json", "--timeout", 60
    )
    results = finish(processes)
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    single = eager.kmeans(np.load(tmp_path / "data.npy", mmap_mode="r"), 5, init="random", n_init=3, seed=1)
    summary = json.loads(results[0][1])
    assert summary["n_iter"] == single.n_iter
    assert summary["cluster_sizes"] == np.bincount(single.labels, minlength=5).tolist()
    assert_allclose(summary["inertia"], single.inertia, rtol=1e-12)
    # each worker's stderr holds the summary line alone: no log line of TensorFlow's (its retracing warnings, say)
    assert [[line.split(":")[0] for line in err.splitlines()] for _, _, err in results] == [["k-means"]] * 2, results


@pytest.mark.slow
def test_a_worker_that_dies_stops_the_others_within_the_timeout(tmp_path):
    # Uniform data in 2-D, 1024 clusters and tol 0: many iterations, so the fit is in its loop when a worker dies.
    samples = np.random.RandomState(0).uniform(size=(1_000_000, 2)).astype(np.float32)
    np.save(tmp_path / "data.npy", samples)
    timeout = 30
    processes = start_workers(
        tmp_path / "data.npy",
        "-k",
        1024,
        "--init-seed",
        0,
        "--tol",
        0,
        *fit_outputs(tmp_path),
        "--timeout",
        timeout,
        verbose=True,
    )
    seen = [read_until(process, "Kernel:") for process in processes]  # both have read the data
    time.sleep(6)
    assert processes[0].poll() is None, "the fit ended before a worker was stopped; make it longer"
    processes[1].kill()
    started = time.monotonic()
    (code, out, err), _ = finish(processes, timeout=timeout + 30)
    assert time.monotonic() - started < timeout + 10
    assert code == 1 and out == ""
    # --verbose's two lines, then the error alone: TensorFlow's and gRPC's logging are off
    assert [line.split()[0] for line in seen[0].splitlines()] == ["Read", "Kernel:"], seen[0]
    assert [line for line in err.splitlines() if line.strip()] == [err.splitlines()[-1]], err[-3000:]
    assert err.splitlines()[-1].startswith("Error: worker 1 (127.0.0.1:") and "stopped answering" in err, err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.npy"]


@pytest.mark.slow
@pytest.mark.parametrize("stuck", [1, 0], ids=["worker 1 stuck", "worker 0 stuck"])
def test_a_worker_that_stops_answering_is_named_within_the_timeout(tmp_path, stuck):
    # uniform rows in many clusters take hundreds of iterations: the fit runs far beyond the stop
    np.save(tmp_path / "data.npy", np.random.RandomState(0).uniform(size=(2_000_000, 2)).astype(np.float32))
    timeout = 20
    options = ("-k", 1024, "--init-seed", 0, "--tol", 0, "--max-iter", 100_000, "--timeout", timeout)
    processes = start_workers(tmp_path / "data.npy", *options, *fit_outputs(tmp_path), verbose=True)
    try:
        for process in processes:
            read_until(process, "Kernel:")
        time.sleep(6)  # connected, and in the loop
        assert processes[0].poll() is None, "the fit ended before a worker was stopped; make it longer"
        processes[stuck].send_signal(signal.SIGSTOP)
        started = time.monotonic()
        [(code, out, err)] = finish([processes[1 - stuck]], timeout=timeout + 30)
        assert time.monotonic() - started < timeout + 10
    finally:
        processes[stuck].send_signal(signal.SIGCONT)
        processes[stuck].kill()
        finish([processes[stuck]])
    address = workers.parse_workers(processes[0].args[processes[0].args.index("--workers") + 1])[stuck]
    assert code == 1 and out == ""
    assert err.splitlines()[-1].startswith(f"Error: worker {stuck} ({address}) stopped answering"), err[-3000:]


@pytest.mark.slow
def test_a_worker_listens_on_every_interface_whatever_its_host(tmp_path):
    # TensorFlow's server listens on 0.0.0.0 (docs/several-machines.md, "Network and security"): if this changes,
    # so does that page.
    np.save(tmp_path / "data.npy", np.zeros((4, 2)))
    [process] = start_workers(tmp_path / "data.npy", "-k", 2, "--timeout", 60, started=[0])
    port = int(process.args[process.args.index("--workers") + 1].split(",")[0].rpartition(":")[2])
    try:
        deadline, listening = time.monotonic() + 50, set()
        while not listening and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
            listening = listening_addresses(port)
    finally:
        process.kill()
        finish([process])
    assert listening and listening <= {"0.0.0.0", "::"}, listening


def listening_addresses(port):
    """The local addresses that sockets listen on at ``port``, from ``/proc/net/tcp`` and ``tcp6``."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        with open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    packed = bytes.fromhex(address)
                    words = b"".join(packed[i : i + 4][::-1] for i in range(0, len(packed), 4))  # host-order words
                    found.add(socket.inet_ntop(family, words))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("present, missing", [(0, 1), (1, 0)], ids=["worker 1 missing", "worker 0 missing"])
def test_a_worker_that_never_starts_stops_the_others_within_the_timeout(tmp_path, present, missing):
    np.save(tmp_path / "data.npy", np.random.RandomState(0).uniform(size=(100, 2)))
    timeout = 5
    started = time.monotonic()
    processes = start_workers(
        tmp_path / "data.npy",
        "-k",
        3,
        *fit_outputs(tmp_path),
        "--checkpoint",
        tmp_path / "saved",
        "--timeout",
        timeout,
        started=[present],
    )
    [(code, out, err)] = finish(processes, timeout=timeout + 60)
    # the timeout, TensorFlow's start-up and a few seconds' grace of its registration with worker 0
    assert time.monotonic() - started < timeout + 25
    assert code == 1 and out == "", err[-3000:]
    address = workers.parse_workers(processes[0].args[processes[0].args.index("--workers") + 1])[missing]
    # TensorFlow's and gRPC's logging are off: stderr holds the one line
    assert err.splitlines() == [
        f"Error: worker {missing} ({address}) did not connect (within --timeout 5 s: "
        f"DeadlineExceededError); worker {present} stops"
    ], err[-3000:]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.npy"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "each, message",
    [
        ([["--split", "rows"], ["--split", "files"]], "--split: rows (worker 0), files (worker 1)"),
        ([["--init-seed", 0], ["--init-seed", 1]], "--init-seed: 0 (worker 0), 1 (worker 1)"),
    ],
    ids=["--split", "--init-seed"],
)
def test_workers_given_different_options_all_stop_naming_the_option(tmp_path, each, message):
    np.save(tmp_path / "data.npy", np.random.RandomState(0).uniform(size=(100, 2)))
    processes = start_workers(tmp_path / "data.npy", "-k", 3, *fit_outputs(tmp_path), "--timeout", 60, each=each)
    results = finish(processes)
    for code, out, err in results:
        assert code == 1 and out == "", err[-3000:]
        assert err.splitlines() == [
            f"Error: the workers disagree on {message}; every worker runs the same command but --worker-index"
        ], err[-3000:]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.npy"]


@pytest.mark.slow
def test_two_workers_given_one_index_are_told_so(tmp_path):
    np.save(tmp_path / "data.npy", np.random.RandomState(0).uniform(size=(100, 2)))
    processes = start_workers(tmp_path / "data.npy", "-k", 3, "--timeout", 5, started=[0, 0])
    results = finish(processes, timeout=60)
    port = workers.parse_workers(processes[0].args[processes[0].args.index("--workers") + 1])[0].rpartition(":")[2]
    port_taken, not_connected = sorted(err.splitlines()[-1] for _, _, err in results)  # "Error: p..." < "Error: w..."
    assert [code for code, _, _ in results] == [1, 1], results
    assert port_taken == (
        f"Error: port {port} on 127.0.0.1 is in use (by another program, or by another worker given "
        f"--worker-index 0); worker 0 stops"
    ), results
    assert not_connected.startswith("Error: worker 1 (127.0.0.1:") and "did not connect" in not_connected, results


def test_a_port_in_use_is_named_before_the_worker_listens(tmp_path):
    np.save(tmp_path / "data.npy", np.zeros((4, 2)))
    taken, other = free_ports(2)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        result = run(
            "fit", tmp_path / "data.npy", "-k", 2, "--workers", f"127.0.0.1:{taken},127.0.0.1:{other}",
            "--worker-index", 0, "--labels-out", tmp_path / "labels.txt",
        )  # fmt: skip
    assert_error(result, f"port {taken} on 127.0.0.1 is in use", "worker 0 stops")


SHARED = types.SimpleNamespace(
    split="rows", weights=None, clusters=3, init=np.eye(3), init_seed=None, n_init=1, init_rounds=5, max_iter=300,
    tol=1e-4, algorithm="lloyd", metric="euclidean",
)  # fmt: skip
TABLE = types.SimpleNamespace(shape=(100, 3), values=np.zeros((1, 3), np.float32))


def disagreement(*changes, table=TABLE):
    """``workers.disagreement`` of a worker with ``SHARED`` and ``TABLE`` and one worker per change to ``SHARED``."""
    requests = [SHARED] + [types.SimpleNamespace(**{**vars(SHARED), **change}) for change in changes]
    tables = [TABLE] + [table] * len(changes)
    settings = [workers.shared_settings(request, each) for request, each in zip(requests, tables)]
    return workers.disagreement(settings[0], np.stack([workers.encode_settings(each) for each in settings]))


@pytest.mark.parametrize(
    "change, line",
    [
        (dict(tol=0.1), "--tol: 0.0001 (workers 0, 1), 0.1 (worker 2)"),
        (dict(init_seed=0), "--init-seed: none (workers 0, 1), 0 (worker 2)"),
        (dict(clusters=4), "-k: 3 (workers 0, 1), 4 (worker 2)"),
        (dict(weights="w.npy"), "--weights: not given (workers 0, 1), given (worker 2)"),
        (dict(init="k-means++"), "--init: a file (workers 0, 1), k-means++ (worker 2)"),
        (dict(algorithm="elkan"), "--algorithm: lloyd (workers 0, 1), elkan (worker 2)"),
        (dict(split="files"), "--split: rows (workers 0, 1), files (worker 2)"),
    ],
    ids=lambda value: next(iter(value)) if isinstance(value, dict) else None,
)
def test_workers_must_agree_on_each_shared_setting(change, line):
    assert disagreement({}, change) == f"the workers disagree on {line}"


def test_workers_must_agree_on_the_data_and_the_init_files_content():
    assert disagreement({}) is None
    assert disagreement({"init": np.eye(3).copy()}) is None  # the same centroids from another file
    line = disagreement({"init": 2 * np.eye(3)})
    assert re.fullmatch(
        r"the workers disagree on --init's centroids: digest \w{12} \(worker 0\), digest \w{12} \(worker 1\)", line
    )
    wider = types.SimpleNamespace(shape=(100, 4), values=np.zeros((1, 4), np.float32))
    assert disagreement({}, table=wider) == "the workers disagree on the columns of DATA: 3 (worker 0), 4 (worker 1)"
    doubles = types.SimpleNamespace(shape=(100, 3), values=np.zeros((1, 3), np.float64))
    assert (
        disagreement({}, table=doubles)
        == "the workers disagree on the data's dtype: float32 (worker 0), float64 (worker 1)"
    )


def read_until(process, marker):
    """Read a process's stderr line by line until a line starts with ``marker``; return what was read."""
    read = ""
    for line in process.stderr:
        read += line
        if line.startswith(marker):
            break
    return read


@pytest.mark.parametrize(
    "workers, index, message",
    [
        ("127.0.0.1:0,127.0.0.1:2", 0, "'127.0.0.1:0' should be HOST:PORT with a port in 1-65535"),
        ("127.0.0.1:70000", 0, "port in 1-65535"),
        ("localhost", 0, "'localhost' should be HOST:PORT"),
        ("127.0.0.1:5000,127.0.0.1:5000", 1, "127.0.0.1:5000 is given twice"),
        ("127.0.0.1:5000,localhost:5000", 1, "127.0.0.1:5000 and localhost:5000 are both port 5000 of this machine"),
        ("127.0.0.1:5000,127.0.0.1:5001", 2, "--worker-index 2 is out of range for 2 workers (0 to 1)"),
        ("127.0.0.1:5000,127.0.0.1:5001", None, "--workers needs --worker-index"),
    ],
    ids=["port 0", "port too large", "no port", "twice", "one port twice", "index out of range", "no index"],
)
def test_bad_workers_are_refused_before_anything_starts(tmp_path, workers, index, message):
    np.save(tmp_path / "data.npy", np.zeros((4, 2)))
    options = [] if index is None else ["--worker-index", index]
    result = run(
        "fit", tmp_path / "data.npy", "-k", 2, "--workers", workers, *options, "--labels-out", tmp_path / "labels.txt"
    )
    assert_error(result, message)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.npy"]


def test_workers_that_disagree_with_tf_config_are_refused(tmp_path, monkeypatch):
    np.save(tmp_path / "data.npy", np.zeros((4, 2)))
    monkeypatch.setenv(
        "TF_CONFIG",
        json.dumps(
            {"cluster": {"worker": ["127.0.0.1:5000", "127.0.0.1:5001"]}, "task": {"type": "worker", "index": 1}}
        ),
    )
    result = run(
        "fit", tmp_path / "data.npy", "-k", 2, "--workers", "127.0.0.1:5000,127.0.0.1:5001", "--worker-index", 0
    )
    assert_error(result, "disagree with TF_CONFIG")
    assert_error(run("fit", tmp_path / "data.npy", "-k", 2, "--worker-index", 0), "disagrees with TF_CONFIG")


def test_the_worker_named_is_one_that_did_not_come():
    cluster = workers.Cluster(("a:1", "b:2", "c:3"), 1)
    barrier = (
        "Barrier timed out. # of tasks that reached the barrier: 2/3. The first task at the barrier: "
        "/job:worker/replica:0/task:0. Some timed out task names:\n/job:worker/replica:0/task:2\n\n"
        "Additional GRPC error information from remote target /job:worker/replica:0/task:0"
    )
    assert workers.peer_named(barrier, cluster) == "worker 2 (c:3)"
    reset = "Connection reset: remote target /job:worker/replica:0/task:0"
    assert workers.peer_named(reset, cluster) == "worker 0 (a:1)"
    assert workers.peer_named("Deadline Exceeded", cluster) == "a worker"
    heartbeat = "Collective ops is aborted by: Deadline Exceeded\n\nRPC: /tensorflow.CoordinationService/Heartbeat"
    assert workers.peer_named(heartbeat, cluster) == "worker 0 (a:1)"  # worker 0 runs the coordination service
    assert workers.peer_named("Deadline Exceeded", workers.Cluster(("a:1", "b:2"), 0)) == "worker 1 (b:2)"


def test_labels_out_names_the_worker():
    cluster = workers.Cluster(("a:1", "b:2"), 1)
    assert str(workers.labels_path(Path("out/labels.txt"), cluster)) == "out/labels.worker1.txt"
    assert str(workers.labels_path(Path("labels.npy"), workers.Cluster(("a:1",), 0))) == "labels.worker0.npy"
    assert workers.labels_path(None, cluster) is None


def test_a_worker_turns_tensorflows_logging_off_unless_the_user_set_it(monkeypatch):
    monkeypatch.delitem(sys.modules, "tensorflow")  # as in a worker's process before the import
    logger = logging.getLogger("tensorflow")
    level = logger.level
    cluster = workers.Cluster(("a:1", "b:2"), 1)
    try:
        environ = {"GRPC_VERBOSITY": "DEBUG"}
        workers.quiet_logging(cluster, environ)
        assert environ == {"GRPC_VERBOSITY": "DEBUG", "TF_CPP_MIN_LOG_LEVEL": "3"}
        assert logger.level == logging.CRITICAL
        logger.setLevel(logging.WARNING)
        environ = {"TF_CPP_MIN_LOG_LEVEL": "0"}
        workers.quiet_logging(cluster, environ)
        assert environ == {"TF_CPP_MIN_LOG_LEVEL": "0", "GRPC_VERBOSITY": "NONE"}
        assert logger.level == logging.WARNING
    finally:
        logger.setLevel(level)
    alone = {}
    workers.quiet_logging(None, alone)
    assert alone == {}


def test_pictures_are_refused_with_workers(tmp_path):
    data = tmp_path / "data.npy"
    np.save(data, np.zeros((4, 2)))
    result = run(
        "fit", data, "-k", 2, "--workers", "127.0.0.1:5000", "--worker-index", 0, "--plot", tmp_path / "fit.png"
    )
    assert_error(result, "--plot draws the data of one process")


@pytest.mark.slow
def test_a_worker_that_ends_at_once_leaves_no_generated_code_in_the_temporary_folder(tmp_path):
    # a worker ends through os._exit, which runs no clean-up: TensorFlow's autograph must have written nothing
    code = (
        "import os, numpy as np\n"
        "from kmeans_tf._tensorflow import tf\n"
        "from compat import eager\n"
        "samples = np.random.RandomState(0).normal(size=(500, 3))\n"
        "eager.kmeans(samples, 3, seed=0, strategy=tf.distribute.MirroredStrategy(['/cpu:0']))\n"
        "os._exit(0)\n"
    )
    done = run_python("-c", code, env={"TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert os.listdir(tmp_path) == []

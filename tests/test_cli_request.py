"""``kmeans-tf fit``'s request: every rule between its options, checked once before any work (``cli.requests``)."""

import sys

import click
import numpy as np
import pytest

from kmeans_tf import cli
from kmeans_tf.cli import requests
from tests.cases import BLOBS_CSV, assert_error, run

WORKERS = "127.0.0.1:5000,127.0.0.1:5001"


@pytest.fixture
def blobs(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    path = tmp_path / "blobs.csv"
    path.write_text(BLOBS_CSV)
    return path


def request_of(*args):
    """Return the request of ``kmeans-tf fit ARGS``, made as the command makes it."""
    with cli.clustering.fit.make_context("fit", [str(arg) for arg in args]) as context:
        return requests.fit_request(requests.given_on_command_line(), **context.params)


@pytest.mark.parametrize(
    "args, message, exit_code",
    [
        (["-k", 2, "--mini-batch", 4, "--tol", 0.1], "--tol does not apply to --mini-batch", 2),
        (
            ["-k", 2, "--mini-batch", 4, "--checkpoint-every", 10],
            "--checkpoint-every does not apply to --mini-batch",
            2,
        ),
        (
            ["-k", 2, "--mini-batch", 4, "--workers", WORKERS, "--worker-index", 0],
            "--workers, --worker-index do not apply to --mini-batch",
            2,
        ),
        (["-k", 2, "--init", "nowhere.csv"], "'nowhere.csv' is neither random nor k-means++ nor k-means|| nor an", 2),
        ([], "Missing option '-k' / '--clusters' (needed unless --init is a file)", 2),
        (["-k", 2, "--worker-index", 1], "--worker-index needs --workers (or TF_CONFIG in the environment)", 1),
        (["-k", 2, "--workers", WORKERS], "--workers needs --worker-index", 1),
        (
            ["-k", 2, "--workers", WORKERS, "--worker-index", 0, "--trajectory", "t.png"],
            "--trajectory draws the data of one process; it cannot be given with --workers",
            1,
        ),
    ],
    ids=[
        "mini-batch and tol",
        "mini-batch and a default given",
        "mini-batch and workers",
        "init neither name nor file",
        "no k",
        "worker index alone",
        "workers without index",
        "trajectory with workers",
    ],
)
def test_each_rule_is_one_line_before_any_work(tmp_path, blobs, args, message, exit_code):
    result = run("fit", blobs, *args, "--labels-out", tmp_path / "labels.txt")
    assert_error(result, message, exit_code=exit_code)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["blobs.csv"]  # no output claimed


def test_a_usage_error_comes_before_the_data_is_read(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert_error(run("fit", empty), "Missing option '-k' / '--clusters'", exit_code=2)


def test_tf_config_makes_a_worker_that_draws_nothing(blobs, monkeypatch):
    monkeypatch.setenv(
        "TF_CONFIG", '{"cluster": {"worker": ["127.0.0.1:5000"]}, "task": {"type": "worker", "index": 0}}'
    )
    assert_error(run("fit", blobs, "-k", 2, "--plot", "fit.png"), "--plot draws the data of one process")


def test_the_request_holds_what_the_body_reads(blobs, tmp_path):
    request = request_of(blobs, "-k", 3)
    assert (request.method, request.clusters, request.cluster, request.init_file) == (requests.LLOYD, 3, None, None)
    assert not request.in_memory and request.inputs == {"DATA": str(blobs), "--init": None, "--weights": None}
    mini = request_of(blobs, "-k", 3, "--mini-batch", 4)
    assert mini.method == requests.MINI_BATCH and mini.in_memory  # --tol at its default is not refused
    init = tmp_path / "init.csv"
    init.write_text("0,0\n10,10\n")
    from_file = request_of(blobs, "--init", init)
    assert (from_file.init_file, from_file.clusters) == (str(init), None)


@pytest.mark.parametrize(
    "index, labels, centroids", [(0, "labels.worker0.txt", "c.csv"), (1, "labels.worker1.txt", None)]
)
def test_a_workers_request_names_its_own_outputs(blobs, index, labels, centroids):
    request = request_of(
        blobs,
        "-k",
        2,
        "--workers",
        WORKERS,
        "--worker-index",
        index,
        "--labels-out",
        "labels.txt",
        "--centroids-out",
        "c.csv",
    )
    assert request.cluster.index == index and request.cluster.workers == tuple(WORKERS.split(","))
    assert (str(request.labels_out), request.centroids_out and str(request.centroids_out)) == (labels, centroids)


def test_a_fit_in_one_process_never_imports_the_workers_code(monkeypatch, blobs):
    monkeypatch.delattr(cli, "workers", raising=False)
    monkeypatch.setitem(sys.modules, "kmeans_tf.cli.workers", None)  # importing it now fails
    result = run("fit", blobs, "-k", 2, "--init-seed", 0)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 6
    with pytest.raises(ImportError):
        request_of(blobs, "-k", 2, "--workers", WORKERS, "--worker-index", 0)


def test_every_method_has_its_engine_call():
    assert tuple(cli.clustering.METHODS) == requests.METHODS


def test_with_data_reads_the_init_file_and_checks_it(blobs, tmp_path):
    init = tmp_path / "init.npy"
    np.save(init, np.array([[0.0, 0.0], [10.0, 10.0]]))
    data = cli.inputs.open_data(str(blobs), columns=None, header=None, memory_budget=None)
    ready = requests.with_data(request_of(blobs, "--init", init), data, 6)
    assert ready.clusters == 2
    np.testing.assert_array_equal(ready.init, [[0.0, 0.0], [10.0, 10.0]])
    with pytest.raises(click.ClickException, match="has 2 rows \\(centroids\\) but -k/--clusters is 3"):
        requests.with_data(request_of(blobs, "-k", 3, "--init", init), data, 6)


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("nan", "nan is not a finite number"),
        ("inf", "inf is not in the range 0<x<=604800"),
        ("1e300", "1e+300 is not in the range 0<x<=604800"),
        ("0", "0.0 is not in the range 0<x<=604800"),
    ],
)
def test_the_timeout_is_a_number_of_seconds_up_to_a_week(blobs, value, fragment):
    result = run("fit", blobs, "-k", 2, "--workers", WORKERS, "--worker-index", 0, "--timeout", value)
    assert_error(result, "'--timeout'", fragment, exit_code=2)
    assert len(result.stderr) < 200


@pytest.mark.parametrize(
    "workers, fragment",
    [
        ("[5000, 5001]", "addresses should be a list of 'HOST:PORT' strings, got [5000, 5001]"),
        ('"127.0.0.1:5000"', "addresses should be a list of 'HOST:PORT' strings, got '127.0.0.1:5000'"),
        ('["127.0.0.1:5000", null]', "addresses should be a list of 'HOST:PORT' strings"),
    ],
    ids=["integers", "one string", "null"],
)
def test_tf_config_with_addresses_that_are_not_strings_is_one_line(blobs, monkeypatch, workers, fragment):
    config = f'{{"cluster": {{"worker": {workers}}}, "task": {{"type": "worker", "index": 0}}}}'
    monkeypatch.setenv("TF_CONFIG", config)
    result = run("fit", blobs, "-k", 2)
    assert_error(result, "TF_CONFIG should name the cluster's workers", fragment)
    assert "internal error" not in result.stderr

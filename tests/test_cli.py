"""The kmeans-tf command line: every command through CliRunner, every bad input, the console script."""

import inspect
import json
import os
import re
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import kmeans_tf
from compat import eager
from kmeans_tf import cli
from tests.cases import BLOBS, BLOBS_CSV, assert_error, assert_png, fit_outputs, run


@pytest.fixture
def blobs(tmp_path):
    path = tmp_path / "blobs.csv"
    path.write_text(BLOBS_CSV)
    return path


def defaults(command):
    return {param.name: param.default for param in command.params}


def test_lesson_commands_default_to_the_lessons_constants():
    import gd_kmeans
    import generate_samples
    import kmeans_iterate

    for command, lesson in [(cli.lessons.generate, generate_samples), (cli.lessons.iterate, kmeans_iterate)]:
        assert {
            name: defaults(command)[name]
            for name in ("clusters", "samples_per_cluster", "features", "embiggen_factor", "data_seed")
        } == {
            "clusters": lesson.n_clusters,
            "samples_per_cluster": lesson.n_samples_per_cluster,
            "features": lesson.n_features,
            "embiggen_factor": lesson.embiggen_factor,
            "data_seed": lesson.seed,
        }
    assert (defaults(cli.lessons.iterate)["init_seed"], defaults(cli.lessons.iterate)["iterations"]) == (
        kmeans_iterate.centroid_seed,
        kmeans_iterate.n_iterations,
    )
    gd = defaults(cli.lessons.gd)
    assert (gd["clusters"], gd["learning_rate"], gd["steps"], gd["data_seed"], gd["init_seed"]) == (
        gd_kmeans.k,
        gd_kmeans.learning_rate,
        gd_kmeans.steps,
        gd_kmeans.data_seed,
        gd_kmeans.init_seed,
    )


def test_fit_defaults_are_the_engines():
    fit_defaults = defaults(cli.clustering.fit)
    engine_defaults = inspect.signature(eager.kmeans).parameters
    for name in ("init", "n_init", "init_rounds", "max_iter", "tol", "algorithm"):
        assert fit_defaults[name] == engine_defaults[name].default, name
    choices = next(param for param in cli.clustering.fit.params if param.name == "algorithm").type.choices
    assert tuple(choices) == eager.ALGORITHMS


@pytest.mark.parametrize("command", ["generate", "iterate", "gd"])
def test_every_lesson_command_names_its_seeds_alike(command):
    options = {option for param in getattr(cli.lessons, command).params for option in param.opts}
    assert "--data-seed" in options and "--seed" not in options
    assert ("--init-seed" in options) == (command != "generate")  # generate chooses no centroids


@pytest.mark.parametrize("command", ["generate", "iterate", "gd", "fit", "predict", "elbow", "export"])
def test_help_has_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and f"kmeans-tf {command} " in result.output


@pytest.mark.slow
def test_version_and_help_without_tensorflow():
    assert run("--version").output == f"kmeans-tf, version {cli.__version__}\n"
    heavy = "('tensorflow', 'matplotlib', 'sklearn')"
    code = f"import sys, kmeans_tf.cli; sys.exit(any(name in sys.modules for name in {heavy}))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_generate_writes_samples_and_picture(tmp_path):
    result = run(
        "generate",
        "--clusters",
        2,
        "--samples-per-cluster",
        20,
        "--features",
        3,
        "--out",
        tmp_path / "s.npy",
        "--plot",
        tmp_path / "s.png",
    )
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "s.npy").shape == (40, 3)
    assert (tmp_path / "s.png").read_bytes().startswith(b"\x89PNG")
    assert "40 samples written to" in result.stderr and result.stdout == ""


def test_generate_writes_csv_to_stdout():
    result = run("generate", "--samples-per-cluster", 5, "--data-seed", 1)
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and len(lines) == 15
    assert all(len(line.split(",")) == 2 for line in lines)


def test_iterate_prints_a_row_per_iteration(tmp_path):
    result = run("iterate", "--samples-per-cluster", 20, "--iterations", 3, "--plot", tmp_path / "i.png")
    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    assert [row.split()[:2] for row in rows] == [["Iteration", "1"], ["Iteration", "2"], ["Iteration", "3"]]
    costs = [float(row.split()[3]) for row in rows]
    assert costs == sorted(costs, reverse=True)  # Lloyd's iterations never increase the cost
    assert (tmp_path / "i.png").exists()


def test_gd_prints_the_cost_table(tmp_path):
    result = run("gd", "--steps", 5, "--learning-rate", 0.001, "--plot", tmp_path / "g.png")
    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()
    assert [row.split(",")[0] for row in rows] == ["Iteration 0", "Iteration 5"]
    assert float(rows[1].split()[-1]) < float(rows[0].split()[-1])
    assert (tmp_path / "g.png").exists()


def test_fit_writes_labels_to_stdout(blobs):
    result = run("fit", blobs, "-k", 2, "--init-seed", 0)
    assert result.exit_code == 0, result.output
    labels = [int(line) for line in result.stdout.splitlines()]
    assert len(set(labels[:3])) == 1 and len(set(labels[3:])) == 1 and labels[0] != labels[3]
    assert "k-means: 6 rows, 2 columns, k=2: inertia 2.66667" in result.stderr


def test_fit_json_files_and_predict(tmp_path, blobs):
    result = run(
        "fit", blobs, "-k", 2, "--init-seed", 0, *fit_outputs(tmp_path, "centroids.csv"), "--plot", tmp_path / "fit.png"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["k"] == 2 and summary["n_samples"] == 6 and summary["n_features"] == 2
    assert summary["converged"] is True and summary["cluster_sizes"] == [3, 3]
    assert summary["inertia"] == pytest.approx(8 / 3)
    np.testing.assert_allclose(sorted(summary["centroids"]), [[1 / 3, 1 / 3], [31 / 3, 31 / 3]])
    assert (tmp_path / "centroids.csv").read_text().startswith("x,y\n")
    assert (tmp_path / "fit.png").exists()
    labels = (tmp_path / "labels.txt").read_text()

    predicted = run("predict", blobs, "--centroids", tmp_path / "centroids.csv")
    assert predicted.exit_code == 0 and predicted.stdout == labels


def test_fit_reads_stdin_npy_and_columns(tmp_path):
    result = run("fit", "-", "-k", 2, "--init-seed", 0, input=BLOBS_CSV)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 6
    wide = np.hstack([BLOBS, BLOBS[:, :1] * 2]).astype(np.float32)
    np.save(tmp_path / "wide.npy", wide)
    result = run("fit", tmp_path / "wide.npy", "-k", 2, "--init-seed", 0, "--json", "--plot", tmp_path / "pca.png")
    assert json.loads(result.stdout)["n_features"] == 3 and (tmp_path / "pca.png").exists()
    result = run("fit", tmp_path / "wide.npy", "--columns", "2", "-k", 2, "--init-seed", 0, "--json")
    assert json.loads(result.stdout)["n_features"] == 1


def test_fit_iris_from_an_init_file_matches_sklearn(tmp_path):
    from sklearn.cluster import KMeans
    from sklearn.datasets import load_iris

    iris = load_iris()
    rows = [",".join([*map(str, sample), iris.target_names[target]]) for sample, target in zip(iris.data, iris.target)]
    (tmp_path / "iris.csv").write_text("\n".join([",".join([*iris.feature_names, "species"]), *rows]) + "\n")
    init = iris.data[[0, 50, 100]]
    np.savetxt(tmp_path / "init.csv", init, delimiter=",")

    result = run("fit", tmp_path / "iris.csv", "--columns", "0,1,2,3", "--init", tmp_path / "init.csv", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    expected = KMeans(n_clusters=3, init=init, n_init=1, algorithm="lloyd").fit(iris.data)
    assert summary["k"] == 3 and summary["columns"] == iris.feature_names
    assert summary["inertia"] == pytest.approx(expected.inertia_, rel=1e-4)


def test_existing_output_needs_force(tmp_path, blobs):
    out = tmp_path / "labels.txt"
    out.write_text("keep me\n")
    assert_error(run("fit", blobs, "-k", 2, "--labels-out", out), "--labels-out", "already exists", "--force")
    assert out.read_text() == "keep me\n"
    assert run("fit", blobs, "-k", 2, "--labels-out", out, "--force").exit_code == 0
    assert len(out.read_text().splitlines()) == 6


def test_outputs_never_replace_inputs(tmp_path, blobs):
    assert_error(run("fit", blobs, "-k", 2, "--labels-out", blobs, "--force"), "is also DATA")
    assert_error(
        run("fit", blobs, "-k", 2, "--labels-out", tmp_path / "o.csv", "--centroids-out", tmp_path / "o.csv"),
        "is also --labels-out",
    )
    assert blobs.read_text() == BLOBS_CSV


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("", ["is empty"]),
        ("x,y\n1,2\n3,abc\n", ["row 3, column 2 ('y')", "'abc' is not a number"]),
        ("1,2\n3,4\n5\n", ["row 3 has 1 columns, but row 1 has 2"]),
        ("1,2\nnan,4\n5,6\n", ["row 2, column 1", "'nan' is not finite"]),
        ("1,2\n3,inf\n5,6\n", ["row 2, column 2", "'inf' is not finite"]),
        ("1,2\n3,4\n", ["has 2 rows, fewer than the 3 clusters"]),
    ],
    ids=["empty", "non-numeric", "ragged", "nan", "inf", "too-few-rows"],
)
def test_fit_bad_data(tmp_path, text, fragments):
    path = tmp_path / "data.csv"
    path.write_text(text)
    assert_error(run("fit", path, "-k", 3), str(path), *fragments)


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["-k", 0], ["Invalid value for '-k' / '--clusters'", "0 is not in the range x>=1"]),
        (["-k", 2, "--tol", -1], ["'--tol'", "x>=0"]),
        (["-k", 2, "--init", "kmeans"], ["'--init'", "'kmeans' is neither random nor k-means++ nor k-means||"]),
        (["-k", 2, "--init-rounds", 0], ["'--init-rounds'", "x>=1"]),
        (["-k", 2, "--plot", "fit.jpg"], ["'--plot'", "should end in .png"]),
        (["-k", 2, "--columns", "1,,2"], ["'--columns'", "empty column"]),
        ([], ["Missing option '-k' / '--clusters'"]),
    ],
    ids=["k<1", "tol<0", "init-name", "init-rounds", "plot-suffix", "columns", "no-k"],
)
def test_fit_bad_options(blobs, args, fragments):
    assert_error(run("fit", blobs, *args), *fragments, exit_code=2)


def test_max_iter_past_the_loop_counter_is_a_usage_error(blobs):
    assert_error(run("fit", blobs, "-k", 2, "--max-iter", 2**31), "--max-iter", "2147483647", exit_code=2)


def test_seed_is_another_name_for_fits_init_seed(blobs):
    assert run("fit", blobs, "-k", 2, "--seed", 3).stdout == run("fit", blobs, "-k", 2, "--init-seed", 3).stdout


def test_missing_and_unreadable_data(tmp_path):
    assert_error(run("fit", tmp_path / "nope.csv", "-k", 2), "nope.csv", "does not exist", exit_code=2)
    assert_error(run("fit", tmp_path, "-k", 2), "holds no .npy files")
    (tmp_path / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    assert_error(run("fit", tmp_path / "broken.npy", "-k", 2), "cannot read", "not a NumPy .npy file")


def test_init_and_centroids_files_must_match_the_data(tmp_path, blobs):
    wide = tmp_path / "wide.csv"
    wide.write_text("1,2,3\n4,5,6\n")
    assert_error(run("fit", blobs, "--init", wide), "--init", "has 3 columns but the data", "have 2")
    assert_error(run("predict", blobs, "--centroids", wide), "--centroids", "has 3 columns", "have 2")
    assert_error(run("fit", blobs, "-k", 3, "--init", wide, "--columns", "0,1"), "--init", "3 columns")
    narrow = tmp_path / "two.csv"
    narrow.write_text("1,2\n4,5\n")
    assert_error(run("fit", blobs, "-k", 3, "--init", narrow), "has 2 rows", "-k/--clusters is 3")
    assert_error(run("fit", blobs, "--init", narrow, "--n-init", 2), "n_init=2 should be 1")


def test_output_folder_must_exist(tmp_path, blobs):
    missing = tmp_path / "no" / "labels.txt"
    assert_error(run("fit", blobs, "-k", 2, "--labels-out", missing), "folder", "does not exist")
    assert_error(run("generate", "--out", tmp_path / "no" / "s.csv"), "does not exist")
    assert_error(run("predict", blobs, "--centroids", blobs, "--labels-out", missing), "does not exist")
    assert not (tmp_path / "no").exists()


def test_plot_needs_two_columns(blobs):
    assert_error(
        run("fit", blobs, "-k", 2, "--columns", "x", "--plot", "one.png"),
        "'--plot'",
        "needs at least 2 columns",
        exit_code=2,
    )
    assert_error(run("generate", "--features", 1, "--plot", "one.png"), "'--plot'", exit_code=2)


def test_columns_by_unknown_name(blobs):
    assert_error(run("fit", blobs, "-k", 2, "--columns", "x,z"), "no column named 'z'")


def test_the_progress_line_shows_on_a_terminal_once_a_fit_runs_long(monkeypatch, blobs):
    line = re.compile(r"k-means  \[[#-]+\]  \d+/300  run 3, inertia \d")
    assert not line.search(run("fit", blobs, "-k", 2, "--n-init", 3, "--tol", 0).stderr)
    monkeypatch.setattr(cli.console, "stderr_is_terminal", lambda: True)
    assert not line.search(run("fit", blobs, "-k", 2, "--n-init", 3, "--tol", 0).stderr)  # too short a fit
    monkeypatch.setattr(cli.console, "PROGRESS_AFTER_SECONDS", 0)
    assert line.search(run("fit", blobs, "-k", 2, "--n-init", 3, "--tol", 0).stderr)
    assert line.search(run("fit", blobs, "-k", 2, "--n-init", 3, "--tol", 0, "--json").stderr) is None  # a pipe
    monkeypatch.setattr(cli.clustering, "stdout_is_terminal", lambda: True)
    assert line.search(run("fit", blobs, "-k", 2, "--n-init", 3, "--tol", 0, "--json").stderr)
    assert run("fit", blobs, "-k", 2, "--n-init", 3, "--quiet").stderr == ""


def test_the_progress_line_counts_mini_batch_steps_and_streamed_rows(monkeypatch, tmp_path):
    np.save(tmp_path / "blobs.npy", np.random.RandomState(0).normal(size=(400, 2)))
    monkeypatch.setattr(cli.console, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(cli.console, "PROGRESS_AFTER_SECONDS", 0)
    streamed = run("fit", tmp_path / "blobs.npy", "-k", 2, "--init-seed", 0).stderr
    assert re.search(r"k-means  \[[#-]+\]  \d+/300  run 1, inertia [\d.e+]+, [\d.e+]+ rows/s", streamed)
    steps = run("fit", tmp_path / "blobs.npy", "-k", 2, "--mini-batch", 100, "--max-iter", 5).stderr
    assert re.search(r"k-means  \[[#-]+\]  \d+/20  run 1, inertia \d", steps)  # 5 passes of 400 rows by 100


def test_verbose_reports_each_run(blobs):
    result = run("--verbose", "fit", blobs, "-k", 2, "--n-init", 2, "--init-seed", 0)
    assert "(header: x, y)" in result.stderr
    assert "Run 1/2: inertia" in result.stderr and "Run 2/2: inertia" in result.stderr
    assert "at its last iteration" in result.stderr
    assert "Kernel: fused C kernel (" in result.stderr or "Kernel: TensorFlow ops (" in result.stderr


def test_a_bug_is_one_line_unless_verbose(monkeypatch, blobs):
    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(kmeans_tf, "kmeans", broken)
    assert_error(run("fit", blobs, "-k", 2), "internal error: RuntimeError: boom second line")
    assert "Traceback" in run("--verbose", "fit", blobs, "-k", 2).stderr


@pytest.mark.slow
def test_console_script_and_python_m(tmp_path):
    script = Path(sys.executable).with_name("kmeans-tf")
    # Importing TensorFlow here set TF_CPP_MIN_LOG_LEVEL, which would switch off the chatter filter.
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}

    def console(*args):
        return subprocess.run([script, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)

    generated = console("generate", "--samples-per-cluster", 10, "--out", tmp_path / "s.csv")
    assert generated.returncode == 0
    assert generated.stderr == f"30 samples written to {tmp_path / 's.csv'}\n"  # no TensorFlow chatter
    fitted = console("fit", tmp_path / "s.csv", "-k", 3, "--init-seed", 1, "--json", "--quiet")
    assert json.loads(fitted.stdout)["n_samples"] == 30 and fitted.stderr == ""
    failed = console("fit", tmp_path / "s.csv", "-k", 31)
    assert failed.returncode == 1 and failed.stderr.splitlines()[-1].startswith("Error: ")
    version = subprocess.run([sys.executable, "-m", "compat", "--version"], capture_output=True, text=True)
    assert version.stdout == f"kmeans-tf, version {cli.__version__}\n"


def test_batch_size_and_algorithm_give_the_same_labels(blobs):
    default = run("fit", blobs, "-k", 2, "--init-seed", 0)
    chunked = run("fit", blobs, "-k", 2, "--init-seed", 0, "--batch-size", 2)
    assert chunked.exit_code == 0 and chunked.stdout == default.stdout
    lloyd = run("fit", blobs, "-k", 2, "--init-seed", 0, "--algorithm", "lloyd")
    assert lloyd.exit_code == 0 and lloyd.stdout == default.stdout
    assert_error(run("fit", blobs, "-k", 2, "--batch-size", 0), "--batch-size", exit_code=2)


def test_fit_one_cluster(blobs):
    result = run("fit", blobs, "-k", 1, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["cluster_sizes"] == [6]
    np.testing.assert_allclose(summary["centroids"], [BLOBS.mean(axis=0)])


def test_json_refuses_a_result_it_cannot_hold_and_writes_nothing(monkeypatch, tmp_path, blobs):
    def unrepresentable(samples, n_clusters, **options):
        return eager.KMeansResult(np.full((2, 2), np.nan), np.array([0, 0, 0, 1, 1, 1]), float("nan"), 1, True)

    monkeypatch.setattr(kmeans_tf, "kmeans", unrepresentable)
    labels = tmp_path / "labels.txt"
    assert_error(run("fit", blobs, "-k", 2, "--json", "--labels-out", labels), "JSON")
    assert not labels.exists()


@pytest.mark.parametrize("factor", ["inf", "nan", "1e39"])
def test_generate_refuses_samples_float32_cannot_hold(factor, tmp_path):
    out = tmp_path / "s.csv"
    assert_error(run("generate", "--embiggen-factor", factor, "--out", out), "--embiggen-factor", exit_code=2)
    assert not out.exists()


def test_the_summary_names_every_size_for_a_few_clusters_and_the_range_for_many():
    assert cli.clustering.describe_sizes(np.array([3, 0, 2])) == "cluster sizes 3, 0, 2"
    many = np.array([5] * 298 + [0, 40])
    assert cli.clustering.describe_sizes(many) == "cluster sizes 0 to 40 over 300 clusters, 1 empty"


@pytest.mark.slow
def test_quiet_is_quiet_on_tensorflows_ops_with_float64_data(tmp_path):
    np.save(tmp_path / "blobs.npy", BLOBS)
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env["KMEANS_TF_NATIVE"] = "0"
    finished = subprocess.run(
        [sys.executable, "-m", "compat", "fit", tmp_path / "blobs.npy", "-k", "2", "--quiet", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert finished.returncode == 0 and finished.stderr == "", finished.stderr
    assert json.loads(finished.stdout)["k"] == 2


def test_iterate_draws_the_trajectory_and_animates_every_iteration(tmp_path):
    from PIL import Image

    result = run(
        "iterate",
        "--samples-per-cluster",
        20,
        "--iterations",
        4,
        "--features",
        3,
        "--trajectory",
        tmp_path / "paths.png",
        "--animate",
        tmp_path / "run.gif",
    )
    assert result.exit_code == 0, result.output
    assert_png(tmp_path / "paths.png")
    with Image.open(tmp_path / "run.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 5  # the start, then one frame per iteration


def test_gd_and_fit_draw_their_trajectories(tmp_path, blobs):
    assert run("gd", "--steps", 3, "--trajectory", tmp_path / "gd.png").exit_code == 0
    assert_png(tmp_path / "gd.png")
    result = run("fit", blobs, "-k", 2, "--init-seed", 0, "--trajectory", tmp_path / "fit.png")
    assert result.exit_code == 0, result.output
    assert_png(tmp_path / "fit.png")


@pytest.mark.parametrize("option, name", [("--trajectory", "t.gif"), ("--animate", "a.png")])
def test_picture_options_name_their_format(option, name, tmp_path):
    assert_error(run("iterate", option, tmp_path / name), option, exit_code=2)
    assert not (tmp_path / name).exists()


def test_an_unwritable_output_is_found_before_the_fit(monkeypatch, tmp_path, blobs):
    def never(*args, **kwargs):
        raise AssertionError("the fit ran")

    monkeypatch.setattr(kmeans_tf, "kmeans", never)
    (tmp_path / "a_file").write_text("")
    result = run("fit", blobs, "-k", 2, "--centroids-out", tmp_path / "a_file" / "c.csv")
    assert_error(result, "--centroids-out", str(tmp_path / "a_file"))
    assert ".tmp" not in result.stderr


def test_a_fifo_output_is_written_into_without_force(tmp_path, blobs):
    fifo = tmp_path / "labels.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    result = run("fit", blobs, "-k", 2, "--init-seed", 0, "--labels-out", fifo)
    reader.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert received and len(received[0].splitlines()) == 6
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.slow
def test_dev_stdout_gets_the_labels_and_stays_what_it_was(tmp_path, blobs):
    kind = os.lstat("/dev/stdout").st_mode
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "compat",
            "fit",
            str(blobs),
            "-k",
            "2",
            "--quiet",
            "--labels-out",
            "/dev/stdout",
            "--centroids-out",
            "/dev/stdout",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    assert len(finished.stdout.splitlines()) == 6 + 3  # six labels, then a header and two centroids
    assert os.lstat("/dev/stdout").st_mode == kind


def test_a_header_of_numbers_is_a_header_and_columns_may_name_it(tmp_path):
    path = tmp_path / "years.csv"
    path.write_text("name,2020,2021\na,1,2\nb,1.5,2\nc,9,9\nd,9.5,9\n")
    result = run("--verbose", "fit", path, "--columns", "1,2", "-k", 2, "--init-seed", 0)
    assert result.exit_code == 0, result.output
    assert "Read 4 rows x 2 columns" in result.stderr and "(header: 2020, 2021)" in result.stderr
    named = run("fit", path, "--columns", "name:2020,name:2021", "-k", 2, "--init-seed", 0)
    assert named.stdout == result.stdout
    assert_error(run("fit", path, "--columns", "1,1", "-k", 2), "chosen twice")


def test_no_header_reads_the_first_row_as_data(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("1,2\n1,3\n8,9\n9,9\n")
    assert len(run("fit", path, "-k", 2, "--no-header").stdout.splitlines()) == 4
    assert len(run("fit", path, "-k", 2, "--header").stdout.splitlines()) == 3

"""The lesson scripts: main() on small sizes, the pinned results, and each script run headless."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gd_kmeans
import generate_samples
import kmeans_iterate
from tests.cases import POST_COSTS
from tests.golden.regenerate import GOLDEN_DIR, current_results

ROOT = Path(__file__).resolve().parents[1]
# float32 results: a reordered sum moves the last bits, nothing more.
FLOAT32_TOLERANCE = dict(rtol=1e-5, atol=1e-4)


def test_generate_samples_main_small():
    samples, centroids = generate_samples.main(n_clusters=2, n_samples_per_cluster=10, n_features=3)
    assert samples.shape == (20, 3) and centroids.shape == (2, 3)
    assert samples.dtype == np.float32 and centroids.dtype == np.float32


def nearest(samples, centroids):
    return ((samples[:, None, :] - centroids[None]) ** 2).sum(axis=2).argmin(axis=1)


def test_kmeans_iterate_main_small():
    samples, initial, history, costs, label_history = kmeans_iterate.main(
        n_clusters=4, n_samples_per_cluster=25, n_iterations=5
    )
    assert samples.shape == (100, 2) and initial.shape == (4, 2)
    assert history.shape == (5, 4, 2) and costs.shape == (5,)
    assert label_history.shape == (6, 100)
    assert {tuple(row) for row in initial} <= {tuple(row) for row in samples}
    # Frame 0 is the assignment to the initial centroids, frame i to the centroids after iteration i.
    for centroids, labels in zip([initial, *history], label_history):
        np.testing.assert_array_equal(labels, nearest(samples, centroids))
    # Lloyd's iterations never increase the cost.
    assert np.all(np.diff(costs) <= 1e-3 * costs[0])


def test_gd_kmeans_main_small():
    data = gd_kmeans.make_data(n_samples=60)
    costs, prototypes, labels, history = gd_kmeans.main(data, gd_kmeans.initial_prototypes(data), steps=5)
    # steps=5 is the post's range(5 + 1): six optimizer steps, a cost and prototypes after each.
    assert costs.shape == (6,) and prototypes.shape == (3, 2) and labels.shape == (60,)
    assert history.shape == (6, 3, 2)
    np.testing.assert_array_equal(history[-1], prototypes)
    assert costs[-1] < costs[0]


def test_gd_kmeans_one_step_by_hand():
    # Points 0 and 4 on a line, prototypes at 1 and 10: both points go to the first one, whose
    # gradient is 2 * ((1 - 0) + (1 - 4)) = -4, so it moves to 1 + 0.1 * 4 = 1.4.
    data = np.array([[0.0, 0.0], [4.0, 0.0]], dtype=np.float32)
    start = np.array([[1.0, 0.0], [10.0, 0.0]], dtype=np.float32)
    costs, prototypes, labels, history = gd_kmeans.main(data, start, k=2, learning_rate=0.1, steps=0)
    np.testing.assert_allclose(history, [[[1.4, 0.0], [10.0, 0.0]]], rtol=1e-6)
    np.testing.assert_allclose(costs, [1.4**2 + 2.6**2], rtol=1e-6)
    np.testing.assert_array_equal(labels, [0, 0])


def test_gd_start_is_the_posts_choice():
    # np.random.seed(init_seed); np.random.choice(range(500), 3, replace=False), as the post calls it.
    np.random.seed(gd_kmeans.init_seed)
    rows = np.random.choice(range(gd_kmeans.n_samples), gd_kmeans.k, replace=False)
    data = gd_kmeans.make_data()
    np.testing.assert_array_equal(gd_kmeans.initial_prototypes(data), data[rows])
    assert sorted(rows) == [162, 308, 381]


@pytest.fixture(scope="module")
def results():
    return current_results()


@pytest.mark.parametrize("lesson", ["generate_samples", "kmeans_iterate", "gd_kmeans"])
def test_results_match_golden(results, lesson):
    golden = json.loads((GOLDEN_DIR / f"{lesson}.json").read_text())
    assert golden.keys() == results[lesson].keys()
    for key, expected in golden.items():
        actual = results[lesson][key]
        if isinstance(expected, dict):
            for field, value in expected.items():
                np.testing.assert_allclose(actual[field], value, **FLOAT32_TOLERANCE, err_msg=f"{lesson}.{key}.{field}")
        else:
            np.testing.assert_allclose(actual, expected, **FLOAT32_TOLERANCE, err_msg=f"{lesson}.{key}")


def test_gd_reproduces_every_row_of_the_posts_table(results):
    np.testing.assert_allclose(results["gd_kmeans"]["costs_every_10_steps"], POST_COSTS, rtol=1e-6)


def run_script(name, *args, cwd):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "TF_CPP_MIN_LOG_LEVEL")
    }
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [sys.executable, str(ROOT / name), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


# Each script's files with the default --output, and the frames of each GIF.
SCRIPT_FILES = {
    "generate_samples.py": {"generate_samples.png": 1},
    "kmeans_iterate.py": {
        "kmeans_iterate.png": 1,
        "kmeans_iterate_initial.png": 1,
        "kmeans_iterate_trajectory.png": 1,
        "kmeans_iterate_iterations.gif": kmeans_iterate.n_iterations + 1,
    },
    "gd_kmeans.py": {"gd_kmeans.png": 1, "gd_kmeans_data.png": 1, "gd_kmeans_trajectory.png": 1},
}


@pytest.mark.slow
@pytest.mark.parametrize("script", list(SCRIPT_FILES))
def test_script_runs_headless_and_writes_its_pictures(tmp_path, script):
    completed = run_script(script, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(SCRIPT_FILES[script])
    for name, frames in SCRIPT_FILES[script].items():
        assert (tmp_path / name).stat().st_size > 5000, name
        with Image.open(tmp_path / name) as image:
            assert image.format == name.rsplit(".", 1)[1].upper()
            assert getattr(image, "n_frames", 1) == frames
        assert f"saved to {name}" in completed.stdout
    # TensorFlow's C++ start-up chatter stays quiet.
    for chatter in ("cudart_stub", "absl::InitializeLog", "cpu_feature_guard", "oneDNN"):
        assert chatter not in completed.stderr


@pytest.mark.slow
def test_gd_script_prints_the_posts_table(tmp_path):
    completed = run_script("gd_kmeans.py", "--output", str(tmp_path / "gd.png"), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert [line.split(",")[0] for line in lines[:11]] == [f"Iteration {i}" for i in range(0, 101, 10)]
    printed = [float(line.split("cost ")[1]) for line in lines[:11]]
    np.testing.assert_allclose(printed, POST_COSTS, rtol=1e-6)
    for name in ("gd.png", "gd_data.png", "gd_trajectory.png"):
        assert (tmp_path / name).exists()


@pytest.mark.slow
def test_script_output_in_missing_folder_is_one_line_error(tmp_path):
    completed = run_script("generate_samples.py", "--output", str(tmp_path / "nope" / "x.png"), cwd=tmp_path)
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith("Error: cannot write")

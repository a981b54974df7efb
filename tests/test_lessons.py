"""The lesson scripts: main() on small sizes, the pinned results, and each script run headless."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gd_kmeans
import generate_samples
import kmeans_iterate
from tests.golden.regenerate import GOLDEN_DIR, current_results

ROOT = Path(__file__).resolve().parents[1]
# float32 results: a reordered sum moves the last bits, nothing more.
FLOAT32_TOLERANCE = dict(rtol=1e-5, atol=1e-4)


def test_generate_samples_main_small():
    samples, centroids = generate_samples.main(n_clusters=2, n_samples_per_cluster=10, n_features=3)
    assert samples.shape == (20, 3) and centroids.shape == (2, 3)
    assert samples.dtype == np.float32 and centroids.dtype == np.float32


def test_kmeans_iterate_main_small():
    samples, initial, history, costs = kmeans_iterate.main(n_clusters=4, n_samples_per_cluster=25,
                                                           n_iterations=5)
    assert samples.shape == (100, 2) and initial.shape == (4, 2)
    assert history.shape == (5, 4, 2) and costs.shape == (5,)
    assert {tuple(row) for row in initial} <= {tuple(row) for row in samples}
    # Lloyd's iterations never increase the cost.
    assert np.all(np.diff(costs) <= 1e-3 * costs[0])


def test_gd_kmeans_main_small():
    data = gd_kmeans.make_data(n_samples=60)
    costs, prototypes, labels = gd_kmeans.main(data, gd_kmeans.initial_prototypes(data), steps=5)
    assert costs.shape == (6,) and prototypes.shape == (3, 2) and labels.shape == (60,)
    assert costs[-1] < costs[0]


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
                np.testing.assert_allclose(actual[field], value, **FLOAT32_TOLERANCE,
                                           err_msg=f"{lesson}.{key}.{field}")
        else:
            np.testing.assert_allclose(actual, expected, **FLOAT32_TOLERANCE, err_msg=f"{lesson}.{key}")


def test_gd_reproduces_the_posts_final_cost(results):
    assert results["gd_kmeans"]["costs_every_10_steps"][-1] == pytest.approx(940.45, abs=0.005)


def run_script(name, *args, cwd):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY", "TF_CPP_MIN_LOG_LEVEL")}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run([sys.executable, str(ROOT / name), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("script", ["generate_samples.py", "kmeans_iterate.py", "gd_kmeans.py"])
def test_script_runs_headless_and_writes_png(tmp_path, script):
    completed = run_script(script, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    png = tmp_path / script.replace(".py", ".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"Figure saved to {png.name}" in completed.stdout
    # TensorFlow's C++ start-up chatter stays quiet.
    for chatter in ("cudart_stub", "absl::InitializeLog", "cpu_feature_guard", "oneDNN"):
        assert chatter not in completed.stderr


@pytest.mark.slow
def test_gd_script_prints_the_posts_table(tmp_path):
    completed = run_script("gd_kmeans.py", "--output", str(tmp_path / "gd.png"), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert [line.split(",")[0] for line in lines[:11]] == [f"Iteration {i}" for i in range(0, 101, 10)]
    assert lines[10].startswith("Iteration 100, cost 940.45")
    assert (tmp_path / "gd.png").exists()


@pytest.mark.slow
def test_script_output_in_missing_folder_is_one_line_error(tmp_path):
    completed = run_script("generate_samples.py", "--output", str(tmp_path / "nope" / "x.png"), cwd=tmp_path)
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith("Error: cannot write")

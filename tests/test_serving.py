"""A fitted model as a SavedModel: what it answers in this process, in a fresh one without kmeans_tf, through
``saved_model_cli`` and TFLite, and the ``export`` command and ``fit --saved-model``.

Every answer is compared with the engine's (``kmeans_tf.predict``) and scikit-learn's (``KMeans.transform``
and ``score``) for the same centroids.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError

import kmeans_tf
from kmeans_tf import serving
from kmeans_tf._tensorflow import tf
from tests.cases import assert_error, random_case, run

N_FEATURES, N_CLUSTERS = 3, 4
BATCH_SIZES = [0, 1, 257]
BATCH_IDS = ["0 rows", "1 row", "257 rows"]


@pytest.fixture(scope="module")
def fitted():
    """A ``KMeans`` fitted on float32 blobs (Euclidean), and rows to label that it has not seen."""
    samples, _ = random_case(0, 400, N_FEATURES, N_CLUSTERS)
    new, _ = random_case(1, 300, N_FEATURES, N_CLUSTERS)
    return kmeans_tf.KMeans(N_CLUSTERS, random_state=0).fit(samples), new


@pytest.fixture(scope="module")
def fitted_cosine():
    """A ``KMeans(metric="cosine")`` fitted on float32 blobs, and rows to label that it has not seen."""
    samples, _ = random_case(2, 400, N_FEATURES, N_CLUSTERS)
    new, _ = random_case(3, 300, N_FEATURES, N_CLUSTERS)
    return kmeans_tf.KMeans(N_CLUSTERS, metric="cosine", random_state=0).fit(samples), new


def load(version):
    return tf.saved_model.load(str(version))


def answers(loaded, rows):
    """Every signature's outputs for ``rows``, as numpy arrays: name -> {output -> array}."""
    rows = tf.constant(rows, tf.float32)
    return {
        name: {key: value.numpy() for key, value in loaded.signatures[name](samples=rows).items()}
        for name in serving.SIGNATURES
    }


@pytest.mark.parametrize("n_rows", BATCH_SIZES, ids=BATCH_IDS)
def test_the_saved_model_gives_the_engines_labels_and_scikit_learns_transform_and_score(fitted, tmp_path, n_rows):
    model, new = fitted
    rows = new[:n_rows]
    version = model.export(tmp_path / "model")
    assert version == tmp_path / "model" / serving.VERSION
    got = answers(load(version), rows)
    if n_rows == 0:  # the engine and scikit-learn refuse no rows; the SavedModel answers with empty outputs
        assert got["predict"]["labels"].shape == (0,)
        assert got["transform"]["distances"].shape == (0, N_CLUSTERS)
        assert got["score"]["score"] == 0
        return
    labels = kmeans_tf.predict(rows, model.cluster_centers_)
    assert_array_equal(got["serving_default"]["labels"], labels)
    assert_array_equal(got["predict"]["labels"], labels)
    assert got["predict"]["labels"].dtype == np.int64
    transform = model.transform(rows)
    assert_allclose(got["transform"]["distances"], transform, rtol=1e-5, atol=1e-6)
    assert_allclose(got["serving_default"]["distances"], transform[np.arange(n_rows), labels], rtol=1e-5, atol=1e-6)
    # float32 distances summed in float64 against the engine's float64 sum of exact squared distances
    assert_allclose(got["score"]["score"], model.score(rows), rtol=1e-5)


def test_a_small_case_worked_by_hand(tmp_path):
    """Centroids (0, 0) and (10, 0); rows at x = 1, 9 and 5: the tie at 5 goes to the first centroid."""
    version = kmeans_tf.export_saved_model([[0.0, 0.0], [10.0, 0.0]], tmp_path)
    got = answers(load(version), [[1.0, 0.0], [9.0, 0.0], [5.0, 0.0]])
    assert_array_equal(got["serving_default"]["labels"], [0, 1, 0])
    assert_array_equal(got["serving_default"]["distances"], [1, 1, 5])
    assert_array_equal(got["transform"]["distances"], [[1, 9], [9, 1], [5, 5]])
    assert got["score"]["score"] == -(1 + 1 + 25)


def test_the_loaded_model_holds_the_centroids_and_the_metric(fitted_cosine, tmp_path):
    model, _ = fitted_cosine
    loaded = load(model.export(tmp_path))
    assert isinstance(loaded.centroids, tf.Variable)
    assert_array_equal(loaded.centroids.numpy(), model.cluster_centers_.astype(np.float32))
    assert loaded.metric.numpy().decode() == "cosine"
    assert set(loaded.signatures) == set(serving.SIGNATURES)


@pytest.mark.parametrize("n_rows", BATCH_SIZES, ids=BATCH_IDS)
def test_cosine_gives_the_engines_labels_and_one_minus_cos(fitted_cosine, tmp_path, n_rows):
    model, new = fitted_cosine
    rows = new[:n_rows]
    got = answers(load(model.export(tmp_path)), rows)
    if n_rows == 0:
        assert got["transform"]["distances"].shape == (0, N_CLUSTERS)
        return
    labels = kmeans_tf.predict(rows, model.cluster_centers_, metric="cosine")
    assert_array_equal(got["serving_default"]["labels"], labels)
    unit_rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    unit_centroids = model.cluster_centers_ / np.linalg.norm(model.cluster_centers_, axis=1, keepdims=True)
    cosine_distances = 1 - unit_rows.astype(np.float64) @ unit_centroids.T
    assert_allclose(got["transform"]["distances"], cosine_distances, atol=1e-6)
    assert_allclose(got["transform"]["distances"], model.transform(rows), atol=1e-6)
    assert_allclose(got["serving_default"]["distances"], cosine_distances[np.arange(n_rows), labels], atol=1e-6)
    assert_allclose(got["score"]["score"], model.score(rows), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_a_row_without_an_answer_gets_label_minus_one_and_nan_distances(tmp_path, metric):
    """A NaN or an infinity (and, for cosine, a row of zeros) is never taken for a row of cluster 0."""
    loaded = load(kmeans_tf.export_saved_model([[1.0, 2.0], [-3.0, 1.0]], tmp_path, metric=metric))
    rows = [[1.0, 2.0], [np.nan, 0.0], [np.inf, 1.0], [-3.0, 1.0]] + ([[0.0, 0.0]] if metric == "cosine" else [])
    got = answers(loaded, rows)
    assert_array_equal(got["serving_default"]["labels"], [0, -1, -1, 1] + [-1] * (len(rows) - 4))
    unanswered = got["serving_default"]["labels"] == -1
    assert np.isnan(got["serving_default"]["distances"][unanswered]).all()
    assert np.isnan(got["transform"]["distances"][unanswered]).all()
    assert np.isfinite(got["transform"]["distances"][~unanswered]).all()
    assert np.isnan(got["score"]["score"])


def test_an_existing_version_folder_is_refused_and_kept(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "mine.txt").write_text("kept")
    with pytest.raises(ValueError, match=r"1 already exists: a SavedModel's version folder is never replaced"):
        kmeans_tf.export_saved_model([[0.0, 1.0]], tmp_path)
    assert (tmp_path / "1" / "mine.txt").read_text() == "kept"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["1"]


@pytest.mark.parametrize(
    ("centroids", "metric", "message"),
    [
        ([[0.0, 1.0]], "manhattan", "metric='manhattan' should be one of 'euclidean', 'cosine'"),
        ([[0.0, np.nan]], "euclidean", "centroids should be finite, got nan at row 0, column 1"),
        ([[0.0, 1e39]], "euclidean", "centroids should be finite in float32, got 1e+39 at row 0, column 1"),
        ([[1.0, 1.0], [0.0, 0.0]], "cosine", "centroids row 1 has length 0 in float32"),
        ([1.0, 2.0], "euclidean", "centroids should be 2-D"),
    ],
    ids=["metric", "NaN", "float32 overflow", "cosine zero row", "1-D"],
)
def test_bad_centroids_or_metric_are_refused_and_nothing_is_made(tmp_path, centroids, metric, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("+", r"\+")):
        kmeans_tf.export_saved_model(centroids, tmp_path / "model", metric=metric)
    assert not (tmp_path / "model").exists()


def test_a_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    def failing_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        kmeans_tf.export_saved_model([[0.0, 1.0]], tmp_path / "new" / "model")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "mine").mkdir()
    with pytest.raises(OSError, match="disk full"):
        kmeans_tf.export_saved_model([[0.0, 1.0]], tmp_path / "mine")
    assert list((tmp_path / "mine").iterdir()) == []  # no temporary folder left in the base path given


@pytest.mark.parametrize("estimator", [kmeans_tf.KMeans, kmeans_tf.MiniBatchKMeans], ids=["KMeans", "MiniBatchKMeans"])
def test_an_unfitted_estimator_cannot_export(tmp_path, estimator):
    with pytest.raises(NotFittedError):
        estimator(2).export(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_minibatch_and_the_engines_result_export_their_centroids(fitted, tmp_path):
    _, new = fitted
    model = kmeans_tf.MiniBatchKMeans(N_CLUSTERS, random_state=0, n_init=1).fit(new)
    loaded = load(model.export(tmp_path / "minibatch"))
    assert_array_equal(answers(loaded, new)["predict"]["labels"], kmeans_tf.predict(new, model.cluster_centers_))
    result = kmeans_tf.kmeans(new, N_CLUSTERS, seed=0)
    loaded = load(result.export(tmp_path / "result", metric="cosine"))
    assert loaded.metric.numpy().decode() == "cosine"
    labels = kmeans_tf.predict(new, result.centroids, metric="cosine")
    assert_array_equal(answers(loaded, new)["predict"]["labels"], labels)


def centroids_file(tmp_path, centroids):
    path = tmp_path / "centroids.csv"
    path.write_text("".join(",".join(map(str, row)) + "\n" for row in centroids))
    return path


def test_the_export_command_writes_the_saved_model(fitted, tmp_path):
    model, new = fitted
    path = tmp_path / "centroids.npy"
    np.save(path, model.cluster_centers_)
    result = run("export", path, tmp_path / "models" / "blobs")
    assert result.exit_code == 0, result.output
    version = tmp_path / "models" / "blobs" / "1"
    assert f"SavedModel of {N_CLUSTERS} centroids (euclidean) written to {version}" in result.stderr
    got = answers(load(version), new)
    assert_array_equal(got["predict"]["labels"], kmeans_tf.predict(new, model.cluster_centers_))


def test_the_export_command_takes_the_cosine_metric(tmp_path):
    result = run("export", centroids_file(tmp_path, [[1, 0], [0, 1]]), tmp_path / "model", "--metric", "cosine")
    assert result.exit_code == 0, result.output
    loaded = load(tmp_path / "model" / "1")
    assert loaded.metric.numpy().decode() == "cosine"
    assert_array_equal(answers(loaded, [[5.0, 1.0], [1.0, 5.0]])["predict"]["labels"], [0, 1])


def test_the_export_command_takes_the_metric_a_centroids_file_records(tmp_path):
    recorded = tmp_path / "centroids.csv"
    recorded.write_text("# metric: cosine\n1,0\n0,1\n")
    result = run("export", recorded, tmp_path / "model")
    assert result.exit_code == 0, result.output
    assert load(tmp_path / "model" / "1").metric.numpy().decode() == "cosine"
    refused = run("export", recorded, tmp_path / "other", "--metric", "euclidean")
    assert_error(refused, "records the metric cosine", "--metric euclidean")
    assert not (tmp_path / "other").exists()


def test_the_export_command_refuses_an_existing_version_folder(tmp_path):
    (tmp_path / "model" / "1").mkdir(parents=True)
    result = run("export", centroids_file(tmp_path, [[1, 0]]), tmp_path / "model")
    assert_error(result, f"OUT_DIR {tmp_path / 'model' / '1'} already exists")
    assert list((tmp_path / "model" / "1").iterdir()) == []


def test_the_export_command_refuses_a_bad_centroids_file_and_writes_nothing(tmp_path):
    bad = tmp_path / "centroids.csv"
    bad.write_text("1,2\n3,oops\n")
    assert_error(run("export", bad, tmp_path / "model"), str(bad), "row 2", "column 2")
    assert not (tmp_path / "model").exists()


def test_the_export_command_refuses_an_unknown_metric(tmp_path):
    result = run("export", centroids_file(tmp_path, [[1, 0]]), tmp_path / "model", "--metric", "manhattan")
    assert_error(result, "'manhattan' is not one of 'euclidean', 'cosine'", exit_code=2)
    assert not (tmp_path / "model").exists()


def test_fit_writes_a_saved_model_of_its_centroids(tmp_path):
    samples, _ = random_case(4, 200, 2, 3)
    data = tmp_path / "data.npy"
    np.save(data, samples)
    out = [*("--labels-out", tmp_path / "labels.txt", "--centroids-out", tmp_path / "centroids.npy")]
    result = run("fit", data, "-k", 3, "--seed", 0, *out, "--saved-model", tmp_path / "model")
    assert result.exit_code == 0, result.output
    assert f"SavedModel written to {tmp_path / 'model' / '1'}" in result.stderr
    loaded = load(tmp_path / "model" / "1")
    assert_array_equal(loaded.centroids.numpy(), np.load(tmp_path / "centroids.npy"))
    labels = np.loadtxt(tmp_path / "labels.txt", dtype=np.int64)
    assert_array_equal(answers(loaded, samples)["predict"]["labels"], labels)


def test_fit_refuses_an_existing_version_folder_before_any_work(tmp_path):
    np.save(tmp_path / "data.npy", np.arange(20.0).reshape(10, 2))
    (tmp_path / "model" / "1").mkdir(parents=True)
    result = run(
        "fit",
        tmp_path / "data.npy",
        "-k",
        2,
        "--labels-out",
        tmp_path / "labels.txt",
        "--saved-model",
        tmp_path / "model",
    )
    assert_error(result, f"--saved-model {tmp_path / 'model' / '1'} already exists")
    assert "k-means:" not in result.stderr  # refused before the fit
    assert not (tmp_path / "labels.txt").exists()


def test_a_fit_that_fails_while_writing_leaves_no_saved_model_folder(tmp_path, monkeypatch):
    np.save(tmp_path / "data.npy", np.arange(20.0).reshape(10, 2))

    def failing_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", failing_save)
    result = run(
        "fit", tmp_path / "data.npy", "-k", 2, "--labels-out", tmp_path / "labels.txt", "--saved-model", tmp_path / "m"
    )
    assert_error(result, "disk full")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.npy"]  # no labels, no model folder


# A fresh Python process in which kmeans_tf and compat cannot be imported loads the SavedModel and answers.
LOAD_WITHOUT_KMEANS_TF = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class Refused(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("kmeans_tf", "compat"):
                raise ImportError(f"{name} may not be imported here")
            return None

    sys.meta_path.insert(0, Refused())
    import numpy as np
    import tensorflow as tf

    version, rows, out = sys.argv[1:]
    loaded = tf.saved_model.load(version)
    rows = tf.constant(np.load(rows), tf.float32)
    np.savez(out, labels=loaded.signatures["serving_default"](samples=rows)["labels"].numpy(),
             transform=loaded.transform(rows)["distances"].numpy(), metric=loaded.metric.numpy())
    print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in ("kmeans_tf", "compat"))))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_a_fresh_process_without_kmeans_tf_loads_it_and_gives_our_answers(fitted, fitted_cosine, tmp_path, metric):
    model, new = fitted if metric == "euclidean" else fitted_cosine
    version = model.export(tmp_path / "model")
    np.save(tmp_path / "rows.npy", new)
    finished = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_KMEANS_TF, str(version), str(tmp_path / "rows.npy"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert json.loads(finished.stdout.splitlines()[-1]) == []
    got = np.load(tmp_path / "out.npz")
    assert_array_equal(got["labels"], kmeans_tf.predict(new, model.cluster_centers_, metric=metric))
    assert_allclose(got["transform"], model.transform(new), rtol=1e-5, atol=1e-6)
    assert got["metric"].item().decode() == metric


@pytest.mark.slow
def test_saved_model_cli_prints_our_labels(fitted, tmp_path):
    model, new = fitted
    version = model.export(tmp_path / "model")
    rows = new[:5]
    saved_model_cli = Path(sys.executable).parent / "saved_model_cli"
    finished = subprocess.run(
        [
            str(saved_model_cli),
            *("run", "--dir", str(version), "--tag_set", "serve", "--signature_def", "serving_default"),
            *("--input_exprs", f"samples={rows.tolist()!r}"),  # a literal: saved_model_cli evaluates nothing else
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    lines = finished.stdout.splitlines()
    printed = lines[lines.index("Result for output key labels:") + 1]
    assert_array_equal(np.array(printed.strip("[]").split(), np.int64), kmeans_tf.predict(rows, model.cluster_centers_))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_tflite_converts_it_and_gives_our_labels(fitted, tmp_path):
    model, new = fitted
    version = model.export(tmp_path / "model")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(version), signature_keys=[serving.SERVING_DEFAULT])
    interpreter = tf.lite.Interpreter(model_content=converter.convert())
    (samples,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(samples["index"], new.shape)  # converted with a batch of 1
    interpreter.allocate_tensors()
    got = interpreter.get_signature_runner(serving.SERVING_DEFAULT)(**{serving.SAMPLES: new})
    labels = kmeans_tf.predict(new, model.cluster_centers_)
    assert_array_equal(got["labels"], labels)
    assert_allclose(got["distances"], model.transform(new)[np.arange(len(new)), labels], rtol=1e-5, atol=1e-6)


def test_fit_with_the_cosine_metric_writes_a_cosine_saved_model(tmp_path):
    samples, _ = random_case(5, 200, 2, 3)
    np.save(tmp_path / "data.npy", samples)
    labels_out = ("--labels-out", tmp_path / "labels.txt")
    result = run(
        "fit", tmp_path / "data.npy", "-k", 3, "--metric", "cosine", *labels_out, "--saved-model", tmp_path / "m"
    )
    assert result.exit_code == 0, result.output
    loaded = load(tmp_path / "m" / "1")
    assert loaded.metric.numpy().decode() == "cosine"
    labels = np.loadtxt(tmp_path / "labels.txt", dtype=np.int64)
    assert_array_equal(answers(loaded, samples)["predict"]["labels"], labels)

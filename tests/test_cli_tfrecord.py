"""TFRecord files of tf.train.Examples as DATA of fit, predict, elbow and convert: --feature, GZIP, bad records."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from kmeans_tf._tensorflow import tf
from tests.cases import assert_error, random_case, run


def example(**features):
    """A serialized tf.train.Example: a list of floats is a float_list, a list of ints an int64_list."""
    kinds = {
        name: tf.train.Feature(float_list=tf.train.FloatList(value=values))
        if any(isinstance(value, float) for value in values)
        else tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        for name, values in features.items()
    }
    return tf.train.Example(features=tf.train.Features(feature=kinds)).SerializeToString()


def write_records(path, rows, compression=None, extra=()):
    """Write each row as an Example of features ``emb`` (the row) and ``id``, then the ``extra`` records."""
    with tf.io.TFRecordWriter(str(path), options=compression) as writer:
        for index, row in enumerate(rows):
            writer.write(example(emb=[float(value) for value in row], id=[index]))
        for record in extra:
            writer.write(record)
    return path


@pytest.fixture
def blobs():
    samples, _ = random_case(4, 3000, 4, 5, np.float32)
    return samples


def test_fit_of_tfrecords_agrees_with_fitting_the_same_rows_from_npy(tmp_path, blobs):
    write_records(tmp_path / "data.tfrecord", blobs)
    np.save(tmp_path / "data.npy", blobs)
    options = ["-k", 8, "--init-seed", 3, "--json"]
    from_records = run("fit", tmp_path / "data.tfrecord", "--feature", "emb", *options)
    from_npy = run("fit", tmp_path / "data.npy", *options)
    assert from_records.exit_code == 0, from_records.output
    ours, theirs = json.loads(from_records.stdout), json.loads(from_npy.stdout)
    assert ours["n_samples"] == 3000 and ours["n_features"] == 4
    assert ours["cluster_sizes"] == theirs["cluster_sizes"] and ours["n_iter"] == theirs["n_iter"]
    assert_allclose(ours["centroids"], theirs["centroids"], rtol=1e-6)
    assert ours["inertia"] == pytest.approx(theirs["inertia"], rel=1e-9)


def test_gzip_files_a_glob_and_a_folder_are_one_data_set_in_file_name_order(tmp_path, blobs):
    folder = tmp_path / "parts"
    folder.mkdir()
    write_records(folder / "a.tfrecord.gz", blobs[:1000], "GZIP")
    write_records(folder / "b.tfrecords", blobs[1000:2500])
    write_records(folder / "c.TFRECORD", blobs[2500:], "GZIP")
    np.savetxt(tmp_path / "centroids.csv", blobs[:5], delimiter=",")
    expected = run("predict", _npy(tmp_path, blobs), "--centroids", tmp_path / "centroids.csv").stdout
    for data in (folder, f"{folder}/*"):
        result = run("predict", data, "--feature", "emb", "--centroids", tmp_path / "centroids.csv")
        assert result.exit_code == 0, result.output
        assert result.stdout == expected
    converted = run("convert", folder, tmp_path / "all.npy", "--feature", "emb")
    assert converted.exit_code == 0, converted.output
    assert "3000 rows x 4 columns written" in converted.stderr
    assert_array_equal(np.load(tmp_path / "all.npy"), blobs)


def _npy(tmp_path, rows):
    np.save(tmp_path / "rows.npy", rows)
    return tmp_path / "rows.npy"


def test_elbow_reads_tfrecords_into_memory(tmp_path, blobs):
    write_records(tmp_path / "data.tfrecord", blobs)
    np.save(tmp_path / "data.npy", blobs)
    options = ["--k", "2:5", "--init-seed", 0, "--json"]
    ours = run("elbow", tmp_path / "data.tfrecord", "--feature", "emb", *options)
    assert ours.exit_code == 0, ours.output
    theirs = run("elbow", tmp_path / "data.npy", *options)
    assert json.loads(ours.stdout)["suggested_k"] == json.loads(theirs.stdout)["suggested_k"]


@pytest.mark.parametrize("compression", [None, "GZIP"], ids=["plain", "gzip"])
def test_a_bad_record_is_one_error_naming_its_file_and_record(tmp_path, compression):
    rows = np.ones((1500, 3), np.float32)
    cases = [
        (example(id=[7]), "record 1500 has no feature 'emb' (it has id)"),
        (example(emb=[1.0, 2.0]), "record 1500: feature 'emb' holds 2 values, the first record's 3"),
        (example(emb=[1, 2, 3]), "record 1500: feature 'emb' is int64_list; it should be a float_list"),
        (b"not an example", "record 1500 is not a tf.train.Example"),
    ]
    for record, message in cases:
        path = write_records(tmp_path / "bad.tfrecord", rows, compression, extra=[record])
        for command in (["fit", path, "-k", 2], ["convert", path, tmp_path / "out.npy"]):
            assert_error(run(*command, "--feature", "emb"), f"{path}: {message}")
        assert not (tmp_path / "out.npy").exists()
    path = write_records(tmp_path / "bad.tfrecord", rows, compression, extra=[example(emb=[1.0, float("nan"), 3.0])])
    assert_error(
        run("fit", path, "--feature", "emb", "-k", 2), f"{path} should be finite, got nan at row 1500, column 1"
    )
    assert_error(
        run("convert", path, tmp_path / "out.npy", "--feature", "emb"), f"{path}: record 1500 holds nan at value 1"
    )
    assert not (tmp_path / "out.npy").exists()


def test_tfrecord_options_are_checked_before_any_work(tmp_path, blobs):
    path = write_records(tmp_path / "data.tfrecord", blobs[:20])
    cut = tmp_path / "cut.tfrecord"
    cut.write_bytes(path.read_bytes()[:-9])
    assert_error(run("fit", path, "-k", 2), "data.tfrecord is TFRecord data: give --feature NAME")
    assert_error(run("fit", path, "-k", 2, "--feature", "emb", "--columns", "0"), "--columns does not apply")
    assert_error(run("fit", path, "-k", 2, "--feature", "vec"), "record 0 has no feature 'vec' (it has emb, id)")
    assert_error(run("fit", _npy(tmp_path, blobs), "-k", 2, "--feature", "emb"), "is not TFRecord data")
    assert_error(run("fit", f"{tmp_path}/*.tfrecords", "-k", 2, "--feature", "emb"), "matches no file")
    assert_error(run("fit", cut, "-k", 2, "--feature", "emb"), f"{cut}: cannot read the records from record 0 on")
    workers = ["--workers", "localhost:1,localhost:2", "--worker-index", 0]
    assert_error(run("fit", path, "-k", 2, "--feature", "emb", *workers), "TFRecord data, which one process reads")
    # an input is never an output
    assert_error(run("fit", path, "-k", 2, "--feature", "emb", "--labels-out", path, "--force"), "is also DATA")
    (tmp_path / "link.npy").symlink_to(path)  # a glob stands for each file it matches
    assert_error(run("convert", f"{tmp_path}/d*", tmp_path / "link.npy", "--feature", "emb", "--force"), "is also DATA")
    assert path.read_bytes()[:8] == write_records(tmp_path / "again.tfrecord", blobs[:20]).read_bytes()[:8]


def test_fit_streams_tfrecords_and_writes_labels(tmp_path, blobs):
    path = write_records(tmp_path / "data.tfrecord", blobs)
    result = run(
        "fit", path, "--feature", "emb", "-k", 5, "--init-seed", 1, "--labels-out", tmp_path / "labels.npy",
        "--memory-budget", "1MiB", "--weights", _weights(tmp_path, len(blobs)),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "k-means: 3000 rows of total weight 3000, 4 columns, k=5" in result.stderr
    labels = np.load(tmp_path / "labels.npy")
    assert labels.shape == (3000,) and set(np.unique(labels)) == set(range(5))


def _weights(tmp_path, n_rows):
    np.save(tmp_path / "weights.npy", np.ones(n_rows))
    return tmp_path / "weights.npy"

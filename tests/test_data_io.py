"""compat.data_io: reading data files with their errors, and atomic writes."""
import io
import os
import re
import stat

import numpy as np
import pytest

from compat import data_io


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, expected", [
    ("x,y", ("x", "y")),
    ("0, 2", (0, 2)),
    ("a,1", ("a", 1)),
], ids=["names", "indices", "mixed"])
def test_parse_columns(text, expected):
    assert data_io.parse_columns(text) == expected


@pytest.mark.parametrize("text, message", [("x,,y", "empty column"), ("-1", "should be >= 0")],
                         ids=["empty", "negative"])
def test_parse_columns_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        data_io.parse_columns(text)


def test_csv_with_header_and_blank_lines(tmp_path):
    path = write(tmp_path, "d.csv", "x, y\n1,2\n\n3.5,-4e1\n")
    table = data_io.read_table(path)
    np.testing.assert_array_equal(table.values, [[1, 2], [3.5, -40]])
    assert table.names == ("x", "y") and table.values.dtype == np.float64


def test_csv_without_header_tsv_and_stdin(tmp_path):
    assert data_io.read_table(write(tmp_path, "d.csv", "1,2\n3,4\n")).names is None
    np.testing.assert_array_equal(data_io.read_table(write(tmp_path, "d.tsv", "a\tb\n1\t2\n")).values, [[1, 2]])
    table = data_io.read_table("-", stream=io.StringIO("1,2\n3,4\n"))
    assert table.source == "stdin" and table.values.shape == (2, 2)


def test_columns_by_name_and_index_skip_a_text_column(tmp_path):
    path = write(tmp_path, "d.csv", "a,b,kind\n1,2,cat\n3,4,dog\n")
    by_name = data_io.read_table(path, columns=("b", "a"))
    np.testing.assert_array_equal(by_name.values, [[2, 1], [4, 3]])
    assert by_name.names == ("b", "a")
    # Without a header, the text column is simply not used.
    no_header = write(tmp_path, "e.csv", "1,2,cat\n3,4,dog\n")
    table = data_io.read_table(no_header, columns=(0, 1))
    assert table.names is None and table.values.shape == (2, 2)


def test_npy_keeps_float32_and_picks_columns(tmp_path):
    np.save(tmp_path / "d.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    table = data_io.read_table(tmp_path / "d.npy", columns=(1,))
    assert table.values.dtype == np.float32
    np.testing.assert_array_equal(table.values, [[1], [3], [5]])


@pytest.mark.parametrize("name, text, message", [
    ("d.csv", "", "is empty"),
    ("d.csv", "\n \n", "is empty"),
    ("d.csv", "x,y\n", "header (row 1) but no rows of data"),
    ("d.csv", "x,y\n1,2\n\n3,oops\n", "row 4, column 2 ('y'): 'oops' is not a number"),
    ("d.csv", "1,2\n3,\n", "row 2, column 2: '' is not a number"),
    ("d.csv", "1,2\n3,4,5\n", "row 2 has 3 columns, but row 1 has 2"),
    ("d.csv", "1,2\nnan,4\n", "row 2, column 1: 'nan' is not finite"),
    ("d.tsv", "1\t-inf\n", "row 1, column 2: '-inf' is not finite"),
    ("d.txt", "1,2\n", "unknown file type '.txt'"),
], ids=["empty", "blank", "header-only", "non-numeric", "empty-cell", "ragged", "nan", "inf", "suffix"])
def test_bad_text_files(tmp_path, name, text, message):
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        data_io.read_table(write(tmp_path, name, text))
    assert str(tmp_path / name) in str(error.value)


@pytest.mark.parametrize("array, message", [
    (np.zeros(3), r"shape \(3,\); it should be 2-D"),
    (np.array([["a"]]), "holds <U1 values"),
    (np.zeros((0, 2)), "is empty"),
    (np.array([[1.0, 2.0], [3.0, np.inf]]), "row 2, column 2: inf is not finite"),
], ids=["1-D", "strings", "no-rows", "inf"])
def test_bad_npy_arrays(tmp_path, array, message):
    np.save(tmp_path / "d.npy", array)
    with pytest.raises(ValueError, match=message):
        data_io.read_table(tmp_path / "d.npy")


def test_unreadable_files(tmp_path):
    write(tmp_path, "d.npy", "not an array")
    with pytest.raises(ValueError, match="d.npy: it is not a NumPy .npy file"):
        data_io.read_table(tmp_path / "d.npy")
    (tmp_path / "d.csv").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="it is not UTF-8 text"):
        data_io.read_table(tmp_path / "d.csv")
    with pytest.raises(ValueError, match="cannot read .*missing.csv: No such file"):
        data_io.read_table(tmp_path / "missing.csv")


@pytest.mark.parametrize("columns, message", [
    (("z",), "no column named 'z' \\(its columns: 'x', 'y'\\)"),
    ((2,), "has 2 columns \\(indices 0 to 1\\), so it has no column index 2"),
], ids=["name", "index"])
def test_unknown_columns(tmp_path, columns, message):
    with pytest.raises(ValueError, match=message):
        data_io.read_table(write(tmp_path, "d.csv", "x,y\n1,2\n"), columns=columns)


def test_names_need_a_header(tmp_path):
    with pytest.raises(ValueError, match="no header row"):
        data_io.read_table(write(tmp_path, "d.csv", "1,2\n"), columns=("x",))
    np.save(tmp_path / "d.npy", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="no header"):
        data_io.read_table(tmp_path / "d.npy", columns=("x",))


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".npy"])
def test_write_table_reads_back(tmp_path, suffix):
    values = np.array([[0.1, -2.5], [3.0, 1e-7]], dtype=np.float32)
    path = tmp_path / f"c{suffix}"
    data_io.write_table(path, values, names=None if suffix == ".npy" else ("x", "y"))
    table = data_io.read_table(path)
    np.testing.assert_array_equal(table.values.astype(np.float32), values)
    assert table.names == (None if suffix == ".npy" else ("x", "y"))


def test_writes_are_atomic_and_never_clobber(tmp_path):
    path = tmp_path / "labels.txt"
    data_io.write_labels(path, np.array([2, 0, 1]))
    assert path.read_text() == "2\n0\n1\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
    with pytest.raises(FileExistsError, match="already exists"):
        data_io.write_labels(path, np.array([5]))
    assert path.read_text() == "2\n0\n1\n"
    data_io.write_labels(path, np.array([5]), overwrite=True)
    assert path.read_text() == "5\n"
    with pytest.raises(FileNotFoundError, match="folder .*nowhere does not exist"):
        data_io.write_labels(tmp_path / "nowhere" / "labels.txt", np.array([1]))
    assert os.listdir(tmp_path) == ["labels.txt"]  # no temporary file left behind


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask

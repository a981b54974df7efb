"""kmeans_tf.data_io: reading data files with their errors, and atomic writes."""

import contextlib
import errno
import io
import os
import pickle
import re
import shutil
import socket
import stat
import tempfile
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from kmeans_tf import data_io
from tests.cases import run_python


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x,y", ("x", "y")),
        ("0, 2", (0, 2)),
        ("a,1", ("a", 1)),
    ],
    ids=["names", "indices", "mixed"],
)
def test_parse_columns(text, expected):
    assert data_io.parse_columns(text) == expected


@pytest.mark.parametrize(
    "text, message", [("x,,y", "empty column"), ("-1", "should be >= 0")], ids=["empty", "negative"]
)
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
    # A text cell anywhere in the first row makes it a header; header=False reads it as data.
    no_header = write(tmp_path, "e.csv", "1,2,cat\n3,4,dog\n")
    assert data_io.read_table(no_header, columns=(0, 1)).names == ("1", "2")
    table = data_io.read_table(no_header, columns=(0, 1), header=False)
    assert table.names is None and table.values.shape == (2, 2)


def test_npy_keeps_float32_and_picks_columns(tmp_path):
    np.save(tmp_path / "d.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    table = data_io.read_table(tmp_path / "d.npy", columns=(1,))
    assert table.values.dtype == np.float32
    np.testing.assert_array_equal(table.values, [[1], [3], [5]])


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("d.csv", "", "is empty"),
        ("d.csv", "\n \n", "is empty"),
        ("d.csv", "x,y\n", "header (row 1) but no rows of data"),
        ("d.csv", "x,y\n1,2\n\n3,oops\n", "row 4, column 2 ('y'): 'oops' is not a number"),
        ("d.csv", "1,2\n3,\n", "row 2, column 2: '' is not a number"),
        ("d.csv", "1,2\n3,4,5\n", "row 2 has 3 columns, but row 1 has 2"),
        ("d.csv", "1,2\nnan,4\n", "row 2, column 1: 'nan' is not finite"),
        ("d.tsv", "1\t-inf\n", "row 1, column 2: '-inf' is not finite"),
        ("d.txt", "1,2\n", "unknown file type '.txt'"),
    ],
    ids=["empty", "blank", "header-only", "non-numeric", "empty-cell", "ragged", "nan", "inf", "suffix"],
)
def test_bad_text_files(tmp_path, name, text, message):
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        data_io.read_table(write(tmp_path, name, text))
    assert str(tmp_path / name) in str(error.value)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros(3), r"shape \(3,\); it should be 2-D"),
        (np.array([["a"]]), "holds <U1 values"),
        (np.zeros((0, 2)), "is empty"),
        (np.array([[1.0, 2.0], [3.0, np.inf]]), "row 2, column 2: inf is not finite"),
    ],
    ids=["1-D", "strings", "no-rows", "inf"],
)
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


@pytest.mark.parametrize(
    "columns, message",
    [
        (("z",), "no column named 'z' \\(its columns: 'x', 'y'\\)"),
        ((2,), "has 2 columns \\(indices 0 to 1\\), so it has no column index 2"),
    ],
    ids=["name", "index"],
)
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


# ---------------------------------------------------------------------------
# The header row, and choosing columns
# ---------------------------------------------------------------------------


def test_header_is_decided_from_the_whole_first_row(tmp_path):
    path = write(tmp_path, "d.csv", "name,2020,2021\nann,1,2\nbob,3,4\n")
    table = data_io.read_table(path, columns=(1, 2))
    np.testing.assert_array_equal(table.values, [[1, 2], [3, 4]])
    assert table.names == ("2020", "2021")
    # A bare number that is no index of the file but a header name means the name.
    by_name = data_io.read_table(path, columns=data_io.parse_columns("2021,2020"))
    np.testing.assert_array_equal(by_name.values, [[2, 1], [4, 3]])


def test_header_can_be_forced_either_way(tmp_path):
    numbers = write(tmp_path, "n.csv", "1,2\n3,4\n")
    table = data_io.read_table(numbers, header=True)
    assert table.names == ("1", "2")
    np.testing.assert_array_equal(table.values, [[3, 4]])
    words = write(tmp_path, "w.csv", "a,b\n1,2\n")
    with pytest.raises(ValueError, match=re.escape("row 1, column 1: 'a' is not a number")):
        data_io.read_table(words, header=False)
    with pytest.raises(ValueError, match="has no header row, so it has no column named 'a'"):
        data_io.read_table(words, header=False, columns=("a",))
    with pytest.raises(ValueError, match="header='yes' should be None"):
        data_io.read_table(words, header="yes")
    np.save(tmp_path / "d.npy", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="has no header row"):
        data_io.read_table(tmp_path / "d.npy", header=True)
    assert data_io.read_table(tmp_path / "d.npy", header=False).values.shape == (2, 2)


def test_a_row_of_numbers_python_reads_is_no_header(tmp_path):
    # 1_000 is no header name: the row is data, and its cell is refused.
    with pytest.raises(ValueError, match=re.escape("row 1, column 1: '1_000' is not a number")):
        data_io.read_table(write(tmp_path, "d.csv", "1_000,2\n3,4\n"))
    # An empty cell does not make a header either (index column of a header: ",a,b" does).
    with pytest.raises(ValueError, match=re.escape("row 1, column 2: '' is not a number")):
        data_io.read_table(write(tmp_path, "e.csv", "1,,2\n3,4,5\n"))
    assert data_io.read_table(write(tmp_path, "f.csv", ",a,b\n0,1,2\n"), columns=("a", "b")).names == ("a", "b")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", "ambiguous: index 1 is column 2 ('b') but column 3 is named '1'; write name:1 or index:1"),
        ("name:1", [[9]]),
        ("index:1", [[8]]),
        ("2", [[9]]),
        ("b", [[8]]),
    ],
    ids=["bare-ambiguous", "name", "index", "bare-same-column", "plain-name"],
)
def test_digits_that_are_also_a_header_name(tmp_path, text, expected):
    path = write(tmp_path, "d.csv", "a,b,1\n7,8,9\n")
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=re.escape(expected)):
            data_io.read_table(path, columns=data_io.parse_columns(text))
    else:
        np.testing.assert_array_equal(data_io.read_table(path, columns=data_io.parse_columns(text)).values, expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("name:2020, index:3, time:s, 1.5, +2", ("2020", 3, "time:s", "1.5", 2)),
        ("name: x ", ("x",)),
    ],
    ids=["prefixes", "spaces"],
)
def test_parse_columns_prefixes(text, expected):
    assert data_io.parse_columns(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("name:", "no name after 'name:'"),
        ("index:x", "should be index: followed by a 0-based index"),
        ("index:-1", "should be index: followed by a 0-based index"),
    ],
    ids=["empty-name", "index-text", "index-negative"],
)
def test_parse_columns_rejects_bad_prefixes(text, message):
    with pytest.raises(ValueError, match=message):
        data_io.parse_columns(text)


def test_parse_columns_reads_only_ascii_digits_as_indices():
    assert data_io.parse_columns("١") == ("١",)


@pytest.mark.parametrize(
    "columns, message",
    [
        ((0, 0), "column 1 ('x') is chosen twice (as 0 and 0); choose each column once"),
        (("x", 0), "column 1 ('x') is chosen twice (as 'x' and 0)"),
        (("y", "name:y"), None),
    ],
    ids=["index-twice", "name-and-index", "parsed"],
)
def test_a_column_chosen_twice_is_refused(tmp_path, columns, message):
    path = write(tmp_path, "d.csv", "x,y\n1,2\n")
    if message is None:
        columns = data_io.parse_columns(",".join(columns))
        message = "column 2 ('y') is chosen twice (as 'y' and 'y')"
    with pytest.raises(ValueError, match=re.escape(message)):
        data_io.read_table(path, columns=columns)
    np.save(tmp_path / "d.npy", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="column 2 is chosen twice"):
        data_io.read_table(tmp_path / "d.npy", columns=(1, 1))


def test_a_duplicated_header_name_is_refused_only_when_chosen_by_it(tmp_path):
    path = write(tmp_path, "d.csv", "x,y,x\n1,2,3\n")
    with pytest.raises(ValueError, match=re.escape("the header names 'x' 2 times (columns 1, 3); pick one by")):
        data_io.read_table(path, columns=("x",))
    np.testing.assert_array_equal(data_io.read_table(path, columns=("y", 2)).values, [[2, 3]])


# ---------------------------------------------------------------------------
# What a number is
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell, message",
    [
        ("1_000", "is not a number"),
        ("١٢", "is not a number"),  # Arabic-Indic digits: float() reads them, a data file means none
        ("１２", "is not a number"),  # fullwidth digits
        ("0x10", "is not a number"),
        ("1,5", "is not a number"),  # a decimal comma (quoted in CSV)
        ("1e999", "is too large for a 64-bit float"),
        ("-Infinity", "is not finite"),
        ("NaN", "is not finite"),
    ],
    ids=["underscore", "arabic-indic", "fullwidth", "hex", "decimal-comma", "overflow", "infinity", "nan"],
)
def test_cells_python_reads_but_a_data_file_does_not_mean(tmp_path, cell, message):
    path = write(tmp_path, "d.csv", f'x,y\n1,2\n3,"{cell}"\n')
    with pytest.raises(ValueError, match=re.escape(f"d.csv: row 3, column 2 ('y'): {cell!r} {message}")):
        data_io.read_table(path)


def test_numbers_in_their_ascii_spellings(tmp_path):
    path = write(tmp_path, "d.csv", "x,y,z\n 1 ,1e5,+.5\n5.,-0,2E-3\n")
    np.testing.assert_array_equal(data_io.read_table(path).values, [[1, 1e5, 0.5], [5, 0, 2e-3]])


# ---------------------------------------------------------------------------
# Odd text files
# ---------------------------------------------------------------------------


def test_crlf_cr_and_byte_order_marks(tmp_path):
    (tmp_path / "crlf.csv").write_bytes(b"x,y\r\n1,2\r\n3,4\r\n")
    (tmp_path / "cr.csv").write_bytes(b"\xef\xbb\xbfx,y\r1,2\r3,4\r")
    for name in ("crlf.csv", "cr.csv"):
        table = data_io.read_table(tmp_path / name)
        assert table.names == ("x", "y") and table.values.shape == (2, 2)
    # On stdin the byte order mark reaches the reader: it is no part of a name, nor text in a number row.
    assert data_io.read_table("-", stream=io.StringIO("\ufeffx,y\n1,2\n"), columns=("x",)).names == ("x",)
    assert data_io.read_table("-", stream=io.StringIO("\ufeff1,2\n3,4\n")).values.shape == (2, 2)


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("d.csv", "x,y\n1,2\x00\n", r"row 2, column 2 \('y'\): '2\\x00' is not a number"),
        ("d.csv", "x;y\n1;2\n", r"row 2, column 1 \('x;y'\): '1;2' is not a number"),
        ("d.csv", "x\ty\n1\t2\n", r"row 2, column 1 \('x\\ty'\): '1\\t2' is not a number"),
        ("d.tsv", "1,2\t3\n4,5\t6\n", r"row 2, column 1 \('1,2'\): '4,5' is not a number"),
        ("d.csv", "1," + "9" * 200_000 + "\n", "row 1: field larger than field limit"),
    ],
    ids=["nul", "semicolons", "tabs-in-csv", "commas-in-tsv", "huge-cell"],
)
def test_odd_text_files_fail_in_one_line(tmp_path, name, text, message):
    with pytest.raises(ValueError, match=message) as error:
        data_io.read_table(write(tmp_path, name, text))
    assert "\n" not in str(error.value)


def test_a_windows_path_is_a_file_name_like_any_other(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "C:\\data\\d.csv", "1,2\n")
    assert data_io.read_table("C:\\data\\d.csv").values.shape == (1, 2)


# ---------------------------------------------------------------------------
# .npy files: the header is checked before the data are read
# ---------------------------------------------------------------------------


def _npy_header(path, shape, dtype="<f8", data=b""):
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": dtype, "fortran_order": False, "shape": shape})
        handle.write(data)
    return path


def test_npy_object_arrays_and_pickles_are_refused_as_code(tmp_path):
    np.save(tmp_path / "o.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    with pytest.raises(
        ValueError,
        match="holds Python objects .dtype object.; object arrays are refused because loading them could run code",
    ):
        data_io.read_table(tmp_path / "o.npy")
    (tmp_path / "p.npy").write_bytes(pickle.dumps([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="is a Python pickle, not a .npy array; pickles are refused"):
        data_io.read_table(tmp_path / "p.npy")
    np.savez(tmp_path / "z.npy", a=np.zeros((2, 2)))
    os.replace(tmp_path / "z.npy.npz", tmp_path / "z.npy")
    with pytest.raises(ValueError, match=re.escape("several arrays (.npz)")):
        data_io.read_table(tmp_path / "z.npy")


def test_npy_header_claiming_more_than_the_file_holds(tmp_path):
    path = _npy_header(tmp_path / "d.npy", (10**12, 3))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "d.npy is truncated: its header says 1000000000000 rows x 3 columns (24000000000000 bytes), "
            "but the file holds 0 bytes (0 rows)"
        ),
    ):
        data_io.read_table(path)


def test_npy_truncated_and_trailing_bytes(tmp_path):
    np.save(tmp_path / "d.npy", np.zeros((4, 2)))
    whole = (tmp_path / "d.npy").read_bytes()
    (tmp_path / "d.npy").write_bytes(whole[:-8])
    with pytest.raises(
        ValueError,
        match=re.escape(
            "is truncated: its header says 4 rows x 2 columns (64 bytes), but the file holds 56 bytes (3 rows)"
        ),
    ):
        data_io.read_table(tmp_path / "d.npy")
    (tmp_path / "d.npy").write_bytes(whole + b"junk")
    with pytest.raises(ValueError, match="has 4 bytes after the array its header describes"):
        data_io.read_table(tmp_path / "d.npy")


def test_npy_larger_than_free_memory(tmp_path, monkeypatch):
    np.save(tmp_path / "d.npy", np.zeros((4, 2)))
    monkeypatch.setattr(data_io.reading, "_available_memory", lambda: 100)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "d.npy claims 4 rows x 2 columns (64 bytes), more than this machine's free memory (100 bytes) holds"
        ),
    ):
        data_io.read_table(tmp_path / "d.npy")


def test_npy_that_shrinks_while_read(tmp_path, monkeypatch):
    np.save(tmp_path / "d.npy", np.zeros((4, 2)))
    monkeypatch.setattr(np, "fromfile", lambda *args, **kwargs: np.zeros(3))
    with pytest.raises(
        ValueError, match="is truncated: its header says 4 rows x 2 columns .64 bytes., but only 3 values were read"
    ):
        data_io.read_table(tmp_path / "d.npy")


def test_free_memory_is_known_on_linux():
    assert data_io.reading._available_memory() > 0


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda path: _npy_header(path, (2, 2), dtype="<c16"), "holds complex128 values; it should hold numbers"),
        (lambda path: path.write_bytes(b"\x93NUMPY\x03\x00" + b"\x00" * 8), r"of format 1.0 or 2.0 \(it says 3.0\)"),
        (lambda path: path.write_bytes(b"\x93NUMPY\x01\x00\x04\x00{'a'"), "its header cannot be read"),
        (lambda path: _npy_header(path, (2, 3, 1)), r"shape \(2, 3, 1\); it should be 2-D"),
    ],
    ids=["complex", "version-3", "bad-header", "3-D"],
)
def test_npy_headers_refused(tmp_path, make, message):
    make(tmp_path / "d.npy")
    with pytest.raises(ValueError, match=message):
        data_io.read_table(tmp_path / "d.npy")


@pytest.mark.parametrize(
    "array",
    [
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.arange(6, dtype=">i4").reshape(2, 3),
        np.arange(6, dtype=np.uint8).reshape(2, 3),
    ],
    ids=["fortran-order", "big-endian", "uint8"],
)
def test_npy_layouts(tmp_path, array):
    np.save(tmp_path / "d.npy", array)
    np.testing.assert_array_equal(data_io.read_table(tmp_path / "d.npy").values, [[0, 1, 2], [3, 4, 5]])


@pytest.mark.parametrize("cut", [0, 8], ids=["whole", "truncated"])
def test_npy_from_a_fifo(tmp_path, cut):
    path = tmp_path / "d.npy"
    os.mkfifo(path)
    buffer = io.BytesIO()
    np.save(buffer, np.arange(4.0).reshape(2, 2))
    data = buffer.getvalue()
    writer = threading.Thread(target=path.write_bytes, args=(data[: len(data) - cut],), daemon=True)
    writer.start()
    try:
        if cut:
            with pytest.raises(ValueError, match=re.escape("holds 24 bytes of data, but its header says 2 rows")):
                data_io.read_table(path)
        else:
            np.testing.assert_array_equal(data_io.read_table(path).values, [[0, 1], [2, 3]])
    finally:
        writer.join(5)


def test_npy_that_memory_cannot_hold(tmp_path, monkeypatch):
    np.save(tmp_path / "d.npy", np.zeros((4, 2)))

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(np, "fromfile", no_memory)
    with pytest.raises(
        ValueError, match=re.escape("claims 4 rows x 2 columns (64 bytes), more than this machine's free memory holds")
    ):
        data_io.read_table(tmp_path / "d.npy")


# ---------------------------------------------------------------------------
# Outputs: special files are written into, links written through, folders checked first
# ---------------------------------------------------------------------------


def test_a_fifo_is_written_into(tmp_path):
    path = tmp_path / "labels.fifo"
    os.mkfifo(path)
    received = []
    reader = threading.Thread(target=lambda: received.append(path.read_bytes()), daemon=True)
    reader.start()
    data_io.write_labels(path, np.array([1, 0]))  # no overwrite needed
    reader.join(5)
    assert received == [b"1\n0\n"] and stat.S_ISFIFO(path.lstat().st_mode)
    assert sorted(os.listdir(tmp_path)) == ["labels.fifo"]


def test_dev_null_stays_a_device():
    data_io.write_labels("/dev/null", np.array([1]))
    data_io.write_table("/dev/null", np.zeros((2, 2)))  # no suffix: CSV
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    data_io.check_output("/dev/null")
    assert data_io.is_special_output("/dev/null")


def test_stdout_is_written_into_not_replaced():
    code = (
        "import sys, numpy; from kmeans_tf import data_io; print('before', flush=True); "
        "data_io.write_table('/dev/stdout', numpy.array([[1.5, 2.0]]), names=('x', 'y'), file_type='.tsv'); "
        "data_io.write_labels('/dev/stdout', numpy.array([3, 1]))"
    )
    result = run_python(code, text=False, check=True, timeout=120)
    assert result.stdout == b"before\nx\ty\n1.5\t2.0\n3\n1\n"
    assert os.path.islink("/dev/stdout")


def test_file_descriptors_are_written_into(tmp_path):
    read_end, write_end = os.pipe()
    try:
        data_io.write_labels(f"/dev/fd/{write_end}", np.array([4, 2]))
        data_io.write_labels(f"/proc/self/fd/{write_end}", np.array([7]))
        assert os.read(read_end, 100) == b"4\n2\n7\n"
        with pytest.raises(
            PermissionError,
            match=f"cannot write /dev/fd/{read_end}: file descriptor {read_end} is open for reading only",
        ):
            data_io.check_output(f"/dev/fd/{read_end}")
    finally:
        os.close(read_end)
        os.close(write_end)
    with pytest.raises(OSError, match=f"file descriptor {write_end} is not open"):
        data_io.write_labels(f"/dev/fd/{write_end}", np.array([1]))
    # A link to /dev/stdout is a file descriptor too.
    os.symlink("/dev/stdout", tmp_path / "out")
    assert data_io.is_special_output(tmp_path / "out")
    data_io.write_labels(tmp_path / "out", np.array([]))
    assert os.readlink(tmp_path / "out") == "/dev/stdout"


def test_a_socket_is_written_into(tmp_path):
    path = tmp_path / "s.sock"
    received = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)

        def serve():
            connection, _ = server.accept()
            with connection:
                received.append(b"".join(iter(lambda: connection.recv(100), b"")))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        data_io.write_labels(path, np.array([5, 6]))
        thread.join(5)
    assert received == [b"5\n6\n"] and stat.S_ISSOCK(path.lstat().st_mode)


def test_a_link_is_written_through(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    link = tmp_path / "link.txt"
    os.symlink("real.txt", link)
    with pytest.raises(FileExistsError, match=r"link.txt already exists \(it links to .*real.txt\)"):
        data_io.write_labels(link, np.array([1]))
    data_io.write_labels(link, np.array([1]), overwrite=True)
    assert link.is_symlink() and os.readlink(link) == "real.txt"
    assert target.read_text() == "1\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert not data_io.is_special_output(link)


def test_a_dangling_link_creates_the_file_it_names(tmp_path):
    (tmp_path / "out").mkdir()
    link = tmp_path / "labels.txt"
    os.symlink(tmp_path / "out" / "new.txt", link)
    data_io.write_labels(link, np.array([2]))  # nothing is replaced: no overwrite needed
    assert link.is_symlink() and (tmp_path / "out" / "new.txt").read_text() == "2\n"
    nowhere = tmp_path / "nowhere.txt"
    os.symlink(tmp_path / "gone" / "new.txt", nowhere)
    with pytest.raises(
        FileNotFoundError,
        match=r"cannot write .*nowhere.txt: folder .*gone "
        r"\(where its link points\) does not exist",
    ):
        data_io.check_output(nowhere)
    loop = tmp_path / "loop.txt"
    os.symlink("loop.txt", loop)
    with pytest.raises(OSError, match="loop.txt: it is a loop of symbolic links"):
        data_io.check_output(loop)


def test_check_output_says_why_a_path_cannot_be_written(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        data_io.check_output(tmp_path, overwrite=True)
    with pytest.raises(NotADirectoryError, match="file is not a folder"):
        data_io.check_output(tmp_path / "file" / "labels.txt")
    with pytest.raises(FileNotFoundError, match="folder .*nowhere does not exist"):
        data_io.check_output(tmp_path / "nowhere" / "labels.txt")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(PermissionError, match=f"cannot write .*labels.txt: folder {tmp_path} is not writable$"):
        data_io.check_output(tmp_path / "labels.txt")
    with pytest.raises(PermissionError, match="cannot write /dev/null: permission denied"):
        data_io.check_output("/dev/null")


def test_check_output_tries_the_folder_when_access_says_yes(tmp_path, monkeypatch):
    # As root, access() says yes even on a read-only mount: a file is tried in the folder.
    def read_only(dir, prefix, **_):
        raise OSError(errno.EROFS, "Read-only file system", os.path.join(dir, prefix + "abc123"))

    monkeypatch.setattr(data_io.writing.tempfile, "mkstemp", read_only)
    with pytest.raises(PermissionError) as error:
        data_io.check_output(tmp_path / "labels.txt")
    assert (
        str(error.value) == f"cannot write {tmp_path / 'labels.txt'}: folder {tmp_path} is not writable "
        f"(Read-only file system)"
    )


def test_check_output_in_a_read_only_folder():
    # Root may write any folder, so as root the check runs in a forked child that is the unprivileged user "nobody".
    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o755)
        (folder / "ro").mkdir(mode=0o555)
        reader, writer = os.pipe()
        child = os.fork()
        if child == 0:  # the child: check, report, exit without running the parent's clean-up
            message = b"no error"
            try:
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                data_io.check_output(folder / "ro" / "labels.txt")
            except OSError as error:
                message = str(error).encode()
            finally:
                os.write(writer, message)
                os._exit(0)
        os.close(writer)
        os.waitpid(child, 0)
        with os.fdopen(reader, "rb") as pipe:
            message = pipe.read().decode()
        assert "is not writable" in message, message
    finally:
        shutil.rmtree(folder)


def test_a_failed_write_names_no_temporary_file(tmp_path, monkeypatch):
    def full(source, destination):
        raise OSError(errno.ENOSPC, "No space left on device", source, None, destination)

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError) as error:
        data_io.write_labels(tmp_path / "labels.txt", np.array([1]))
    assert str(error.value) == f"cannot write {tmp_path / 'labels.txt'}: No space left on device"
    assert os.listdir(tmp_path) == []


def test_write_table_file_type(tmp_path):
    data_io.write_table(tmp_path / "c.out", np.eye(2), file_type=".npy")
    np.testing.assert_array_equal(np.load(tmp_path / "c.out"), np.eye(2))
    with pytest.raises(ValueError, match="unknown file type '.out'"):
        data_io.write_table(tmp_path / "d.out", np.eye(2))


def test_a_folder_that_turns_unwritable_after_the_check(tmp_path, monkeypatch):
    monkeypatch.setattr(data_io.writing, "_check_file", lambda *args: None)

    def denied(dir, prefix, suffix=""):
        raise PermissionError(errno.EACCES, "Permission denied", os.path.join(dir, prefix + "x" + suffix))

    monkeypatch.setattr(data_io.writing.tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError) as error:
        data_io.write_labels(tmp_path / "labels.txt", np.array([1]))
    assert str(error.value) == (
        f"cannot write {tmp_path / 'labels.txt'}: cannot create a file in folder {tmp_path} (Permission denied)"
    )


# ---------------------------------------------------------------------------
# Shard folders, odd headers and conversion
# ---------------------------------------------------------------------------


def within(seconds, fifo, function, *args):
    """Return what ``function(*args)`` returns or raises; fail the test if it blocks on ``fifo`` past ``seconds``."""
    outcome = []

    def call():
        try:
            outcome.append(function(*args))
        except BaseException as error:  # noqa: BLE001 (handed to the test)
            outcome.append(error)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        with contextlib.suppress(OSError):  # a writer lets a reader blocked on the FIFO go
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(seconds)
        pytest.fail(f"blocked on {fifo}")
    return outcome[0]


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_shard_folder_refuses_what_is_not_a_regular_file_at_once(tmp_path, kind):
    folder = tmp_path / "shards"
    folder.mkdir()
    np.save(folder / "a.npy", np.ones((3, 2)))
    odd = folder / "b.npy"
    os.mkfifo(odd) if kind == "fifo" else odd.mkdir()
    for reader in (data_io.map_npy_folder, data_io.shard_paths):
        error = within(30, odd, reader, folder)
        assert isinstance(error, ValueError), error
        assert str(odd) in str(error) and "not a regular file" in str(error)
    error = within(30, odd, data_io.map_npy, odd)
    assert isinstance(error, ValueError) and str(odd) in str(error)


def test_links_to_regular_files_are_shards(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    np.save(tmp_path / "elsewhere.npy", np.ones((3, 2)))
    (folder / "a.npy").symlink_to(tmp_path / "elsewhere.npy")
    np.save(folder / "b.npy", np.zeros((2, 2)))
    assert [len(array) for array in data_io.map_npy_folder(folder)] == [3, 2]


@pytest.mark.parametrize("shape", [(-2, -2), (-4,)], ids=["2-D", "1-D"])
def test_a_negative_dimension_is_refused_naming_the_file(tmp_path, shape):
    path = _npy_header(tmp_path / "d.npy", shape, data=np.zeros(4).tobytes())
    readers = [data_io.read_table, data_io.map_npy, data_io.read_weights]
    for reader in readers if len(shape) == 2 else [data_io.read_weights]:
        with pytest.raises(ValueError) as error:
            reader(path)
        assert str(error.value) == f"{path} holds an array of shape {shape}; a dimension cannot be negative"


def test_convert_holds_a_chunk_of_bytes_not_of_rows(tmp_path):
    source = tmp_path / "wide.csv"
    source.write_text("".join(",".join([str(row + 0.5)] * 50_000) + "\n" for row in range(2)))
    tracemalloc.start()
    try:
        rows, width, names = data_io.convert_text(source, tmp_path / "wide.npy")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (rows, width, names) == (2, 50_000, None)
    np.testing.assert_array_equal(np.load(tmp_path / "wide.npy"), [[0.5] * 50_000, [1.5] * 50_000])
    assert peak < 64 * 2**20, peak


def test_convert_writes_chunk_after_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(data_io.converting, "CHUNK_BYTES", 3 * 2 * 8)  # 3 rows of 2 float64 a chunk
    rows = np.arange(20.0).reshape(10, 2)
    source = write(tmp_path, "data.csv", "".join(f"{x},{y}\n" for x, y in rows))
    written = []
    result = data_io.convert_text(source, tmp_path / "out.npy", progress=lambda done, read: written.append(done))
    assert result == (10, 2, None) and written == [3, 6, 9]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), rows)


def test_convert_onto_a_full_disk_names_the_output_not_the_input(tmp_path, monkeypatch):
    source = write(tmp_path, "data.csv", "x,y\n1,2\n3,4\n")
    out = tmp_path / "out.npy"

    def full(self, rows):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(data_io.chunked.RowsWriter, "append", full)
    with pytest.raises(OSError) as error:
        data_io.convert_text(source, out)
    assert str(error.value) == f"cannot write {out}: No space left on device"
    assert sorted(os.listdir(tmp_path)) == ["data.csv"]


def test_convert_names_the_input_when_reading_it_fails(tmp_path, monkeypatch):
    class FailingText:
        """Two lines of CSV, then a read that fails."""

        lines = iter(["x,y\n", "1,2\n"])

        def __iter__(self):
            return self

        def __next__(self):
            line = next(self.lines, None)
            if line is None:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            return line

    @contextlib.contextmanager
    def failing_text(path):
        yield FailingText()

    source = write(tmp_path, "data.csv", "x,y\n1,2\n3,4\n")
    monkeypatch.setattr(data_io.converting, "open_text", failing_text)
    with pytest.raises(ValueError) as error:
        data_io.convert_text(source, tmp_path / "out.npy")
    assert str(error.value) == f"cannot read {source}: Input/output error"
    assert sorted(os.listdir(tmp_path)) == ["data.csv"]


# ---------------------------------------------------------------------------
# Several outputs, all or none
# ---------------------------------------------------------------------------


def test_write_all_names_the_output_not_its_temporary_file(tmp_path):
    def full(where):
        raise OSError(f"cannot write {where}: No space left on device")

    outputs = [(tmp_path / "a.txt", lambda where: data_io.write_labels(where, [1], overwrite=True))]
    with pytest.raises(OSError) as error:
        data_io.write_all([*outputs, (tmp_path / "b.txt", full)])
    assert str(error.value) == f"cannot write {tmp_path / 'b.txt'}: No space left on device"
    assert os.listdir(tmp_path) == []


def fill_folder(where):
    """Write a folder output: a file inside the (empty) folder given."""
    assert os.listdir(where) == []
    (Path(where) / "inside.txt").write_text("inside\n")


def test_write_all_writes_a_new_folder_with_the_files_or_none_of_them(tmp_path):
    def full(where):
        raise OSError(f"cannot write {where}: No space left on device")

    folder = tmp_path / "model" / "1"
    with pytest.raises(OSError, match="No space left on device"), data_io.folder_made(folder.parent):
        data_io.write_all([(folder, fill_folder), (tmp_path / "b.txt", full)], folders=[folder])
    assert os.listdir(tmp_path) == []  # no temporary folder, and the folder made for it removed again
    with data_io.folder_made(folder.parent):
        data_io.write_all([(folder, fill_folder), (tmp_path / "a.txt", lambda where: None)], folders=[folder])
    assert (folder / "inside.txt").read_text() == "inside\n"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~mask
    assert sorted(os.listdir(tmp_path / "model")) == ["1"]
    with pytest.raises(IsADirectoryError, match="it is a folder"):  # never replaced, whatever overwrite says
        data_io.write_all([(folder, fill_folder)], overwrite=True, folders=[folder])
    assert os.listdir(folder) == ["inside.txt"]


def test_write_all_gives_new_files_the_usual_mode_and_keeps_an_old_ones(tmp_path):
    old = tmp_path / "old.txt"
    old.write_text("old\n")
    old.chmod(0o640)
    new = tmp_path / "new.csv"
    data_io.write_all(
        [
            (old, lambda where: data_io.write_labels(where, [1, 2], overwrite=True)),
            (new, lambda where: data_io.write_table(where, np.eye(2), overwrite=True)),
        ],
        overwrite=True,
    )
    assert old.read_text() == "1\n2\n" and stat.S_IMODE(old.stat().st_mode) == 0o640
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~mask
    np.testing.assert_array_equal(np.loadtxt(new, delimiter=","), np.eye(2))
    assert sorted(os.listdir(tmp_path)) == ["new.csv", "old.txt"]
    with pytest.raises(FileExistsError):
        data_io.write_all([(old, lambda where: None)])

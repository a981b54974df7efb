"""Data files' tables: the file types, the ``Table`` read from a file, and ``--columns`` by name or 0-based index."""

import dataclasses
import re

import numpy as np

STDIN = "-"
DELIMITERS = {".csv": ",", ".tsv": "\t"}
COMMENT = "# "  # a text file may begin with lines of comment, each starting with "#"
NPY_SUFFIX = ".npy"
DATA_SUFFIXES = (*DELIMITERS, NPY_SUFFIX)
NAME_PREFIX = "name:"  # --columns name:2020 is the column named 2020
INDEX_PREFIX = "index:"  # --columns index:2 is the column of 0-based index 2, whatever the header says


@dataclasses.dataclass(frozen=True)
class Table:
    """Numbers read from a data file.

    Attributes
    ----------
    values : array of shape (n_rows, n_columns), float64 (float32 when a .npy file holds float32)
    names : tuple of str, or None when the file has no header row
    source : str, the file's name as given (``"stdin"`` for ``-``)
    weights : float64 array of shape (n_rows,), or None
        The rows' weights, when ``read_table`` was asked for a column of them (not among ``values``).
    """

    values: np.ndarray
    names: tuple | None
    source: str
    weights: np.ndarray | None = None


class _BareIndex(int):
    """A ``--columns`` item of bare digits: an index, unless the header says otherwise (``parse_columns``)."""


def parse_columns(text):
    """Turn ``--columns`` text into a tuple of names (str) and 0-based indices (int).

    Items are separated by commas and stripped of spaces:

    - ``name:TEXT`` is the column whose header cell is ``TEXT`` (``name:2020``);
    - ``index:N`` is the column of 0-based index ``N``, whatever the header says;
    - bare digits ``N`` are the 0-based index ``N``, except when the file's header names a
      column ``N``: if the file has no index ``N``, the name is meant (``2020`` in a header
      ``name,2020,2021``); if index ``N`` is another column, the item is refused as ambiguous.
      A bare number never picks a column that one of its two readings would not;
    - anything else is a header name (``x``, ``1.5``, ``time:s``).

    Parameters
    ----------
    text : str, e.g. ``"x,y"``, ``"0,2"`` or ``"name:2020,name:2021"``

    Returns
    -------
    tuple of str and int
        Bare digits come back as an ``int`` subclass that ``read_table`` checks against the header.
    """
    picked = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"{text!r} has an empty column; give names or 0-based indices separated by commas")
        if item.startswith(NAME_PREFIX):
            name = item[len(NAME_PREFIX) :].strip()
            if not name:
                raise ValueError(f"{item!r} has no name after {NAME_PREFIX!r}")
            picked.append(name)
        elif item.startswith(INDEX_PREFIX):
            digits = item[len(INDEX_PREFIX) :].strip()
            if not re.fullmatch(r"[0-9]+", digits):
                raise ValueError(f"{item!r} should be {INDEX_PREFIX} followed by a 0-based index, e.g. index:2")
            picked.append(int(digits))
        elif re.fullmatch(r"[+-]?[0-9]+", item):
            index = int(item)
            if index < 0:
                raise ValueError(f"column index {index} should be >= 0 (indices are 0-based)")
            picked.append(_BareIndex(index))
        else:
            picked.append(item)
    return tuple(picked)


def resolve_columns(columns, names, width, source, no_header_why=""):
    """Return the 0-based indices of ``columns`` (all when None), checked against the header ``names`` and ``width``."""
    if columns is None:
        return list(range(width))
    indices = []
    for column in columns:
        if isinstance(column, str):
            if names is None:
                raise ValueError(
                    f"{source} has no header row{no_header_why}, so it has no column named "
                    f"{column!r}: pick its columns by 0-based index"
                )
            index = _index_of_name(column, names, source)
        else:
            index = int(column)
            name_index = names.index(str(index)) if names is not None and str(index) in names else None
            if isinstance(column, _BareIndex) and name_index is not None:
                if index >= width:
                    index = _index_of_name(str(column), names, source)
                elif name_index != index:
                    raise ValueError(
                        f"{source}: column {index} is ambiguous: index {index} is column "
                        f"{index + 1} ({names[index]!r}) but column {name_index + 1} is named "
                        f"{str(index)!r}; write {NAME_PREFIX}{index} or {INDEX_PREFIX}{index}"
                    )
            if not 0 <= index < width:
                raise ValueError(
                    f"{source} has {width} columns (indices 0 to {width - 1}), so it has no column index {index}"
                )
        if index in indices:
            first = columns[indices.index(index)]
            called = f" ({names[index]!r})" if names is not None else ""
            raise ValueError(
                f"{source}: column {index + 1}{called} is chosen twice (as {first!r} and "
                f"{column!r}); choose each column once"
            )
        indices.append(index)
    return indices


def _index_of_name(name, names, source):
    """Return the 0-based index of the header cell ``name``, which must be there once."""
    found = [index for index, each in enumerate(names) if each == name]
    if not found:
        raise ValueError(f"{source} has no column named {name!r} (its columns: {', '.join(map(repr, names))})")
    if len(found) > 1:
        raise ValueError(
            f"{source}: the header names {name!r} {len(found)} times (columns "
            f"{', '.join(str(index + 1) for index in found)}); pick one by 0-based index"
        )
    return found[0]

"""The memory budget of a streamed fit: its default, its units, and how it splits into chunks and labels.

This module imports no TensorFlow, so that the command line's ``--help`` can read it.
A budget bounds what a fit over data on disk holds beyond TensorFlow itself: the chunk
buffers and the labels. When the labels of every row do not fit beside the chunks, they
live in a scratch file (``kmeans_tf.stream.streamed``); the chunks take most of the room the
labels leave.
"""

import dataclasses
import os
import re

# Sizes as the command line writes them: decimal (kB, MB, GB, TB) and binary (KiB, MiB, GiB, TiB) units.
UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
SIZE_EXAMPLES = "512MB, 2GiB or 1000000 (bytes)"
# The smallest budget: it holds two chunks of a few thousand rows.
MIN_MEMORY_BUDGET = 2**20
# The default budget: this fraction of the machine's physical memory.
DEFAULT_BUDGET_FRACTION = 0.25
# The labels take their room first (none when they are in a scratch file); then each of the two
# chunk buffers (one read while the other is computed, with the labels and sums of a chunk) takes
# this share of the rest, within [MIN_CHUNK_BYTES, MAX_CHUNK_BYTES]. Each chunk costs about 0.1 ms
# besides its rows (a call of the kernel, its threads' start and finish), so fewer, larger chunks
# make a faster pass.
CHUNK_SHARE_OF_THE_REST = 3 / 8
# A chunk buffer takes at least this fraction of the budget: the labels are held in memory when
# they fit beside two such chunks.
CHUNK_BUDGET_FRACTION = 1 / 8
MIN_CHUNK_BYTES = 2**17
MAX_CHUNK_BYTES = 8 * 2**20
# Chunks of at least this many rows are a multiple of it: the rows per block of the engine's
# column sums (prepare.CHUNK_ROWS), so that a file and the same array in memory give the same mean.
ALIGN_ROWS = 65536
# Bytes per row that a chunk holds besides its values: old and new labels (int64).
LABEL_BYTES = 8
CHUNK_EXTRA_BYTES_PER_ROW = 2 * LABEL_BYTES


def default_memory_budget():
    """Return about a quarter of this machine's physical memory, in bytes (1 GiB when unknown)."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 2**30
    return max(MIN_MEMORY_BUDGET, int(physical * DEFAULT_BUDGET_FRACTION))


def parse_size(text):
    """Return the bytes that ``text`` (``512MB``, ``2GiB``, ``1.5GB``, ``1000000``) says; ValueError otherwise."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    unit = match and match[2].lower()
    if not match or unit not in UNITS:
        raise ValueError(f"{text!r} is not a size; write it as {SIZE_EXAMPLES}")
    return int(float(match[1]) * UNITS[unit])


def describe_size(n_bytes):
    """Return a size in the largest binary unit that keeps it >= 1 (``512.0 MiB``)."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.1f} {unit}"
    return f"{n_bytes} bytes"


@dataclasses.dataclass(frozen=True)
class Plan:
    """How a streamed pass holds its data within a budget.

    Attributes
    ----------
    chunk_rows : int, rows per chunk read from disk
    labels_in_memory : bool, whether the labels of every row fit (else: a scratch file)
    """

    chunk_rows: int
    labels_in_memory: bool


def plan(n_rows, row_bytes, budget, label_sets=1):
    """Split ``budget`` bytes into chunks of rows (``row_bytes`` each) and, if they fit, ``label_sets`` labels.

    A fit of several runs holds two sets of labels: the best run's and the current one's.
    The labels fit when they do beside two chunks of ``CHUNK_BUDGET_FRACTION`` of the budget;
    then the chunks take ``CHUNK_SHARE_OF_THE_REST`` each of what the labels leave.
    """
    label_bytes = label_sets * n_rows * LABEL_BYTES
    smallest = _chunk_rows(n_rows, row_bytes, budget * CHUNK_BUDGET_FRACTION)
    labels_in_memory = 2 * smallest * (row_bytes + CHUNK_EXTRA_BYTES_PER_ROW) + label_bytes <= budget
    rest = budget - label_bytes if labels_in_memory else budget
    return Plan(max(smallest, _chunk_rows(n_rows, row_bytes, rest * CHUNK_SHARE_OF_THE_REST)), labels_in_memory)


def _chunk_rows(n_rows, row_bytes, chunk_bytes):
    """The rows of a chunk of about ``chunk_bytes`` (within [MIN_CHUNK_BYTES, MAX_CHUNK_BYTES]), at most ``n_rows``."""
    chunk_bytes = min(MAX_CHUNK_BYTES, max(MIN_CHUNK_BYTES, int(chunk_bytes)))
    chunk_rows = max(1, chunk_bytes // (row_bytes + CHUNK_EXTRA_BYTES_PER_ROW))
    if chunk_rows >= ALIGN_ROWS:
        chunk_rows -= chunk_rows % ALIGN_ROWS
    return min(chunk_rows, n_rows)

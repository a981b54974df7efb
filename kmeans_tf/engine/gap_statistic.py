"""The gap statistic (Tibshirani, Walther and Hastie 2001): k-means on the data against k-means on reference sets.

A reference set is data drawn without cluster structure: rows uniform in the box of the data's
principal axes (the paper's second reference), or, for sparse rows, the data's stored values moved
to columns drawn at random. The gap at k is the mean log inertia of k-means on the reference sets
less the log inertia on the data; its standard error is the reference log inertias' standard
deviation times sqrt(1 + 1/B), for B sets.

Each path of the data (in memory, sparse, streamed from disk) draws a reference set where it
keeps its rows; ``elbow``'s row classes do so through ``reference_set`` (see ``ReferenceSets``).
"""

import contextlib
import dataclasses
import os
import tempfile

import numpy as np

from kmeans_tf.engine.kmeans import kmeans


@dataclasses.dataclass(frozen=True)
class PrincipalBox:
    """The box of the data's principal axes: their mean, the axes (rows) and the rows' bounds along each."""

    mean: np.ndarray
    axes: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def measure(cls, chunks):
        """Measure the box of the rows that ``chunks()`` yields a block at a time (two passes), in float64.

        The axes are the eigenvectors of the scatter matrix.
        """
        n_rows, total = 0, 0.0
        for rows in chunks():
            n_rows, total = n_rows + len(rows), total + rows.sum(axis=0, dtype=np.float64)
        mean = total / n_rows
        scatter = 0.0
        for rows in chunks():
            centred = rows - mean
            scatter = scatter + centred.T @ centred
        axes = np.linalg.eigh(scatter)[1].T
        low, high = np.full(len(axes), np.inf), np.full(len(axes), -np.inf)
        for rows in chunks():
            projected = (rows - mean) @ axes.T
            low, high = np.minimum(low, projected.min(axis=0)), np.maximum(high, projected.max(axis=0))
        return cls(mean, axes, low, high)

    def draw(self, random, out, chunk_rows):
        """Fill ``out`` with rows uniform in the box, ``chunk_rows`` at a time: the same rows for any ``chunk_rows``."""
        for start in range(0, len(out), chunk_rows):
            block = out[start : start + chunk_rows]
            block[...] = random.uniform(self.low, self.high, size=(len(block), len(self.low))) @ self.axes + self.mean


@contextlib.contextmanager
def drawn_in_memory(box, random, shape, dtype, chunk_rows):
    """Yield a reference set drawn in ``box``, an array in memory."""
    drawn = np.empty(shape, dtype)
    box.draw(random, drawn, chunk_rows)
    yield drawn


@contextlib.contextmanager
def drawn_on_disk(box, random, shape, dtype, chunk_rows):
    """Yield a reference set drawn in ``box``, a ``.npy`` memory map in the temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="kmeans-tf-reference-") as folder:
        path = os.path.join(folder, "reference.npy")
        drawn = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        box.draw(random, drawn, chunk_rows)
        drawn.flush()
        del drawn
        yield np.load(path, mmap_mode="r")


@contextlib.contextmanager
def columns_shuffled(rows, random):
    """Yield a sparse reference set: the stored values of ``rows``, each moved to a column drawn from theirs.

    Each row keeps its values and the columns keep their shares of the stored values; a box drawn
    dense would not fit where sparse rows are the point.
    """
    columns = rows.indices[random.randint(0, max(rows.nnz, 1), size=rows.nnz)]
    drawn = type(rows)((rows.data.copy(), columns, rows.indptr.copy()), shape=rows.shape)
    drawn.sum_duplicates()
    yield drawn


class ReferenceSets:
    """The gap statistic's reference sets of some rows, one seed each.

    ``rows`` is one of ``elbow``'s row classes: ``rows.box()`` measures the box (None for sparse
    rows) and ``rows.reference_set(box, random)`` yields a set drawn from a ``RandomState``. A set is
    drawn again for each k, so that one is held at a time.
    """

    def __init__(self, rows, seeds):
        self.rows, self.seeds, self.box = rows, seeds, rows.box()

    def gap(self, k, inertia, fit_options):
        """Return the gap at ``k`` of the data's ``inertia``, and its standard error, from k-means on every set."""
        inertias = []
        for seed in self.seeds:
            with self.rows.reference_set(self.box, np.random.RandomState(seed)) as drawn:
                inertias.append(kmeans(drawn, k, **fit_options).inertia)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(inertias)
            return float(logs.mean() - np.log(inertia)), float(logs.std() * np.sqrt(1 + 1 / len(self.seeds)))


def seeds(seed, count):
    """The seeds of ``count`` reference sets, drawn from ``seed`` (at random when None)."""
    return np.random.SeedSequence(seed).generate_state(count)

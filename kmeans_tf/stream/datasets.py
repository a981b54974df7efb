"""A ``tf.data.Dataset`` of float batches, streamed as a memory map is: ``DatasetRows`` and its ``DatasetSource``.

``kmeans_tf.kmeans``, ``predict`` and ``inertia`` take a finite ``tf.data.Dataset`` whose
elements are batches of rows, float32 or float64 tensors of shape (rows, n_features), or
``DatasetRows(dataset, feature=NAME)`` for elements that are dicts of such tensors. The
dataset is one more streamed source (``sources.Source``'s interface): the passes of
``kmeans_tf.stream.streamed`` read it a chunk of rows at a time, whatever its batches, and
give the answer of the same rows in a memory map. Nothing the size of the data is held
beyond what a memory map's fit holds (the labels, in memory or in a scratch file).

A dataset has no index: each pass iterates it again from its first batch, and a pass that
needs rows by index (``take``: "random" seeding, k-means++ on its sample, an empty cluster's
farthest rows) reads up to the last of them. The first pass counts the rows and columns, and
every pass checks what it reads: the same width in every batch, 2-D float batches, and as
many rows as the first pass counted. The rows must be the same on every pass, in the same order
(no reshuffling, no random augmentation): a pass cannot tell other rows of the same count.
"""

import itertools

import numpy as np

from kmeans_tf._tensorflow import tf
from kmeans_tf.stream import sources

# The float dtypes a dataset's batches may hold; the fit keeps it.
FLOAT_DTYPES = (tf.float32, tf.float64)
SAME_ROWS_RULE = "a dataset must yield the same rows, in the same order, on every pass"


class Batches:
    """Rows read in order, a batch at a time, pass after pass: what ``DatasetSource`` reads.

    A kind of batches sets ``name`` (for messages) and ``dtype`` (float32 or float64), and
    ``batches()`` yields one pass's batches, each through ``checked``. ``where`` may name a
    row by the file it comes from.
    """

    name = "dataset"
    dtype = np.dtype(np.float64)
    shape = None  # (rows, columns), once a pass has counted them
    width = None  # the first batch's columns

    def batches(self):
        """Yield each batch's rows (a 2-D numpy array, this width and dtype), in order: one pass."""
        raise NotImplementedError

    def checked(self, rows, where):
        """Return ``rows`` (those of the batch ``where`` names) when 2-D and of the first batch's width."""
        if rows.ndim != 2:
            raise ValueError(f"{self.name}: {where} has shape {rows.shape}; batches should be 2-D (rows, n_features)")
        if self.width is None:
            self.width = rows.shape[1]
        elif rows.shape[1] != self.width:
            raise ValueError(
                f"{self.name}: {where} has shape {rows.shape}, the first batch {self.width} columns; "
                f"every batch should have as many"
            )
        return rows

    def counted(self):
        """Return ``shape``: (rows, columns), counted by one pass the first time; ValueError for no rows."""
        if self.shape is None:
            n_rows = sum(len(rows) for rows in self.batches())
            if n_rows == 0 or not self.width:
                raise ValueError(
                    f"{self.name} should have at least one row and one column, got shape {(n_rows, self.width or 0)}"
                )
            self.shape = (n_rows, self.width)
        return self.shape

    def where(self, row):
        """Return ``(name, row)``: how messages point at a row of the data set, counted from 0."""
        return self.name, row


def elements(dataset, unreadable):
    """Yield the elements of ``dataset``; ValueError ``unreadable(elements read, TensorFlow's message)`` when
    TensorFlow cannot read the next one (a file cut short, a failed ``map``)."""
    iterator = iter(dataset)
    for count in itertools.count():
        try:
            element = next(iterator)
        except StopIteration:
            return
        except tf.errors.OpError as error:
            raise ValueError(unreadable(count, tf_message(error))) from None
        yield element


class DatasetRows(Batches):
    """The rows of a finite ``tf.data.Dataset`` of float batches, read in order, pass after pass.

    ``kmeans_tf.kmeans``, ``predict`` and ``inertia`` stream it as they do a memory map.

    Parameters
    ----------
    dataset : tf.data.Dataset
        Finite; each element a float32 or float64 tensor of shape (rows, n_features), the
        same n_features in every batch (rows may differ), or a dict of such tensors.
    feature : str or None, default=None
        The key of the dict whose tensors are the rows; None: the elements are the rows.
    name : str, default="dataset", the dataset's name in error messages
    """

    def __init__(self, dataset, *, feature=None, name="dataset"):
        self.name = name
        if not isinstance(dataset, tf.data.Dataset):
            raise ValueError(f"{name} should be a tf.data.Dataset, got {type(dataset).__name__}")
        if int(dataset.cardinality()) == tf.data.INFINITE_CARDINALITY:
            raise ValueError(
                f"{name} is infinite (its cardinality is tf.data.INFINITE_CARDINALITY); give a finite dataset "
                f"(without repeat(), or with take(n))"
            )
        spec = dataset.element_spec
        if isinstance(spec, dict):
            if feature is None:
                raise ValueError(
                    f"{name} yields dicts of {sorted(spec)}; choose the rows' feature with "
                    f"kmeans_tf.DatasetRows(dataset, feature=NAME)"
                )
            if feature not in spec:
                raise ValueError(f"{name} has no feature {feature!r}; its elements hold {sorted(spec)}")
            spec, dataset = spec[feature], dataset.map(lambda element: element[feature])
        elif feature is not None:
            raise ValueError(f"feature={feature!r} chooses a key of dict elements, but {name} yields {spec}")
        if not isinstance(spec, tf.TensorSpec):
            raise ValueError(f"{name} should yield tensors of shape (rows, n_features), got {spec}")
        if spec.dtype not in FLOAT_DTYPES:
            raise ValueError(f"{name} should yield float32 or float64 batches, got {spec.dtype.name}")
        if spec.shape.rank is not None and spec.shape.rank != 2:
            raise ValueError(
                f"{name} should yield 2-D batches (rows, n_features), got elements of shape {tuple(spec.shape)}; "
                f"batch the rows with dataset.batch(n)"
            )
        self.dataset, self.feature = dataset, feature
        self.dtype = np.dtype(spec.dtype.as_numpy_dtype)

    def __repr__(self):
        return f"DatasetRows({self.name!r}, feature={self.feature!r})"

    def batches(self):
        """Yield each batch's rows, in order: one pass over the dataset."""

        def unreadable(number, why):
            return f"{self.name}: batch {number} cannot be read: {why}"

        for number, batch in enumerate(elements(self.dataset, unreadable)):
            yield self.checked(batch.numpy(), f"batch {number}")


def tf_message(error):
    """The first line of a TensorFlow error's message, less the op's name that TensorFlow adds."""
    message = error.message.split("\n")[0]
    return message.split("}}", 1)[-1].split(" [Op:")[0].strip()


def is_dataset(samples):
    """Whether ``samples`` are a ``tf.data.Dataset`` or ``Batches`` (``DatasetRows``): streamed, a batch at a time."""
    return isinstance(samples, (tf.data.Dataset, Batches))


class DatasetSource:
    """``sources.Source``'s interface over ``Batches`` (``DatasetRows``): chunks read in order, a pass from the start.

    A read continues the pass under way when its rows come later; otherwise a new pass starts.
    The chunks of one pass are read one after another (``sources.chunks``' reader thread).
    """

    sharded = False
    columns = None
    files = (None,)  # no file: the column sums read it by ``blocks``

    def __init__(self, samples, name="dataset"):
        self.rows = samples if isinstance(samples, Batches) else DatasetRows(samples, name=name)
        self.name, self.dtype = self.rows.name, self.rows.dtype
        self.n_rows, self.n_features = self.rows.counted()
        self._pass = None

    @property
    def row_bytes(self):
        return self.n_features * self.dtype.itemsize

    def spans(self, chunk_rows):
        """Return the chunks of at most ``chunk_rows`` rows that cover the data set."""
        return [
            sources.Span(start, min(chunk_rows, self.n_rows - start), 0, start)
            for start in range(0, self.n_rows, chunk_rows)
        ]

    def read(self, span, out, transform=None):
        """Write the rows of ``span`` into ``out``, through ``transform`` (as ``sources.Source.read``)."""
        if self._pass is None or span.start < self._pass.position:
            self._pass = Pass(self.rows, self.n_rows)
        self._pass.skip(span.start - self._pass.position)
        self._pass.fill(out)
        if transform is not None:
            transform(out, out)
        if span.start + span.rows == self.n_rows:
            self._pass.finish()
            self._pass = None

    def blocks(self, rows):
        """Yield the data set in blocks of at most ``rows`` rows, each valid until the next (read ahead by a thread)."""
        for _, block in sources.chunks(self, rows):
            yield block

    def take(self, indices):
        """Return the rows at ``indices`` (ints, any order), read by one pass up to the last of them."""
        indices = np.asarray(indices, np.int64)
        out = np.empty((len(indices), self.n_features), self.dtype)
        order = np.argsort(indices, kind="stable")
        wanted = indices[order]
        block_rows = max(1, sources.STAGING_BYTES // self.row_bytes)
        block = np.empty((min(block_rows, self.n_rows), self.n_features), self.dtype)
        for span in self.spans(block_rows):
            if not len(wanted) or span.start > wanted[-1]:
                break
            first, last = np.searchsorted(wanted, [span.start, span.start + span.rows])
            if first == last:
                continue  # the next read skips these rows
            self.read(span, block[: span.rows])
            out[order[first:last]] = block[wanted[first:last] - span.start]
        return out

    def position(self, span, row, column, first_row=0, by_file=False):
        """Return ``(name, row, column)``: how messages point at a cell of the chunk ``span`` (from 0)."""
        name, at_row = self.rows.where(span.start + row)
        return name, first_row + at_row, column

    def changed(self, span, chunk):
        """Return the ValueError of rows found not finite after the door found them finite (``chunk``: ``span``'s)."""
        bad = np.argwhere(~np.isfinite(chunk))
        if len(bad):
            name, row, column = self.position(span, *bad[0])
            why = f"it now holds {chunk[tuple(bad[0])]} at row {row}, column {column}"
        else:
            name, why = self.position(span, 0, 0)[0], "its rows no longer add up to finite sums"
        return ValueError(f"{name} yielded other rows on a later pass ({why}); {SAME_ROWS_RULE}")

    def changed_rows(self, indices, rows):
        """``changed`` for ``rows``, read by ``take(indices)``."""
        here = np.flatnonzero(~np.isfinite(rows).all(axis=1))[0]
        return self.changed(sources.Span(int(indices[here]), 1, 0, int(indices[here])), rows[here : here + 1])


class Pass:
    """One pass over ``Batches``: the rows handed out so far, and the rest of the current batch."""

    def __init__(self, rows, n_rows):
        self.rows, self.n_rows, self.position = rows, n_rows, 0
        self.batches = rows.batches()
        self.pending = np.empty((0, rows.width), rows.dtype)

    def _next_rows(self, count):
        """Return the next rows of the pass, at most ``count`` (a view of one batch); ValueError if it ended."""
        while not len(self.pending):
            self.pending = next(self.batches, None)
            if self.pending is None:
                raise ValueError(
                    f"{self.rows.name} ended after {self.position} rows on a later pass, where its first pass "
                    f"counted {self.n_rows}; {SAME_ROWS_RULE}"
                )
        rows, self.pending = self.pending[:count], self.pending[count:]
        self.position += len(rows)
        return rows

    def skip(self, count):
        """Pass over the next ``count`` rows."""
        while count:
            count -= len(self._next_rows(count))

    def fill(self, out):
        """Copy the next ``len(out)`` rows into ``out``."""
        filled = 0
        while filled < len(out):
            rows = self._next_rows(len(out) - filled)
            out[filled : filled + len(rows)] = rows
            filled += len(rows)

    def finish(self):
        """Check, once the pass has handed out every row counted, that the dataset has no more."""
        if len(self.pending) or any(len(rows) for rows in self.batches):
            raise ValueError(
                f"{self.rows.name} yielded more rows on a later pass than the {self.n_rows} its first pass counted; "
                f"{SAME_ROWS_RULE}"
            )

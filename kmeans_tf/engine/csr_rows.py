"""Sparse rows as TensorFlow sees them: ``CsrRows``, scipy's compressed sparse rows in four tensors.

The kernel takes sparse samples in this layout: the C kernel's sparse ops read it as it is,
and TensorFlow's ops (``tf_ops``) read its non-zeros through ``row_ids`` and ``columns``, or
as a ``tf.SparseTensor`` (``to_sparse``) where an op wants one. Against a ``tf.SparseTensor``'s
two int64 indices per non-zero, a non-zero costs one int32 column here: a quarter of the
memory, and no index array to build from a scipy matrix. ``from_scipy`` copies a scipy
matrix's arrays into tensors any op may read; ``in_place`` makes tensors over the arrays
themselves, which the C kernel's ops alone may read.
"""

import numpy as np

from kmeans_tf._tensorflow import tf

# The columns are int32: a sparse matrix of this many columns or more is refused.
MAX_COLUMNS = 2**31 - 1
# The byte alignment TensorFlow's CPU kernels require of a tensor's buffer (Eigen's largest).
TENSOR_ALIGNMENT = 64


class CsrRows(tf.experimental.ExtensionType):
    """Rows by their non-zeros: row ``i``'s are entries ``row_starts[i]`` up to ``row_starts[i + 1]``.

    row_starts : int64 vector of n_rows + 1 entries, from 0 to nnz, never decreasing
    columns : int32 vector of nnz entries, increasing within each row
    values : float32 or float64 vector of nnz entries
    n_columns : int64 scalar, the rows' width
    """

    row_starts: tf.Tensor
    columns: tf.Tensor
    values: tf.Tensor
    n_columns: tf.Tensor

    def __validate__(self):
        kinds = (self.row_starts.dtype, self.columns.dtype, self.n_columns.dtype)
        if kinds != (tf.int64, tf.int32, tf.int64) or self.dtype not in (tf.float32, tf.float64):
            raise TypeError(
                "CsrRows takes int64 row_starts, int32 columns, float32 or float64 values and an int64 n_columns, "
                f"not {', '.join(kind.name for kind in (*kinds[:2], self.dtype, kinds[2]))}"
            )

    @property
    def dtype(self):
        return self.values.dtype

    def n_rows(self):
        """The number of rows (int32)."""
        return tf.shape(self.row_starts)[0] - 1

    def row_ids(self):
        """Each non-zero's row (int64), in order."""
        counts = self.row_starts[1:] - self.row_starts[:-1]
        return tf.repeat(tf.range(tf.size(counts, out_type=tf.int64)), counts)

    def to_sparse(self):
        """The same rows as a ``tf.SparseTensor`` (canonical row-major order)."""
        indices = tf.stack([self.row_ids(), tf.cast(self.columns, tf.int64)], axis=1)
        shape = tf.stack([tf.cast(self.n_rows(), tf.int64), self.n_columns])
        return tf.SparseTensor(indices, self.values, shape)

    def rows(self, start, size):
        """Rows ``start`` up to ``start + size`` (int32 scalars; fewer at the end), as ``CsrRows``."""
        stop = tf.minimum(start + size, self.n_rows())
        starts = self.row_starts[start : stop + 1]
        first, last = starts[0], starts[-1]
        return CsrRows(starts - first, self.columns[first:last], self.values[first:last], self.n_columns)


def from_scipy(rows):
    """``CsrRows`` of a canonical scipy CSR matrix (sorted columns, no duplicates), its arrays copied once into
    tensors."""
    return _csr_rows(rows, tensor_of)


def in_place(rows):
    """``CsrRows`` of a canonical scipy CSR matrix that read its columns and values where they lie, with no copy.

    Arrays that cannot be read so (read-only, not contiguous, or columns not int32) are copied,
    as ``from_scipy`` copies them. The tensors keep the arrays alive; nothing may write to them
    while the tensors live. Only the C kernel's ops may read these tensors, and with their
    ``exponents`` given (else TensorFlow's ops measure the units): TensorFlow's own kernels abort
    the process on a buffer that is not aligned to ``TENSOR_ALIGNMENT`` bytes, as the caller's
    arrays mostly are not (``Kernel.readable`` copies them for those). ``kmeans`` gives them to
    its loop alone.
    """
    return _csr_rows(rows, _over)


def _csr_rows(rows, tensor):
    """``CsrRows`` of ``rows`` (canonical CSR), its columns and values made tensors by ``tensor``."""
    if rows.shape[1] > MAX_COLUMNS:
        raise ValueError(f"sparse rows of {rows.shape[1]} columns: at most {MAX_COLUMNS} are supported")
    return CsrRows(
        tf.constant(rows.indptr.astype(np.int64, copy=False)),
        tensor(rows.indices.astype(np.int32, copy=False)),
        tensor(rows.data),
        tf.constant(rows.shape[1], tf.int64),
    )


def _over(array):
    """A tensor over the 1-D ``array``'s own memory (DLPack) where it can be, else over a copy (``tensor_of``)."""
    if array.flags.c_contiguous and array.flags.writeable:
        return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
    return tensor_of(array)


def tensor_of(array):
    """A tensor holding a copy of the 1-D ``array``, made once (``tf.constant`` holds two copies of a large array).

    The copy is aligned as TensorFlow's kernels expect and handed over through DLPack: the
    tensor keeps it alive, and frees it with itself.
    """
    raw = np.empty(array.nbytes + TENSOR_ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % TENSOR_ALIGNMENT
    copy = raw[start : start + array.nbytes].view(array.dtype)
    copy[...] = array
    return tf.experimental.dlpack.from_dlpack(copy.__dlpack__())


def from_sparse(sparse):
    """``CsrRows`` of a ``tf.SparseTensor`` in canonical row-major order (``tf.sparse.reorder``'s, no duplicates)."""
    rows, n_rows = sparse.indices[:, 0], sparse.dense_shape[0]
    counts = tf.math.unsorted_segment_sum(tf.ones_like(rows), rows, n_rows)
    row_starts = tf.concat([tf.zeros([1], tf.int64), tf.cumsum(counts)], axis=0)
    return CsrRows(row_starts, tf.cast(sparse.indices[:, 1], tf.int32), sparse.values, sparse.dense_shape[1])


def spec(dtype):
    """The ``tf.TypeSpec`` of ``CsrRows`` of ``dtype`` values, of any shape: a traced function's input signature."""
    return CsrRows.Spec(
        row_starts=tf.TensorSpec([None], tf.int64),
        columns=tf.TensorSpec([None], tf.int32),
        values=tf.TensorSpec([None], dtype),
        n_columns=tf.TensorSpec([], tf.int64),
    )

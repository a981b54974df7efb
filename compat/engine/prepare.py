"""The data's way into the engine: column sums, centring, squared norms, and a tensor over the buffer.

The functions work a chunk of rows at a time, so no temporary the size of the data is made
besides the one centred copy, and they assume checked input (``compat.engine.validation``).
"""
import numpy as np

from compat._tensorflow import tf

# Rows per chunk of the numpy passes over the data.
CHUNK_ROWS = 65536
# TensorFlow requires a tensor's memory to start on a 64-byte boundary (EIGEN_MAX_ALIGN_BYTES).
TENSOR_ALIGNMENT = 64


def column_sums(samples):
    """Return the column sums in float64, a chunk of rows at a time (no copy of the data).

    einsum, not BLAS: OpenBLAS's threads spin for a while after a call, and on a small
    machine that takes a core from the k-means loop that follows.
    """
    total = np.zeros(samples.shape[1])
    for start in range(0, len(samples), CHUNK_ROWS):
        total += np.einsum("ij->j", samples[start:start + CHUNK_ROWS])
    return total


def squared_norms(samples):
    """Return each row's squared norm (float64), computed a chunk of rows at a time."""
    norms = np.empty(len(samples))
    for start in range(0, len(samples), CHUNK_ROWS):
        chunk = samples[start:start + CHUNK_ROWS]
        norms[start:start + CHUNK_ROWS] = np.einsum("ij,ij->i", chunk, chunk)
    return norms


def centred(samples, mean):
    """Return ``samples - mean`` in a new buffer aligned for TensorFlow (the engine's one copy of the data)."""
    return np.subtract(samples, mean.astype(samples.dtype), out=aligned_like(samples))


def aligned_like(array):
    """Return an uninitialised C-contiguous array like ``array`` that starts on a TENSOR_ALIGNMENT boundary."""
    raw = np.empty(array.nbytes + TENSOR_ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % TENSOR_ALIGNMENT
    return raw[start:start + array.nbytes].view(array.dtype).reshape(array.shape)


def tensor_over(array):
    """Return a tensor that shares ``array``'s memory, with no copy (``array`` from ``aligned_like``).

    The tensor keeps the array alive; nothing may write to the array afterwards.
    """
    return tf.experimental.dlpack.from_dlpack(array.__dlpack__())

"""Sums that come out the same in any order: fixed point, carried in float64 limbs.

A float64 sum depends on the order of its terms, so rows split another way (threads,
chunks, shards, workers) would give other cluster sums in the last bits, other centroids,
now and then another label, and runs that part. Here every term is first rounded to an
integer number of units, ``rint(value * 2**exponent)``, where the exponent is fixed once per
fit from the largest magnitude the terms can have (``exponents``): then the sum is an
integer, exact, whatever the order, and so are its float64 limbs, whose addition is exact
too (an all-reduce, the running sums of a fit). A term keeps ``VALUE_BITS`` bits below the
largest magnitude, which is finer than a float64 sum's own rounding.

An exact sum is a float64 array with a last axis of ``LIMBS`` limbs: its value is
``limbs[..., 0] + limbs[..., 1] * 2**26 + limbs[..., 2] * 2**52`` units, each limb an
integer. ``normalized`` carries the low limbs into [0, 2**26), which makes the limbs of a
value unique; ``value`` turns normalized limbs into float64 (the units divided out). Limbs of
at most 2**26 in magnitude add up exactly in float64 more than 2**26 times over.

A value is multiplied by ``2**exponent`` as two factors (``factors``): an exponent past
float64's range (the units of a column of subnormal numbers) still scales exactly.

The numpy functions serve the data's preparation (column sums, the spread); the ``tf_``
ones the kernels and the M-step, inside the loops' graphs. The C kernel makes the same
integers, with the same rounding (to nearest, ties to even).
"""

import numpy as np

from kmeans_tf._tensorflow import tf

VALUE_BITS = 54  # a term times its units is at most 2**54 in magnitude: a float64 near the bound keeps every bit
LIMB_BITS = 26
LIMBS = 3
_BASE = float(2**LIMB_BITS)
FACTOR_EXPONENT = 1000  # each of the two factors of 2**exponent is at most 2**1000
_LOWEST_EXPONENT, _HIGHEST_EXPONENT = -2000, 2000
# Rows per numpy chunk: far fewer than the 2**25 terms (each below 2**28) a float64 limb sums exactly.
CHUNK_ROWS = 65536


def exponents(bounds):
    """The exponent per bound (float64, >= 0) whose power of two brings a term of at most that magnitude within
    2**VALUE_BITS (float64 integers)."""
    _, found = np.frexp(np.asarray(bounds, np.float64))
    return np.clip(VALUE_BITS - found, _LOWEST_EXPONENT, _HIGHEST_EXPONENT).astype(np.float64)


def factors(exponent):
    """Two powers of two whose product is ``2**exponent`` (numpy), each within float64's range."""
    exponent = np.asarray(exponent, np.float64)
    first = np.clip(exponent, -FACTOR_EXPONENT, FACTOR_EXPONENT)
    return np.ldexp(1.0, first.astype(np.int64)), np.ldexp(1.0, (exponent - first).astype(np.int64))


def units_of(values, exponent):
    """``rint(values * 2**exponent)`` (numpy), the two factors in turn, as the kernels multiply."""
    first, second = factors(exponent)
    return np.rint(np.asarray(values, np.float64) * first * second)


def sum_exponents(column_bounds, largest_weight=1.0):
    """The kernels' ``exponents``: one per column, for weight times value, and last the weights' own.

    ``column_bounds``: the largest magnitude each column can have in the loops' coordinates;
    ``largest_weight``: the largest sample weight (1 without weights).
    """
    column_bounds = np.asarray(column_bounds, np.float64)
    return np.append(exponents(column_bounds * largest_weight), exponents(largest_weight))


def normalized(limbs):
    """Carry each low limb into [0, 2**26) (numpy): the unique limbs of the same value."""
    limbs = np.array(limbs, np.float64)
    for limb in range(LIMBS - 1):
        carry = np.floor(limbs[..., limb] / _BASE)
        limbs[..., limb] -= carry * _BASE
        limbs[..., limb + 1] += carry
    return limbs


def value(limbs, exponent):
    """The float64 value of normalized ``limbs`` counted in units of ``2**-exponent`` (numpy)."""
    limbs = np.asarray(limbs, np.float64)
    units = (limbs[..., 2] * _BASE + limbs[..., 1]) * _BASE + limbs[..., 0]
    first, second = factors(exponent)
    return units / first / second


def column_sums(samples, column_exponents):
    """The exact column sums of ``samples`` (rows of a 2-D array, or a chunk iterator's arrays), as normalized limbs.

    Each value counts as ``units_of(value, column_exponents)`` units; the result's shape is (n_features, LIMBS).
    """
    blocks = (samples[start : start + CHUNK_ROWS] for start in range(0, len(samples), CHUNK_ROWS))
    return sum_blocks(blocks, column_exponents, len(column_exponents))


def sum_blocks(blocks, column_exponents, n_features):
    """``column_sums`` over an iterable of 2-D blocks of rows (each of at most CHUNK_ROWS rows)."""
    total = np.zeros((n_features, LIMBS))
    for block in blocks:
        total = normalized(total + block_sums(block, column_exponents))
    return total


def block_sums(block, column_exponents):
    """The column sums of one block of at most CHUNK_ROWS rows, as (unnormalized) limbs."""
    units = units_of(block, column_exponents)
    high = np.floor(units / _BASE)
    low = units - high * _BASE
    sums = np.zeros((block.shape[1], LIMBS))
    sums[:, 0] = np.einsum("ij->j", low)
    sums[:, 1] = np.einsum("ij->j", high)
    return sums


def vector_sum(values, exponent):
    """The exact sum of a vector, each value counted as ``units_of(value, exponent)`` units: limbs (LIMBS,)."""
    return column_sums(np.asarray(values, np.float64).reshape(-1, 1), np.array([exponent]))[0]


def total(values, exponent):
    """``vector_sum`` as a float64."""
    return float(value(vector_sum(values, exponent), exponent))


def add(*sums):
    """The exact sum of several exact sums (numpy), normalized."""
    return normalized(np.sum(sums, axis=0))


# TensorFlow's ops, for the kernels and the M-step.


def tf_factors(exponent):
    """``factors`` in TensorFlow's ops."""
    first = tf.clip_by_value(exponent, -FACTOR_EXPONENT, FACTOR_EXPONENT)
    two = tf.constant(2.0, tf.float64)
    return tf.pow(two, first), tf.pow(two, exponent - first)


def tf_limbs(values, exponent):
    """Limbs (a last axis of LIMBS, the top one 0) of float64 ``values`` counted as ``units_of(values, exponent)``.

    Unnormalized: the low limb in [0, 2**26), the middle one the rest (below 2**28): sums of up to 2**25 of them
    stay exact.
    """
    first, second = tf_factors(exponent)
    units = tf.math.round(values * first * second)  # ties to even, as rint
    high = tf.math.floor(units / _BASE)
    return tf.stack([units - high * _BASE, high, tf.zeros_like(high)], axis=-1)


def tf_normalized(limbs):
    """``normalized`` in TensorFlow's ops."""
    parts = tf.unstack(limbs, LIMBS, axis=-1)
    for limb in range(LIMBS - 1):
        carry = tf.math.floor(parts[limb] / _BASE)
        parts[limb] = parts[limb] - carry * _BASE
        parts[limb + 1] = parts[limb + 1] + carry
    return tf.stack(parts, axis=-1)


def tf_value(limbs, exponent):
    """``value`` in TensorFlow's ops."""
    units = (limbs[..., 2] * _BASE + limbs[..., 1]) * _BASE + limbs[..., 0]
    first, second = tf_factors(exponent)
    return units / first / second


def tf_exponents_of(samples, weights):
    """``sum_exponents`` from the samples themselves (a tensor or ``CsrRows``) and their weights (a float64 vector,
    empty for none), in TensorFlow's ops (in a graph too).

    For a pass on its own (a test, a mini-batch step): sums made with other exponents do not add up.
    """
    if hasattr(samples, "row_starts"):  # CsrRows: each column's largest non-zero
        found = tf.math.unsorted_segment_max(
            tf.abs(tf.cast(samples.values, tf.float64)), samples.columns, tf.cast(samples.n_columns, tf.int32)
        )
    else:
        found = tf.reduce_max(tf.abs(tf.cast(samples, tf.float64)), axis=0)
    largest_weight = tf.cond(tf.size(weights) > 0, lambda: tf.reduce_max(weights), lambda: tf.constant(1.0, tf.float64))
    bounds = tf.concat([tf.maximum(found, 0) * largest_weight, [largest_weight]], 0)
    # frexp's exponent, from the bits of a normal float64 (0 for a bound of 0)
    bits = tf.bitwise.bitwise_and(tf.bitwise.right_shift(tf.bitcast(bounds, tf.int64), 52), 0x7FF)
    found_exponents = tf.where(bounds > 0, tf.cast(bits, tf.float64) - 1022, 0.0)
    return tf.clip_by_value(VALUE_BITS - found_exponents, _LOWEST_EXPONENT, _HIGHEST_EXPONENT)


def pass_exponents(exponents, samples, weights):
    """A kernel pass's ``exponents``: as given, or for None the samples' own (``tf_exponents_of``; ``weights`` a
    float64 vector, empty for none)."""
    return tf_exponents_of(samples, weights) if exponents is None else exponents


def pass_outputs(outputs, first, exponents, given):
    """A kernel pass's ``outputs``: as they are when ``exponents`` were given, else with the sums and counts (at
    ``first`` and the next) as float64 values in the ``given`` units (``tf_as_values``): a pass on its own."""
    return outputs if exponents is not None else tf_as_values(outputs, first, given)


def tf_as_values(outputs, first, exponents):
    """A pass's ``outputs`` with its exact sums and counts (at ``first`` and the next) as float64 values (sums of
    no columns, a sparse changes pass's, as an empty (n_clusters, 0))."""
    outputs = list(outputs)
    sums = outputs[first]
    outputs[first] = sums[..., 0] if sums.shape[-2] == 0 else tf_value(sums, exponents[:-1])
    outputs[first + 1] = tf_value(outputs[first + 1], exponents[-1])
    return tuple(outputs)

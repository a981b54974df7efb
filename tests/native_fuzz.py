"""Random inputs for the C kernel's raw ops, run in a child process by tests/test_native_fuzz.py.

``python -m tests.native_fuzz --seed S --cases N`` prints ``case I`` before running case I,
so that the parent can name the case that killed it. Each call either returns an answer,
checked here against numpy, or raises InvalidArgumentError (or TypeError/ValueError from
TensorFlow's own type checks); a wrong answer exits 1 with the case, a crash kills the child.
Half the cases give sample weights: valid ones (some 0), or of a wrong length, negative, NaN or infinite.
A third give the samples as ``CsrRows`` (the sparse ops), now and then with columns out of
order, duplicated or out of range, row starts out of order, or a width that is not the centroids'.
The sparse changes passes give no sums (an empty array), which ``cluster_sums`` gives whole
(``cluster_means``: over random divisors, now and then of a wrong length).
"""

import argparse
import sys

import numpy as np
import scipy.sparse

from kmeans_tf import native
from kmeans_tf._tensorflow import tf
from kmeans_tf.engine.csr_rows import CsrRows
from tests.cases import change_sums, squared_distances

REFUSALS = (tf.errors.InvalidArgumentError, TypeError, ValueError)
OPS = (
    "nearest_centroid_sums",
    "nearest_centroid_changes",
    "nearest_centroid_changes_bounded",
    "sum_squared_distances",
    "cluster_sums",
    "cluster_means",
)
# The ops given labels, and no bounds.
LABELLED = ("nearest_centroid_changes", "sum_squared_distances", "cluster_sums", "cluster_means")


def random_case(rng):
    """Return an op's name and its inputs: mostly valid, often not (shapes, dtypes, labels, bounds)."""
    op = OPS[rng.randint(len(OPS))]
    n_samples = int(rng.choice([0, 1, 5, 13, 64, 4500])) if rng.rand() < 0.9 else rng.randint(0, 300)
    n_features, n_clusters = rng.randint(0, 7), int(rng.choice([0, 1, 2, 3, 17, 40]))
    dtype = [np.float32, np.float64][rng.randint(2)]
    samples = rng.normal(0, 5, (n_samples, n_features)).astype(dtype)
    sparse = rng.rand() < 0.3
    if sparse:
        samples[rng.rand(n_samples, n_features) < 0.5] = 0
    centroids = rng.normal(0, 5, (n_clusters, n_features)).astype(dtype)
    if rng.rand() < 0.05:
        centroids = centroids.astype(np.float64 if dtype == np.float32 else np.float32)
    if rng.rand() < 0.05:
        samples = samples.reshape(-1) if rng.rand() < 0.5 else samples[None]
    if rng.rand() < 0.05:
        centroids = rng.normal(0, 5, (n_clusters, n_features + 1)).astype(dtype)
    upper = np.where(rng.rand(n_samples) < 0.5, np.inf, rng.uniform(0, 20, n_samples))
    labels = rng.randint(0, max(n_clusters, 1), n_samples).astype(np.int64)
    if op in OPS[1:3]:  # the changes passes: -1, no label yet (where the upper bound is infinite, for the bounded pass)
        labels[(rng.rand(n_samples) < 0.3) & ~np.isfinite(upper)] = -1
    if rng.rand() < 0.3 and n_samples:
        bad = rng.randint(n_samples, size=rng.randint(1, 4))
        labels[bad] = rng.randint(-(10**12), 10**12, size=len(bad), dtype=np.int64)
    if rng.rand() < 0.05:
        labels = labels[: max(n_samples - 1, 0)] if rng.rand() < 0.5 else np.append(labels, 0)
    inputs = {
        "samples": random_sparse(rng, samples) if sparse and samples.ndim == 2 else samples,
        "centroids": centroids,
    }
    if op in LABELLED:
        inputs["labels"] = labels
    if op == "cluster_means":
        divisors = rng.uniform(0.5, 3, n_clusters)
        inputs["divisors"] = divisors if rng.rand() < 0.95 else divisors[: rng.randint(0, n_clusters + 2)]
    if op == "nearest_centroid_changes_bounded":
        norms = (samples.astype(np.float64) ** 2).sum(axis=-1).reshape(-1)
        bounds = {"upper": upper, "lower": rng.uniform(0, 20, n_samples), "norms": norms}
        for name in bounds:
            if rng.rand() < 0.05:
                bounds[name] = bounds[name][: rng.randint(0, len(bounds[name]) + 1)]
        norm_bound = float(norms.max(initial=0)) + 100.0
        shape = [(), (), (), (0,), (1,), (5,)][rng.randint(6)]
        previous = centroids if rng.rand() < 0.9 else rng.normal(0, 5, (max(n_clusters - 1, 0), n_features))
        inputs.update(
            previous_centroids=previous,
            labels=labels,
            **bounds,
            norm_bound=np.full(shape, norm_bound) if shape else tf.constant(norm_bound, tf.float64),
        )
    if rng.rand() < 0.5:
        inputs["weights"] = random_weights(rng, n_samples)
    return op, inputs


def random_sparse(rng, samples):
    """The samples as ``CsrRows``: mostly valid, often not (order, duplicates, range, row starts, width)."""
    matrix = scipy.sparse.csr_matrix(samples)
    row_starts, columns, values = matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64), matrix.data
    n_columns = samples.shape[1]
    draw = rng.rand()
    if draw < 0.05 and len(columns) > 1:  # two non-zeros swapped
        i, j = rng.choice(len(columns), 2, replace=False)
        columns[[i, j]] = columns[[j, i]]
    elif draw < 0.1 and len(columns):  # a non-zero repeated in its row
        i = rng.randint(len(columns))
        columns, values = np.insert(columns, i, columns[i]), np.insert(values, i, values[i])
        row_starts[np.searchsorted(row_starts, i, side="right") :] += 1
    elif draw < 0.15 and len(columns):  # a column out of range
        columns[rng.randint(len(columns))] = [-1, 2**31 - 1, -(2**31), n_columns][rng.randint(4)]
    elif draw < 0.2 and len(row_starts) > 1:  # a row start out of order or past the end
        row_starts[rng.randint(len(row_starts))] = [-1, len(columns) + 1, 10**12][rng.randint(3)]
    elif draw < 0.25:
        n_columns += 1
    return CsrRows(
        tf.constant(row_starts),
        tf.constant(columns.astype(np.int32)),
        tf.constant(values),
        tf.constant(n_columns, tf.int64),
    )


def random_weights(rng, n_samples):
    """Sample weights: mostly valid (some 0; or shape (0,), every weight 1), often not (length, sign, NaN, infinity)."""
    weights = np.where(rng.rand(n_samples) < 0.2, 0.0, rng.uniform(0, 3, n_samples))
    draw = rng.rand()
    if draw < 0.1:
        return np.zeros(0)
    if draw < 0.2:
        return weights[: rng.randint(0, n_samples + 1)] if rng.rand() < 0.5 else np.append(weights, 1.0)
    if draw < 0.3 and n_samples:
        weights[rng.randint(n_samples)] = [-1.0, -1e-300, np.nan, np.inf, -np.inf][rng.randint(5)]
    if draw < 0.32:
        return weights[None]
    return weights


def check(op, inputs, outputs):
    """Check an answer against numpy; return what is wrong, or None."""
    samples, centroids = inputs["samples"], inputs["centroids"]
    if isinstance(samples, CsrRows):
        samples = tf.sparse.to_dense(samples.to_sparse()).numpy()
    n_clusters = len(centroids)
    weights = inputs.get("weights")
    weights = np.ones(len(samples)) if weights is None or not len(weights) else weights  # shape (0,): every weight 1
    outputs = [t.numpy() for t in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
    if op == "sum_squared_distances":
        expected = (((samples.astype(np.float64) - centroids[inputs["labels"]]) ** 2).sum(axis=-1) * weights).sum()
        return None if np.isclose(outputs[0], expected, rtol=1e-9, atol=1e-9) else f"inertia {outputs[0]} != {expected}"
    if op == "cluster_sums":
        expected = np.zeros(centroids.shape)
        np.add.at(expected, inputs["labels"], samples.astype(np.float64) * weights[:, None])
        return None if np.allclose(outputs[0], expected, rtol=1e-9, atol=1e-6) else "cluster sums differ from numpy"
    if op == "cluster_means":
        expected = np.zeros(centroids.shape)
        np.add.at(expected, inputs["labels"], samples.astype(np.float64) * weights[:, None])
        expected /= inputs["divisors"][:, None]
        given = inputs["samples"]  # the op's dtype is its first input's (numpy centroids are converted to it)
        dtype = given.values.dtype.as_numpy_dtype if isinstance(given, CsrRows) else given.dtype
        if outputs[0].dtype != dtype:
            return f"cluster means of dtype {outputs[0].dtype}, not the samples' {dtype}"
        return None if np.allclose(outputs[0], expected, rtol=1e-6, atol=1e-5) else "cluster means differ from numpy"
    labels = outputs[0]
    if labels.shape != (len(samples),) or not np.all((labels >= 0) & (labels < n_clusters)):
        return f"labels out of range: {labels}"
    if op != "nearest_centroid_changes_bounded":  # random bounds may hold a sample's label: any label is fair there
        distances = squared_distances(samples, centroids)
        nearest = distances.min(axis=1, initial=np.inf) if len(centroids) else distances
        scale = 1e-4 * (
            1 + (samples.astype(np.float64) ** 2).sum(axis=1) + (centroids.astype(np.float64) ** 2).sum(1).max()
        )
        if len(samples) and not np.all(distances[np.arange(len(samples)), labels] <= nearest + scale):
            return "a label is not the nearest centroid"
    old = inputs.get("labels", -np.ones(len(samples), np.int64))
    sums, counts, members = change_sums(samples, labels, old, n_clusters, weights)
    if isinstance(inputs["samples"], CsrRows) and op != "nearest_centroid_sums":
        sums = np.zeros((n_clusters, 0))  # sparse changes passes give no sums
    if op == "nearest_centroid_changes_bounded":
        *outputs, skipped = outputs  # last: how many labels the bounds proved
        if not 0 <= skipped <= np.count_nonzero(labels == old):
            return f"skipped {skipped} is not within [0, the labels kept]"
    got_sums, got_counts, got_members = outputs[-4:-1] if op != "nearest_centroid_sums" else outputs[1:]
    if not (
        np.allclose(got_sums, sums, rtol=1e-9, atol=1e-6)
        and np.allclose(got_counts, counts, rtol=1e-9, atol=1e-9)
        and np.array_equal(got_members, members)
    ):
        return "sums, counts or members differ from numpy"
    if op != "nearest_centroid_sums" and outputs[-1] != np.count_nonzero(labels != old):
        return f"changed {outputs[-1]} != {np.count_nonzero(labels != old)}"
    return None


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=int, default=300)
    options = parser.parse_args(argv)
    kernel = native.kernel()
    if kernel is None:
        print(f"the C kernel is not available: {native.description()}", file=sys.stderr)
        return 2
    answered = refused = 0
    for case in range(options.cases):
        print(f"case {case}", flush=True)
        op, inputs = random_case(np.random.RandomState([options.seed, case]))
        try:
            outputs = getattr(kernel, op)(**inputs)
        except REFUSALS:
            refused += 1
            continue
        problem = check(op, inputs, outputs)
        if problem:
            print(f"case {case} ({op}): {problem}", file=sys.stderr)
            return 1
        answered += 1
    print(f"{answered} answered, {refused} refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The engine's door checks: each public entry point checks its inputs once, here.

Every check raises ``ValueError`` whose message shows the bad value and what is allowed
(``n_samples=10 should be >= n_clusters=11``). Python and NumPy scalars are accepted alike.
Code past the door assumes checked input and does not check again.
"""

import dataclasses
import numbers
import os

import numpy as np

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import prepare
from kmeans_tf.engine.options import ALGORITHMS, INIT_STRATEGIES, MAX_ITER_LIMIT, MAX_SEED, RANDOM_INIT


def check_samples(samples, name="samples"):
    """Return ``samples`` as a 2-D finite float32/float64 C-contiguous numpy array, or raise ValueError."""
    return check_samples_and_sum(samples, name)[0]


def check_samples_and_sum(samples, name="samples"):
    """``check_samples``, and the column sums (float64) that the finiteness check made on the way."""
    array = _as_array(samples, name, "a 2-D array of numbers")
    if array.dtype.kind in "iub":
        array = array.astype(np.float64)
    elif array.dtype not in (np.float32, np.float64):
        if array.dtype.kind == "f":
            array = array.astype(np.float64)
        else:
            raise ValueError(f"{name} should hold numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} should be 2-D (n_samples, n_features), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} should have at least one row and one column, got shape {array.shape}")
    # The column sums carry any NaN or infinity, without a boolean copy of the data (huge finite
    # values may overflow them too: then the exact check says whether anything is wrong).
    column_sums = prepare.column_sums(array)
    if not np.isfinite(column_sums).all():
        finite = np.isfinite(array)
        if not finite.all():
            row, column = np.argwhere(~finite)[0]
            raise ValueError(f"{name} should be finite, got {array[row, column]} at row {row}, column {column}")
    return np.ascontiguousarray(array), column_sums


def check_sample_weight(sample_weight, n_samples, *, part=False):
    """Return ``sample_weight`` as a float64 array of shape (n_samples,), or None when it is None.

    Each weight must be finite and >= 0, and one at least > 0; zero weights are allowed.
    ``part``: the weights of a part of the rows (a worker's), which may all be 0; then
    ``check_positive_weights`` checks the whole.
    """
    if sample_weight is None:
        return None
    array = _as_array(sample_weight, "sample_weight", "an array of numbers of shape (n_samples,)")
    if array.dtype.kind not in "iubf":
        raise ValueError(f"sample_weight should hold real numbers, got dtype {array.dtype}")
    if array.shape != (n_samples,):
        raise ValueError(f"sample_weight should have shape (n_samples,) = ({n_samples},), got shape {array.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        weights = array.astype(np.float64, copy=False)
        # Two reductions check every weight (a NaN or infinity makes the sum so); the rare bad case looks closer.
        total = float(weights.sum())
        if not (np.isfinite(total) and weights.min() >= 0):
            bad = ~(np.isfinite(weights) & (weights >= 0))
            if bad.any():
                row = int(np.argmax(bad))
                raise ValueError(f"sample_weight[{row}] = {array[row]} should be >= 0 and finite")
            raise ValueError(f"sample_weight sums to {total}, beyond float64: divide the weights by a large number")
    if total == 0 and not part:
        raise ValueError(_no_positive_weight(n_samples))
    return weights


def _no_positive_weight(n_samples):
    return f"sample_weight should have a weight > 0: all {n_samples} are 0"


def check_weights_for_init(sample_weight, n_clusters, init):
    """With ``init="random"``, which draws distinct samples of weight > 0, check there are ``n_clusters`` of them."""
    if sample_weight is not None:
        check_positive_weights(int(np.count_nonzero(sample_weight)), len(sample_weight), n_clusters, init)


def check_positive_weights(positive, n_samples, n_clusters, init):
    """Check ``positive``, the count of weights > 0 among ``n_samples``: one at least, ``n_clusters`` for "random"."""
    if positive == 0:
        raise ValueError(_no_positive_weight(n_samples))
    if isinstance(init, str) and init == RANDOM_INIT and positive < n_clusters:
        raise ValueError(
            f"init={RANDOM_INIT!r} draws n_clusters={n_clusters} distinct samples of weight > 0, "
            f"but sample_weight has {positive}; give more weights > 0, or use another init"
        )


def _as_array(value, name, allowed):
    """Return ``value`` (a tensor, a list, an array) as a numpy array, or ValueError saying it should be ``allowed``."""
    if tf.is_tensor(value):
        value = value.numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} should be {allowed}: {error}") from None


def check_n_clusters(n_clusters, n_samples):
    """Return ``n_clusters`` as an int in [1, n_samples]."""
    n_clusters = check_int("n_clusters", n_clusters, 1)
    if n_samples < n_clusters:
        raise ValueError(f"n_samples={n_samples} should be >= n_clusters={n_clusters}")
    return n_clusters


def check_centroids(centroids, n_clusters, n_features, dtype, name="centroids"):
    """Return ``centroids`` checked against the samples' width (and ``n_clusters`` rows if given)."""
    centroids = check_samples(centroids, name)
    if centroids.shape[1] != n_features:
        raise ValueError(
            f"{name} should have n_features={n_features} columns like the samples, got shape {centroids.shape}"
        )
    if n_clusters is not None and centroids.shape[0] != n_clusters:
        raise ValueError(f"{name} should have n_clusters={n_clusters} rows, got shape {centroids.shape}")
    return centroids.astype(dtype, copy=False)


def check_int(name, value, minimum, maximum=None):
    """Return ``value`` as an int in [minimum, maximum]; bools are not integers here."""
    allowed = f"an integer >= {minimum}" if maximum is None else f"an integer in [{minimum}, {maximum}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}={value!r} should be {allowed}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name}={value!r} should be {allowed}")
    return int(value)


def check_float(name, value, *, minimum, open_minimum=False):
    """Return ``value`` as a finite float >= ``minimum`` (> with ``open_minimum``)."""
    relation = ">" if open_minimum else ">="
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}={value!r} should be a finite number {relation} {minimum}")
    if not np.isfinite(value) or value < minimum or (open_minimum and value == minimum):
        raise ValueError(f"{name}={value!r} should be a finite number {relation} {minimum}")
    return float(value)


def check_max_iter(max_iter):
    return check_int("max_iter", max_iter, 1, MAX_ITER_LIMIT)


def check_seed(seed):
    """Return ``seed`` (None, or an int in [0, 2**32 - 1])."""
    return None if seed is None else check_int("seed", seed, 0, MAX_SEED)


def check_batch_size(batch_size):
    return None if batch_size is None else check_int("batch_size", batch_size, 1)


def check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={value!r} should be one of {', '.join(map(repr, choices))}")
    return value


def check_algorithm(algorithm):
    return check_choice("algorithm", algorithm, ALGORITHMS)


def check_init(init, n_clusters, n_features, dtype, n_init):
    """Return ``init``: a strategy name, or an array of initial centroids (then ``n_init`` must be 1)."""
    if isinstance(init, str):
        if init not in INIT_STRATEGIES:
            raise ValueError(
                f"init={init!r} should be one of {', '.join(map(repr, INIT_STRATEGIES))} "
                f"or an array of shape (n_clusters, n_features)"
            )
        return init
    init = check_centroids(init, n_clusters, n_features, dtype, name="init")
    if n_init != 1:
        raise ValueError(f"n_init={n_init} should be 1 when init is an array of centroids")
    return init


def check_flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} should be True or False")
    return bool(value)


def check_callback(callback):
    if callback is not None and not callable(callback):
        raise ValueError(f"callback={callback!r} should be callable, as callback(run_index, result), or None")
    return callback


def check_checkpoint(checkpoint, checkpoint_every, n_init, keep_history):
    """Return the checkpoint's folder (a str, or None) and ``checkpoint_every``, an int >= 1."""
    checkpoint_every = check_int("checkpoint_every", checkpoint_every, 1)
    if checkpoint is None:
        return None, checkpoint_every
    if not isinstance(checkpoint, (str, os.PathLike)) or not os.path.isdir(checkpoint):
        raise ValueError(f"checkpoint={checkpoint!r} should be an existing folder, or None")
    if n_init != 1:
        raise ValueError(f"n_init={n_init} should be 1 with a checkpoint (it saves one run)")
    if keep_history:
        raise ValueError("keep_history=True should be False with a checkpoint (a resumed run has no earlier history)")
    return os.fspath(checkpoint), checkpoint_every


@dataclasses.dataclass(frozen=True)
class LloydOptions:
    """The options of a Lloyd fit, checked: what ``check_lloyd_options`` returns."""

    n_clusters: int
    init: object  # a strategy name, or an array of initial centroids in the samples' dtype
    n_init: int
    max_iter: int
    tol: float
    seed: int | None
    batch_size: int | None
    algorithm: str
    callback: object
    keep_history: bool
    init_rounds: int
    weights: np.ndarray | None  # float64, one per sample


def check_lloyd_options(
    n_clusters,
    n_samples,
    n_features,
    dtype,
    *,
    init,
    n_init,
    max_iter,
    tol,
    seed,
    batch_size,
    algorithm,
    callback,
    keep_history,
    init_rounds,
    sample_weight,
):
    """The door of a Lloyd fit of ``n_samples`` rows of ``n_features`` columns (``kmeans``, in memory or streamed)."""
    n_clusters = check_n_clusters(n_clusters, n_samples)
    n_init = check_int("n_init", n_init, 1)
    options = dict(
        max_iter=check_max_iter(max_iter),
        tol=check_float("tol", tol, minimum=0),
        seed=check_seed(seed),
        batch_size=check_batch_size(batch_size),
        algorithm=check_algorithm(algorithm),
    )
    init = check_init(init, n_clusters, n_features, dtype, n_init)
    options.update(
        callback=check_callback(callback),
        keep_history=check_flag("keep_history", keep_history),
        init_rounds=check_int("init_rounds", init_rounds, 1),
    )
    weights = check_sample_weight(sample_weight, n_samples)
    check_weights_for_init(weights, n_clusters, init)
    return LloydOptions(n_clusters=n_clusters, init=init, n_init=n_init, weights=weights, **options)

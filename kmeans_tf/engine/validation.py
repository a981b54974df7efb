"""The engine's door checks: each public entry point checks its inputs once, here.

Every check raises ``ValueError`` whose message shows the bad value and what is allowed
(``n_samples=10 should be >= n_clusters=11``). Python and NumPy scalars are accepted alike.
Code past the door assumes checked input and does not check again.
"""

import dataclasses
import os

import numpy as np

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import prepare
from kmeans_tf.engine.options import INIT_STRATEGIES, LLOYD_OPTIONS, RANDOM_INIT, FitOptions, Flag, Integer, OneOf, Real


def check_samples(samples, name="samples"):
    """Return ``samples`` as a 2-D finite float32/float64 C-contiguous numpy array, or raise ValueError."""
    return check_samples_and_sum(samples, name)[0]


def check_samples_and_sum(samples, name="samples"):
    """``check_samples``, and the column sums (float64) that the finiteness check made on the way."""
    return _checked_samples(samples, name, prepare.column_sums)


def check_samples_and_largest(samples, name="samples"):
    """``check_samples``, and each column's largest magnitude (float64) that the finiteness check found on the way."""
    return _checked_samples(samples, name, prepare.column_magnitudes)


def _checked_samples(samples, name, summary):
    """``check_samples``, and ``summary(array)``: a float64 value per column that carries any NaN or infinity."""
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
    # The summary carries any NaN or infinity, without a boolean copy of the data (huge finite
    # values may overflow column sums too: then the exact check says whether anything is wrong).
    found = summary(array)
    if not np.isfinite(found).all():
        finite = np.isfinite(array)
        if not finite.all():
            row, column = np.argwhere(~finite)[0]
            raise ValueError(f"{name} should be finite, got {array[row, column]} at row {row}, column {column}")
    return np.ascontiguousarray(array), found


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
    return Integer(minimum, maximum).check(name, value)


def check_float(name, value, *, minimum, open_minimum=False):
    """Return ``value`` as a finite float >= ``minimum`` (> with ``open_minimum``)."""
    return Real(minimum, open_minimum).check(name, value)


def check_max_iter(max_iter):
    return _lloyd_rule("max_iter").check("max_iter", max_iter)


def check_seed(seed):
    """Return ``seed`` (None, or an int in [0, 2**32 - 1])."""
    return _lloyd_rule("seed").check("seed", seed)


def check_batch_size(batch_size):
    return _lloyd_rule("batch_size").check("batch_size", batch_size)


def check_metric(metric):
    """Return ``metric``: one of ``METRICS``."""
    return _lloyd_rule("metric").check("metric", metric)


def check_memory_budget(memory_budget):
    """Return ``memory_budget``: None, or an int of bytes >= ``MIN_MEMORY_BUDGET``."""
    return _lloyd_rule("memory_budget").check("memory_budget", memory_budget)


def check_choice(name, value, choices):
    return OneOf(tuple(choices)).check(name, value)


def _lloyd_rule(name):
    return next(option.rule for option in LLOYD_OPTIONS if option.name == name)


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
    return Flag().check(name, value)


def check_checkpoint(options):
    """Return the checkpoint's folder (a str, or None) of ``FitOptions``: an existing folder, for one run."""
    checkpoint = options.checkpoint
    if checkpoint is None:
        return None
    if not isinstance(checkpoint, (str, os.PathLike)) or not os.path.isdir(checkpoint):
        raise ValueError(f"checkpoint={checkpoint!r} should be an existing folder, or None")
    if options.n_init != 1:
        raise ValueError(f"n_init={options.n_init} should be 1 with a checkpoint (it saves one run)")
    for name in ("keep_history", "keep_iterations"):
        if getattr(options, name):
            raise ValueError(f"{name}=True should be False with a checkpoint (a resumed run has no earlier history)")
    return os.fspath(checkpoint)


@dataclasses.dataclass(frozen=True)
class LloydOptions:
    """The options of a Lloyd fit checked against its data: what ``check_lloyd_options`` returns.

    ``options`` holds every option of ``LLOYD_OPTIONS`` as checked at the door; the others
    depend on the data.
    """

    options: FitOptions
    n_clusters: int
    init: object  # a strategy name, or an array of initial centroids in the samples' dtype
    weights: np.ndarray | None  # float64, one per sample

    def __getattr__(self, name):
        if name.startswith("__") or name == "options":  # copy and pickle look for these before ``options`` is set
            raise AttributeError(name)
        return getattr(self.options, name)


def check_lloyd_options(n_clusters, n_samples, n_features, dtype, options, sample_weight):
    """The data's half of a Lloyd fit's door: ``n_samples`` rows of ``n_features`` columns, checked ``options``."""
    n_clusters = check_n_clusters(n_clusters, n_samples)
    init = check_init(options.init, n_clusters, n_features, dtype, options.n_init)
    weights = check_sample_weight(sample_weight, n_samples)
    check_weights_for_init(weights, n_clusters, init)
    return LloydOptions(options=options, n_clusters=n_clusters, init=init, weights=weights)

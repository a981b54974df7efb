"""The engine's vocabulary: strategy names and defaults, defined once.

This module imports no TensorFlow, so that the command line's ``--help`` and the
benchmark can read it at no cost. Everything else imports these names; nothing copies them.
``LLOYD_OPTIONS`` is the table of a Lloyd fit's options: name, default and rule (the values
allowed), as scikit-learn's ``_parameter_constraints``; ``check_options`` checks them once.
"""

import numbers
import typing

import numpy as np

from kmeans_tf.stream.budget import MIN_MEMORY_BUDGET

# How the initial centroids are chosen (``init=``).
RANDOM_INIT = "random"  # distinct samples, as the lesson picks them
KMEANS_PLUSPLUS_INIT = "k-means++"  # scikit-learn's greedy k-means++
KMEANS_PARALLEL_INIT = "k-means||"  # Bahmani et al. 2012: a few sampling rounds, then k-means++ on the candidates
INIT_STRATEGIES = (RANDOM_INIT, KMEANS_PLUSPLUS_INIT, KMEANS_PARALLEL_INIT)

# How each Lloyd iteration is computed (``algorithm=``); all give the same labels.
AUTO = "auto"  # plain passes while many labels change, then bounded ones
LLOYD = "lloyd"  # every sample measured against every centroid
HAMERLY = "hamerly"  # distance bounds from the first pass (Hamerly 2010)
ELKAN = "elkan"  # scikit-learn's name for its bounded algorithm
ALGORITHMS = (AUTO, LLOYD, HAMERLY, ELKAN)
# The engine's algorithm that another library's name runs: bounds from the first pass, whatever their kind.
SAME_ALGORITHM = {ELKAN: HAMERLY}

# How rows and centroids are compared (``metric=``).
EUCLIDEAN = "euclidean"  # squared Euclidean distance: Lloyd's k-means
COSINE = "cosine"  # by direction: spherical k-means (Dhillon and Modha 2001), the distance 1 - cosine similarity
METRICS = (EUCLIDEAN, COSINE)

DEFAULT_METRIC = EUCLIDEAN
DEFAULT_INIT = KMEANS_PLUSPLUS_INIT
DEFAULT_ALGORITHM = AUTO
DEFAULT_N_INIT = 1
DEFAULT_MAX_ITER = 300
DEFAULT_TOL = 1e-4  # relative to the mean per-feature variance, as in scikit-learn
# k-means||: sampling rounds, and the oversampling factor l = factor * k of each round (Spark MLlib's 2 and 2k);
# greedy k-means++ runs this many times on the weighted candidates, the lowest weighted cost wins.
DEFAULT_INIT_ROUNDS = 2
OVERSAMPLING_FACTOR = 2
RECLUSTER_TRIES = 3

# Bytes of one (chunk rows, n_clusters) distance block on TensorFlow's ops; sets the rows per chunk.
CHUNK_BYTES = 4 * 2**20

# Ranges of the integer options: the loop counts iterations in an int32 tensor, and
# numpy.random.RandomState takes seeds in [0, 2**32).
MAX_ITER_LIMIT = 2**31 - 1
MAX_SEED = 2**32 - 1

# Choosing k (``elbow``): the silhouette compares every pair of rows, so it is measured on a seeded
# sample of at most this many; a rule (``rule=``) suggests the k from the fits' scores. The kneedle rule
# needs a point between the first and the last k.
DEFAULT_SILHOUETTE_ROWS = 10000
KNEEDLE_RULE = "kneedle"  # the knee of the inertia curve (Satopää et al. 2011)
LOG_KNEEDLE_RULE = "log-kneedle"  # the knee of the log of the inertia
SILHOUETTE_RULE = "silhouette"  # the silhouette's maximum
CALINSKI_HARABASZ_RULE = "calinski-harabasz"  # the Calinski-Harabasz score's maximum
DAVIES_BOULDIN_RULE = "davies-bouldin"  # the Davies-Bouldin score's minimum
GAP_MAX_RULE = "gap-max"  # the gap statistic's maximum, less a standard error: fits reference sets too
GAP_RULE = "gap"  # the gap statistic's first k within a standard error of the next (Tibshirani et al. 2001)
RULES = (
    GAP_MAX_RULE,
    GAP_RULE,
    SILHOUETTE_RULE,
    CALINSKI_HARABASZ_RULE,
    DAVIES_BOULDIN_RULE,
    KNEEDLE_RULE,
    LOG_KNEEDLE_RULE,
)
# The rules that compare each k with k-means on reference sets drawn without structure.
GAP_RULES = (GAP_MAX_RULE, GAP_RULE)
DEFAULT_RULE = GAP_MAX_RULE  # the best on the benchmark of docs/choosing-k.md
DEFAULT_GAP_REFERENCES = 5  # reference sets of the gap statistic: each costs as many fits as the data
MIN_K_VALUES = 3

# Mini-batch k-means (``minibatch_kmeans``, ``MiniBatchKMeans``): scikit-learn's MiniBatchKMeans defaults.
MINIBATCH_BATCH_SIZE = 1024
MINIBATCH_MAX_ITER = 100  # passes over the data, at the most
MINIBATCH_TOL = 0.0  # off: the inertia's average stops the run
MINIBATCH_MAX_NO_IMPROVEMENT = 10
MINIBATCH_REASSIGNMENT_RATIO = 0.01

# Saves of a long fit (``checkpoint=``): every this many iterations.
DEFAULT_CHECKPOINT_EVERY = 10


class Integer(typing.NamedTuple):
    """An int in [minimum, maximum] (no maximum: None); bools are not integers here."""

    minimum: int
    maximum: int | None = None

    def check(self, name, value):
        allowed = (
            f"an integer >= {self.minimum}"
            if self.maximum is None
            else f"an integer in [{self.minimum}, {self.maximum}]"
        )
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name}={value!r} should be {allowed}")
        if value < self.minimum or (self.maximum is not None and value > self.maximum):
            raise ValueError(f"{name}={value!r} should be {allowed}")
        return int(value)


class Real(typing.NamedTuple):
    """A finite float >= minimum (> with ``open_minimum``)."""

    minimum: float
    open_minimum: bool = False

    def check(self, name, value):
        relation = ">" if self.open_minimum else ">="
        message = f"{name}={value!r} should be a finite number {relation} {self.minimum}"
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ValueError(message)
        if not np.isfinite(value) or value < self.minimum or (self.open_minimum and value == self.minimum):
            raise ValueError(message)
        return float(value)


class OneOf(typing.NamedTuple):
    """One of the strings ``choices``."""

    choices: tuple

    def check(self, name, value):
        if not isinstance(value, str) or value not in self.choices:
            raise ValueError(f"{name}={value!r} should be one of {', '.join(map(repr, self.choices))}")
        return value


class Flag(typing.NamedTuple):
    """True or False."""

    def check(self, name, value):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name}={value!r} should be True or False")
        return bool(value)


class CallableOrNone(typing.NamedTuple):
    """A callable called as ``call``, or None."""

    call: str

    def check(self, name, value):
        if value is not None and not callable(value):
            raise ValueError(f"{name}={value!r} should be callable, as {self.call}, or None")
        return value


class OrNone(typing.NamedTuple):
    """None, or a value of ``rule``."""

    rule: object

    def check(self, name, value):
        return None if value is None else self.rule.check(name, value)


class WithData(typing.NamedTuple):
    """A value checked against the data (its shape or dtype), or a path, where the fit begins: ``what`` it is."""

    what: str

    def check(self, name, value):
        return value


class Option(typing.NamedTuple):
    """One option of a fit: its name, its default, and the rule its values follow."""

    name: str
    default: object
    rule: object


# Every option of a Lloyd fit (``kmeans``, in memory, streamed or on several workers), checked once at its door
# (``check_options``) into one ``FitOptions``; the functions, the estimators and the command line take their
# defaults from here.
LLOYD_OPTIONS = (
    Option("metric", DEFAULT_METRIC, OneOf(METRICS)),
    Option("init", DEFAULT_INIT, WithData("a strategy name, or an array of shape (n_clusters, n_features)")),
    Option("n_init", DEFAULT_N_INIT, Integer(1)),
    Option("max_iter", DEFAULT_MAX_ITER, Integer(1, MAX_ITER_LIMIT)),
    Option("tol", DEFAULT_TOL, Real(0)),
    Option("seed", None, OrNone(Integer(0, MAX_SEED))),
    Option("batch_size", None, OrNone(Integer(1))),
    Option("algorithm", DEFAULT_ALGORITHM, OneOf(ALGORITHMS)),
    Option("callback", None, CallableOrNone("callback(state)")),
    Option("log_dir", None, WithData("a folder's path, or None")),
    Option("keep_history", False, Flag()),
    Option("keep_iterations", False, Flag()),
    Option("init_rounds", DEFAULT_INIT_ROUNDS, Integer(1)),
    Option("memory_budget", None, OrNone(Integer(MIN_MEMORY_BUDGET))),
    Option("checkpoint", None, WithData("an existing folder, or None")),
    Option("checkpoint_every", DEFAULT_CHECKPOINT_EVERY, Integer(1)),
)
LLOYD_DEFAULTS = {option.name: option.default for option in LLOYD_OPTIONS}

FitOptions = typing.NamedTuple("FitOptions", [(option.name, object) for option in LLOYD_OPTIONS])
FitOptions.__doc__ = "The options of a Lloyd fit, each checked by its rule in ``LLOYD_OPTIONS``."


def check_options(**values):
    """Return ``FitOptions``: each of ``LLOYD_OPTIONS`` checked by its rule (its default where not given)."""
    unknown = set(values) - set(LLOYD_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown options: {', '.join(sorted(unknown))}")
    given = {**LLOYD_DEFAULTS, **values}
    return FitOptions(**{option.name: option.rule.check(option.name, given[option.name]) for option in LLOYD_OPTIONS})

"""Choosing k: ``elbow`` fits k-means for each of several k and measures each fit; a rule suggests a k.

The scores are scikit-learn's (``sklearn.metrics``), imported inside ``elbow``. The rules (``RULES`` in
``options``) read the scores: ``kneedle`` and ``gap_rule`` are two of them; ``suggest`` applies any of them.
The gap statistic's reference sets are drawn by ``gap_statistic``, where each kind of rows keeps its own
(``RowsInMemory``, ``SparseRows``, ``StreamedRows``: ``box`` and ``reference_set``).
"""

import dataclasses
import functools

import numpy as np

from kmeans_tf.engine import cluster_scores, gap_statistic, prepare, sparse, spherical, validation
from kmeans_tf.engine.kmeans import kmeans
from kmeans_tf.engine.options import (
    CALINSKI_HARABASZ_RULE,
    COSINE,
    DAVIES_BOULDIN_RULE,
    DEFAULT_ALGORITHM,
    DEFAULT_GAP_REFERENCES,
    DEFAULT_INIT,
    DEFAULT_INIT_ROUNDS,
    DEFAULT_MAX_ITER,
    DEFAULT_METRIC,
    DEFAULT_N_INIT,
    DEFAULT_RULE,
    DEFAULT_SILHOUETTE_ROWS,
    DEFAULT_TOL,
    GAP_MAX_RULE,
    GAP_RULE,
    GAP_RULES,
    KNEEDLE_RULE,
    LOG_KNEEDLE_RULE,
    MIN_K_VALUES,
    RULES,
    SILHOUETTE_RULE,
    CallableOrNone,
    OneOf,
)
from kmeans_tf.stream import budget, sources
from kmeans_tf.stream import streamed as streaming


@dataclasses.dataclass(frozen=True)
class ElbowResult:
    """What ``elbow`` measured, one entry per k, in increasing k.

    Attributes
    ----------
    k : int array of shape (n_k,)
    inertia : float array, the sum of squared distances of samples to their centroid
    silhouette : float array, ``sklearn.metrics.silhouette_score`` on the rows ``silhouette_sample``
        (from -1 to 1, higher is better)
    calinski_harabasz : float array, ``sklearn.metrics.calinski_harabasz_score`` on all rows (higher is better)
    davies_bouldin : float array, ``sklearn.metrics.davies_bouldin_score`` on all rows (lower is better)
    n_iter : int array, Lloyd iterations of the kept run
    suggested_k : int or None, the k that ``rule`` suggests (``suggest``); None where the rule finds
        none: no cluster structure, or no k that it can tell
    silhouette_sample : int array, the rows the silhouette is measured on, the same for every k
    rule : str, the rule that suggested the k, one of ``RULES``
    gap : float array, the gap statistic (Tibshirani et al. 2001): the mean log inertia of k-means on
        reference sets drawn without structure, less the log inertia on the data (higher is better);
        NaN unless the rule needed it (``GAP_RULES``)
    gap_se : float array, the gap's standard error: the reference log inertias' standard deviation
        times sqrt(1 + 1/B), for B reference sets; NaN where ``gap`` is

    A score is NaN where it is undefined: for k = 1, and wherever the clustering (or, for the
    silhouette, its sample) has fewer than 2 clusters or as many clusters as rows.
    """

    k: np.ndarray
    inertia: np.ndarray
    silhouette: np.ndarray
    calinski_harabasz: np.ndarray
    davies_bouldin: np.ndarray
    n_iter: np.ndarray
    suggested_k: int | None
    silhouette_sample: np.ndarray
    rule: str
    gap: np.ndarray
    gap_se: np.ndarray


def elbow(
    samples, k_values, *, metric=DEFAULT_METRIC, init=DEFAULT_INIT, n_init=DEFAULT_N_INIT, max_iter=DEFAULT_MAX_ITER,
    tol=DEFAULT_TOL, seed=None, algorithm=DEFAULT_ALGORITHM, init_rounds=DEFAULT_INIT_ROUNDS,
    silhouette_rows=DEFAULT_SILHOUETTE_ROWS, rule=DEFAULT_RULE, gap_references=DEFAULT_GAP_REFERENCES,
    callback=None, memory_budget=None,
):  # fmt: skip
    """Fit k-means for each k of ``k_values``, score each fit, and suggest a k by ``rule``.

    Parameters
    ----------
    samples : array of shape (n_samples, n_features), as ``kmeans`` takes them
        In memory, sparse, or streamed from disk (a memory map, ``Shards``, a ``tf.data.Dataset``):
        then each fit is streamed, the silhouette's sample of rows is read alone, and the other
        scores take two passes over the rows, within ``memory_budget``.
    k_values : sequence of int
        At least 3 distinct values, each in [1, n_samples], in any order (the result is in
        increasing k).
    metric, init, n_init, max_iter, tol, algorithm, init_rounds
        Passed to ``kmeans`` for every k. With ``metric="cosine"`` the silhouette is measured by
        the cosine distance, and the Calinski-Harabasz and Davies-Bouldin scores on the rows
        scaled to unit length (the space spherical k-means clusters them in).
    seed : int in [0, 2**32 - 1] or None, default=None
        Each k is fitted with ``kmeans(..., seed=seed)``, and the silhouette's sample and the gap's
        reference sets are drawn with it: the same seed gives the same result.
    silhouette_rows : int >= 2, default=10000
        The silhouette is measured on this many rows drawn without replacement (all rows
        when there are no more), the same rows for every k.
    rule : str, default="gap-max"
        How the k is suggested, one of ``RULES`` (see ``suggest``). The gap rules (``GAP_RULES``)
        also fit every k on ``gap_references`` reference sets; they answer None (no cluster
        structure) only where ``k_values`` hold 1, the k they compare the others with. For
        streamed samples each reference set is written to the temporary folder (as large as the
        data, one at a time) and streamed as the data are.
    gap_references : int >= 1, default=5
        The gap statistic's reference sets (B), each as large as the data and fitted for every k: a
        gap rule costs (1 + B) times the fits of the others.
    callback : callable or None
        Called as ``callback(k, result)`` with each k's ``KMeansResult`` on the data.
    memory_budget : int or None, default=None
        As ``kmeans``'s, for streamed samples.

    Returns
    -------
    ElbowResult
        Its ``suggested_k`` is the k that ``rule`` suggests, or None.
    """
    metric = validation.check_metric(metric)
    rows = _scored_rows(samples, metric, memory_budget)
    k_values = check_k_values(k_values, rows.n_rows)
    seed = validation.check_seed(seed)
    silhouette_rows = validation.check_int("silhouette_rows", silhouette_rows, 2)
    rule = OneOf(RULES).check("rule", rule)
    gap_references = validation.check_int("gap_references", gap_references, 1)
    callback = CallableOrNone("callback(k, result)").check("callback", callback)
    from sklearn import metrics

    sample = _silhouette_sample(rows.n_rows, silhouette_rows, seed)
    sample_rows = rows.at(sample)
    references = None
    if rule in GAP_RULES:
        references = gap_statistic.ReferenceSets(rows, gap_statistic.seeds(seed, gap_references))
    # Every k is fitted alike: only n_clusters changes.
    fit_options = {
        "metric": metric,
        "init": init,
        "n_init": n_init,
        "max_iter": max_iter,
        "tol": tol,
        "seed": seed,
        "algorithm": algorithm,
        "init_rounds": init_rounds,
    }
    if memory_budget is not None:
        fit_options["memory_budget"] = memory_budget
    silhouette = functools.partial(metrics.silhouette_score, metric=metric)
    measured = []
    for k in k_values:
        result = kmeans(rows.samples, k, **fit_options)
        gap, gap_se = (np.nan, np.nan) if references is None else references.gap(k, result.inertia, fit_options)
        if callback is not None:
            callback(k, result)
        labels = np.asarray(result.labels)
        calinski_harabasz, davies_bouldin = rows.scores(labels) if _defined(labels, rows.n_rows) else (np.nan,) * 2
        measured.append(
            (
                result.inertia,
                _score(silhouette, sample_rows, labels[sample]),
                calinski_harabasz,
                davies_bouldin,
                result.n_iter,
                gap,
                gap_se,
            )
        )
    inertia, silhouette, calinski_harabasz, davies_bouldin, n_iter, gap, gap_se = (
        np.array(column) for column in zip(*measured)
    )
    scores = ElbowResult(
        k=k_values,
        inertia=inertia,
        silhouette=silhouette,
        calinski_harabasz=calinski_harabasz,
        davies_bouldin=davies_bouldin,
        n_iter=n_iter.astype(np.int64),
        suggested_k=None,
        silhouette_sample=sample,
        rule=rule,
        gap=gap,
        gap_se=gap_se,
    )
    return dataclasses.replace(scores, suggested_k=suggest(scores, rule))


def suggest(result, rule):
    """Return the k that ``rule`` (one of ``RULES``) suggests from the scores of an ``ElbowResult``, or None.

    - ``"kneedle"``: the knee of the inertia curve (``kneedle``); ``"log-kneedle"``: the knee of its log;
    - ``"silhouette"``, ``"calinski-harabasz"``: the k of the highest score; ``"davies-bouldin"``: of the lowest;
    - ``"gap-max"``: the smallest k whose gap is within a standard error of the highest (``gap_max_rule``),
      ``"gap"``: the first within a standard error of the next (``gap_rule``); None where it is 1 (no structure).

    The gap rules need ``result.gap`` (an ``elbow`` run with a gap rule). Assumes validated input.
    """
    return SUGGESTERS[rule](result)


def gap_max_rule(k, gap, gap_se):
    """Return the smallest k whose gap is within a standard error of the highest gap, or None where it is 1.

    The k is the smallest with ``gap(k) >= gap(k*) - gap_se(k*)``, k* the k of the highest gap: the
    gap's global maximum less one standard error (``globalSEmax`` of R's ``cluster::maxSE``, as
    Dudoit and Fridlyand 2002 use the gap statistic). k = 1 means no cluster structure: None, as where
    every gap is NaN.

    Parameters
    ----------
    k : array of shape (n_points,), increasing, from 1 where "no structure" should be an answer
    gap, gap_se : arrays of shape (n_points,)
    """
    gap, gap_se = np.asarray(gap, np.float64), np.asarray(gap_se, np.float64)
    if np.isnan(gap).all():
        return None
    highest = np.nanargmax(gap)
    return _not_one(k, gap >= gap[highest] - gap_se[highest])


def gap_rule(k, gap, gap_se):
    """Return the gap statistic's k (Tibshirani et al. 2001), or None where it is 1 (no structure) or there is none.

    The k is the smallest with ``gap(k) >= gap(k') - gap_se(k')``, k' the next k: no later k gains more
    than a standard error. A NaN gap (an undefined log inertia) never qualifies.

    Parameters
    ----------
    k : array of shape (n_points,), increasing, from 1 where "no structure" should be an answer
    gap, gap_se : arrays of shape (n_points,)
    """
    gap, gap_se = np.asarray(gap, np.float64), np.asarray(gap_se, np.float64)
    return _not_one(k[:-1], gap[:-1] >= gap[1:] - gap_se[1:])


def _not_one(k, enough):
    """The first k where ``enough`` holds; None where it is 1 or nowhere."""
    chosen = int(np.asarray(k)[np.argmax(enough)]) if enough.any() else None
    return None if chosen == 1 else chosen


def _best(k, score, best):
    """The k of the ``best`` (``np.nanargmax`` or ``np.nanargmin``) of ``score``; None where every score is NaN."""
    score = np.asarray(score, np.float64)
    return None if np.isnan(score).all() else int(k[best(score)])


def _log_inertia(inertia):
    """The log of the inertia; a zero inertia (as many clusters as distinct rows) at the smallest positive float."""
    return np.log(np.maximum(inertia, np.finfo(np.float64).tiny))


# Each rule of ``RULES`` -> how it suggests a k from an ``ElbowResult``.
SUGGESTERS = {
    KNEEDLE_RULE: lambda result: kneedle(result.k, result.inertia),
    LOG_KNEEDLE_RULE: lambda result: kneedle(result.k, _log_inertia(result.inertia)),
    SILHOUETTE_RULE: lambda result: _best(result.k, result.silhouette, np.nanargmax),
    CALINSKI_HARABASZ_RULE: lambda result: _best(result.k, result.calinski_harabasz, np.nanargmax),
    DAVIES_BOULDIN_RULE: lambda result: _best(result.k, result.davies_bouldin, np.nanargmin),
    GAP_MAX_RULE: lambda result: gap_max_rule(result.k, result.gap, result.gap_se),
    GAP_RULE: lambda result: gap_rule(result.k, result.gap, result.gap_se),
}


def kneedle(k, inertia):
    """Return the knee of a decreasing, convex curve by the kneedle rule (Satopää et al. 2011), or None.

    Both axes are scaled to [0, 1]; the knee is the k where the scaled curve lies farthest
    below the straight line from its first point to its last. There is none (None) when the
    inertia does not vary, or when no point lies below that line.

    Parameters
    ----------
    k : array of shape (n_points,), increasing, n_points >= 3
    inertia : array of shape (n_points,)
    """
    k, inertia = np.asarray(k, np.float64), np.asarray(inertia, np.float64)
    spread = inertia.max() - inertia.min()
    if spread == 0:
        return None
    x = (k - k[0]) / (k[-1] - k[0])
    y = (inertia - inertia.min()) / spread
    below_line = y[0] + (y[-1] - y[0]) * x - y
    knee = int(np.argmax(below_line))
    return int(k[knee]) if below_line[knee] > 0 else None


def check_k_values(k_values, n_samples):
    """Return ``k_values`` as a sorted int64 array of at least MIN_K_VALUES distinct values in [1, n_samples]."""
    try:
        values = [validation.check_int("k", value, 1, n_samples) for value in k_values]
    except TypeError:
        raise ValueError(f"k_values={k_values!r} should be a sequence of integers") from None
    except ValueError as error:
        raise ValueError(f"k_values: {error} (n_samples={n_samples})") from None
    if len(set(values)) != len(values):
        raise ValueError(f"k_values={values} should not repeat a value")
    if len(values) < MIN_K_VALUES:
        raise ValueError(
            f"k_values={values} should hold at least {MIN_K_VALUES} values: "
            f"a rule compares each k with the ones beside it"
        )
    return np.array(sorted(values), np.int64)


def _defined(labels, n_rows):
    """Whether a score of this clustering is defined: 2 clusters at least, and fewer than rows."""
    return 2 <= len(np.unique(labels)) < n_rows


def _score(score, samples, labels):
    """``score(samples, labels)``, or NaN where it is undefined (fewer than 2 clusters, or as many as rows)."""
    return float(score(samples, labels)) if _defined(labels, samples.shape[0]) else np.nan


# Past this many rows, the silhouette's sample is drawn without a permutation of every row.
PERMUTED_ROWS = 2**24


def _silhouette_sample(n_rows, count, seed):
    """The rows (sorted) the silhouette is measured on: ``count`` of ``n_rows`` (all when no more), seeded."""
    rng = np.random.RandomState(seed)
    if n_rows <= PERMUTED_ROWS:
        return np.sort(rng.permutation(n_rows)[:count])
    return streaming.distinct_rows(n_rows, min(count, n_rows), rng)


def _scored_rows(samples, metric, memory_budget):
    """The samples as the scores read them: in memory, sparse, or streamed from disk."""
    if streaming.is_streamed(samples):
        return StreamedRows(samples, metric, memory_budget)
    if sparse.is_sparse(samples):
        return SparseRows(sparse.check(samples), metric)
    return RowsInMemory(validation.check_samples(samples), metric)


class RowsInMemory:
    """Rows in memory: scikit-learn's scores on them (cosine: on the rows of unit length)."""

    def __init__(self, samples, metric):
        self.samples, self.n_rows = samples, samples.shape[0]
        self.scored = self.unit_length(samples) if metric == COSINE else samples

    @staticmethod
    def unit_length(samples):
        """The rows scaled to unit length, the space spherical k-means clusters them in."""
        return spherical.unit_copy(samples, "samples")

    def at(self, indices):
        return self.samples[indices]

    def box(self):
        """The box of the rows' principal axes (``gap_statistic.PrincipalBox``), a chunk of rows at a time."""

        def chunks():
            for start in range(0, self.n_rows, prepare.CHUNK_ROWS):
                yield self.samples[start : start + prepare.CHUNK_ROWS]

        return gap_statistic.PrincipalBox.measure(chunks)

    def reference_set(self, box, random):
        """A reference set drawn in ``box`` from the ``RandomState`` ``random``, in memory (a context manager)."""
        return gap_statistic.drawn_in_memory(box, random, self.samples.shape, self.samples.dtype, prepare.CHUNK_ROWS)

    def scores(self, labels):
        from sklearn import metrics

        return (
            float(metrics.calinski_harabasz_score(self.scored, labels)),
            float(metrics.davies_bouldin_score(self.scored, labels)),
        )


class SparseRows(RowsInMemory):
    """Sparse CSR rows: the scores from per-cluster sums, never made dense (``cluster_scores``)."""

    @staticmethod
    def unit_length(samples):
        return sparse.prepared(samples, unit=True).centred

    def box(self):
        """None: sparse reference sets move the rows' own values (``gap_statistic.columns_shuffled``)."""
        return None

    def reference_set(self, box, random):
        """A sparse reference set drawn from the ``RandomState`` ``random`` (a context manager)."""
        return gap_statistic.columns_shuffled(self.samples, random)

    def scores(self, labels):
        partition = cluster_scores.of_sparse(self.scored, labels)
        return cluster_scores.calinski_harabasz(partition), cluster_scores.davies_bouldin(partition)


class StreamedRows:
    """Rows streamed from disk (a memory map, ``Shards``, a dataset): the scores in two passes, a chunk at a time."""

    def __init__(self, samples, metric, memory_budget):
        self.samples, self.source = samples, streaming.open_source(samples)
        self.n_rows, self.unit = self.source.n_rows, metric == COSINE
        budget_bytes = streaming.budget_bytes(validation.check_memory_budget(memory_budget))
        self.chunk_rows = budget.plan(self.n_rows, self.source.row_bytes, budget_bytes).chunk_rows

    def at(self, indices):
        return self.source.take(indices)

    def box(self):
        """The box of the rows' principal axes (``gap_statistic.PrincipalBox``), read a chunk at a time."""

        def chunks():
            for _, rows in sources.chunks(self.source, self.chunk_rows):
                yield rows

        return gap_statistic.PrincipalBox.measure(chunks)

    def reference_set(self, box, random):
        """A reference set drawn in ``box``, written to a ``.npy`` file in the temporary folder (a context manager)."""
        shape = (self.n_rows, self.source.n_features)
        return gap_statistic.drawn_on_disk(box, random, shape, self.source.dtype, self.chunk_rows)

    def scores(self, labels):
        transform = spherical.unit_rows if self.unit else None

        def chunks():
            for span, rows in sources.chunks(self.source, self.chunk_rows, transform):
                yield span.start, rows

        partition = cluster_scores.of_stream(chunks, labels, self.source.n_features)
        return cluster_scores.calinski_harabasz(partition), cluster_scores.davies_bouldin(partition)

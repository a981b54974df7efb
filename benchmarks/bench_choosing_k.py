"""Score the rules that suggest k (``RULES``) on seeded data sets whose k is known.

Each data set is fitted by ``kmeans_tf.elbow`` for every k from 1 to ``--max-k``, twice with the
same seed (so with the same fits of the data): once with the silhouette's rule, whose fits and
scores every rule but the gap rules reads, and once with a gap rule, which fits the reference
sets too. Every rule reads its k from those fits (``choosing_k.suggest``). The data sets, seeded,
each of 300 to 2,000 rows:

- separated: k Gaussian blobs of standard deviation 1 (k from 2 to 12, 2 to 50 columns), equal
  sizes, the closest two centres 3 times as far apart as two rows of one blob are (the root mean
  square distance, sqrt(2 d) in d columns: 6 standard deviations in 2 columns, 30 in 50), the
  others farther;
- uneven: the same, the largest cluster 5 times the smallest;
- less separated: the separated sets' recipe with the closest two centres 1.5 times that distance apart;
- make_blobs: ``sklearn.datasets.make_blobs`` with ``cluster_std=0.7`` and centres drawn in
  [-10, 10], each counted as separated where its closest two centres are 3 times that distance
  apart or more, and as less separated otherwise;
- none: no cluster structure (uniform in a cube, one round Gaussian, one elongated Gaussian), where
  the right answer is none (or k = 1).

The table gives each rule's share of right answers on the well-separated sets (separated and
uneven), on every set, on each group, and the seconds each kind of rule took. Results, dated, go
in docs/choosing-k.md.

Usage
-----
::

    python benchmarks/bench_choosing_k.py             # 157 data sets, k from 1 to 15, 5 reference sets
    python benchmarks/bench_choosing_k.py --verbose   # and every data set's answers
    python benchmarks/bench_choosing_k.py --quick     # a few small sets, k from 1 to 6: a check that it runs
"""

import argparse
import dataclasses
import itertools
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make ``kmeans_tf`` importable from this checkout
    sys.path.insert(0, str(REPO_ROOT))

from kmeans_tf.engine.options import DEFAULT_GAP_REFERENCES, GAP_RULE, GAP_RULES, RULES, SILHOUETTE_RULE  # noqa: E402

CLUSTER_COUNTS = (2, 3, 4, 5, 6, 8, 10, 12)
WIDTHS = (2, 10, 50)
UNEVEN_COUNTS = (3, 5, 8, 12)
REPLICATES = 2  # data sets drawn for each count and width, each from a seed of its own
ROWS_PER_CLUSTER = 100
UNEVEN_ROWS_PER_CLUSTER = 150
MIN_ROWS = 300
UNEVEN_RATIO = 5  # the largest cluster of an uneven set over its smallest
# The distance between the closest two centres, in root mean square distances between two rows of one
# blob (sqrt(2 d) standard deviations in d columns): the ratio of the squared distances between blobs and
# within one is then the same in every width.
SEPARATED_DISTANCE = 3.0
LESS_SEPARATED_DISTANCE = 1.5
# scikit-learn's make_blobs, its centres drawn in its default box [-10, 10]: the clusters' standard deviation,
# and each set's count, width and seed.
MAKE_BLOBS_STD = 0.7
MAKE_BLOBS_COUNTS = (3, 5, 8)
MAKE_BLOBS_WIDTHS = (3, 10)
MAKE_BLOBS_SEEDS = (0, 1, 2)
MAKE_BLOBS_ROWS_PER_CLUSTER = 200
NO_STRUCTURE_ROWS = 1000
ELONGATION = 4.0  # the elongated Gaussian's standard deviations run from 1 to this, one per column

SEPARATED, UNEVEN, LESS_SEPARATED, NO_STRUCTURE = "separated", "uneven", "less separated", "none"
GROUPS = (SEPARATED, UNEVEN, LESS_SEPARATED, NO_STRUCTURE)
WELL_SEPARATED = (SEPARATED, UNEVEN)


@dataclasses.dataclass(frozen=True)
class DataSet:
    """One data set: its group, a name that says how it was drawn, its k (None: no structure) and its rows."""

    group: str
    name: str
    k: int | None
    rows: np.ndarray


def closest_distance(points):
    """The smallest distance between two of ``points``."""
    squared = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(squared, np.inf)
    return float(np.sqrt(squared.min()))


def row_distance(n_features, std=1.0):
    """The root mean square distance between two rows of one Gaussian blob of standard deviation ``std``."""
    return std * np.sqrt(2 * n_features)


def centres(n_clusters, n_features, closest, random):
    """``n_clusters`` centres whose closest two are ``closest`` (times ``row_distance``) apart.

    Drawn one by one uniformly in the unit cube, a draw within half the spacing of a grid of
    ``n_clusters`` points of one already chosen drawn again (no pair far closer than the rest), then
    scaled so that the closest two are that far apart.
    """
    too_close = 0.5 * n_clusters ** (-1 / n_features)
    chosen = []
    while len(chosen) < n_clusters:
        candidate = random.uniform(size=n_features)
        if all(np.linalg.norm(candidate - other) >= too_close for other in chosen):
            chosen.append(candidate)
    chosen = np.array(chosen)
    return chosen * (closest * row_distance(n_features) / closest_distance(chosen))


def blobs(middles, sizes, random, std=1.0):
    """Gaussian blobs of standard deviation ``std`` about ``middles``, ``sizes`` rows each, shuffled."""
    rows = np.concatenate(
        [middle + std * random.normal(size=(size, len(middle))) for middle, size in zip(middles, sizes)]
    )
    return rows[random.permutation(len(rows))]


def uneven_sizes(n_clusters, n_rows):
    """Cluster sizes from the smallest to UNEVEN_RATIO times it, in a straight line, about ``n_rows`` in all."""
    shares = np.linspace(1, UNEVEN_RATIO, n_clusters)
    return np.round(shares / shares.sum() * n_rows).astype(int)


def make_blobs_set(n_samples, n_clusters, n_features, seed):
    """scikit-learn's make_blobs at MAKE_BLOBS_STD, in the group its closest two centres' distance puts it."""
    from sklearn import datasets

    options = {"centers": n_clusters, "n_features": n_features, "cluster_std": MAKE_BLOBS_STD, "random_state": seed}
    rows, _, middles = datasets.make_blobs(n_samples, return_centers=True, **options)
    separated = closest_distance(middles) >= SEPARATED_DISTANCE * row_distance(n_features, MAKE_BLOBS_STD)
    group = SEPARATED if separated else LESS_SEPARATED
    name = f"make_blobs({n_samples}, centers={n_clusters}, n_features={n_features}, random_state={seed})"
    return DataSet(group, name, n_clusters, rows)


def data_sets(
    *, counts=CLUSTER_COUNTS, uneven_counts=UNEVEN_COUNTS, widths=WIDTHS, replicates=REPLICATES, make_blobs=True
):
    """Yield every ``DataSet``; each draws from a seed of its own, its place in the list."""
    seeds = itertools.count()
    for n_clusters in counts:
        for n_features in widths:
            for _ in range(replicates):
                size = max(MIN_ROWS, ROWS_PER_CLUSTER * n_clusters) // n_clusters
                for group, closest in ((SEPARATED, SEPARATED_DISTANCE), (LESS_SEPARATED, LESS_SEPARATED_DISTANCE)):
                    random = np.random.RandomState(next(seeds))
                    rows = blobs(centres(n_clusters, n_features, closest, random), [size] * n_clusters, random)
                    yield DataSet(group, f"{n_clusters} blobs in {n_features} columns", n_clusters, rows)
    for n_clusters in uneven_counts:
        for n_features in widths:
            for _ in range(replicates):
                random = np.random.RandomState(next(seeds))
                middles = centres(n_clusters, n_features, SEPARATED_DISTANCE, random)
                sizes = uneven_sizes(n_clusters, UNEVEN_ROWS_PER_CLUSTER * n_clusters)
                name = f"{n_clusters} blobs of {min(sizes)} to {max(sizes)} rows in {n_features} columns"
                yield DataSet(UNEVEN, name, n_clusters, blobs(middles, sizes, random))
    if make_blobs:
        yield make_blobs_set(1500, 5, 3, 5)
        for n_clusters in MAKE_BLOBS_COUNTS:
            for n_features in MAKE_BLOBS_WIDTHS:
                for seed in MAKE_BLOBS_SEEDS:
                    yield make_blobs_set(MAKE_BLOBS_ROWS_PER_CLUSTER * n_clusters, n_clusters, n_features, seed)
    for n_features in widths:
        for _ in range(replicates):
            random = np.random.RandomState(next(seeds))
            shape = (NO_STRUCTURE_ROWS, n_features)
            spread = np.linspace(1, ELONGATION, n_features)
            for name, rows in (
                ("uniform in a cube", random.uniform(-1, 1, size=shape)),
                ("one round Gaussian", random.normal(size=shape)),
                ("one elongated Gaussian", spread * random.normal(size=shape)),
            ):
                yield DataSet(NO_STRUCTURE, f"{name}, {n_features} columns", None, rows)


def right(answer, truth):
    """Whether a rule's ``answer`` is the data set's k; on a set without structure, None and 1 are right."""
    return answer in (None, 1) if truth is None else answer == truth


def share(answers, rule, groups):
    """``rule``'s share of right answers on the data sets of ``groups``, as "90% (9/10)"."""
    marks = [right(found[rule], data_set.k) for data_set, found in answers if data_set.group in groups]
    return f"{np.mean(marks):.0%} ({sum(marks)}/{len(marks)})" if marks else "-"


def table(answers, seconds):
    """The results as a Markdown table: a row per rule, its shares of right answers, and its seconds."""
    lines = [
        "| rule | well separated | all sets | " + " | ".join(GROUPS) + " | seconds |",
        "|---|---|---|" + "---|" * len(GROUPS) + "---|",
    ]
    for rule in RULES:
        shares = " | ".join(share(answers, rule, (group,)) for group in GROUPS)
        spent = seconds[GAP_RULE if rule in GAP_RULES else SILHOUETTE_RULE]
        lines.append(
            f"| {rule} | {share(answers, rule, WELL_SEPARATED)} | {share(answers, rule, GROUPS)} | {shares} "
            f"| {spent:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-k", type=int, default=15, help="fit every k from 1 to this [default: 15]")
    parser.add_argument(
        "--gap-references",
        type=int,
        default=DEFAULT_GAP_REFERENCES,
        help=f"the gap statistic's reference sets [default: {DEFAULT_GAP_REFERENCES}]",
    )
    parser.add_argument("--seed", type=int, default=0, help="elbow's seed [default: 0]")
    parser.add_argument("--verbose", action="store_true", help="print every data set's answers")
    parser.add_argument("--quick", action="store_true", help="a few small data sets, k from 1 to 6")
    args = parser.parse_args(argv)
    import kmeans_tf
    from kmeans_tf.engine.choosing_k import suggest

    print(f"kmeans_tf from {Path(kmeans_tf.__file__).parent}")

    chosen = (
        data_sets(counts=(2, 3), uneven_counts=(3,), widths=(2,), replicates=1, make_blobs=False)
        if args.quick
        else data_sets()
    )
    max_k = 6 if args.quick else args.max_k
    if args.verbose:
        print("| group | data set | k | rows | " + " | ".join(RULES) + " |")
        print("|---|---|---|---|" + "---|" * len(RULES))
    answers = []  # (DataSet, {rule: answer})
    seconds = {SILHOUETTE_RULE: 0.0, GAP_RULE: 0.0}
    for data_set in chosen:
        found = {}
        for measured_by in seconds:
            start = time.perf_counter()
            result = kmeans_tf.elbow(
                data_set.rows.astype(np.float32),
                range(1, max_k + 1),
                seed=args.seed,
                rule=measured_by,
                gap_references=args.gap_references,
            )
            seconds[measured_by] += time.perf_counter() - start
            found.update(
                {rule: suggest(result, rule) for rule in RULES if (rule in GAP_RULES) == (measured_by == GAP_RULE)}
            )
        answers.append((data_set, found))
        if args.verbose:
            shown = " | ".join(str(found[rule]) for rule in RULES)
            print(f"| {data_set.group} | {data_set.name} | {data_set.k} | {len(data_set.rows)} | {shown} |", flush=True)
    counts = ", ".join(f"{sum(data_set.group == group for data_set, _ in answers)} {group}" for group in GROUPS)
    print(
        f"\n{len(answers)} data sets ({counts}), k from 1 to {max_k}, {args.gap_references} reference sets; "
        f"seconds: {seconds[SILHOUETTE_RULE]:.0f} for the fits and scores that the other rules read, "
        f"{seconds[GAP_RULE]:.0f} for the gap rules' (the data's and the reference sets')\n"
    )
    print(table(answers, seconds))
    return answers


if __name__ == "__main__":
    main()

"""Score the rules that suggest k (``RULES``) on seeded data sets whose k is known.

Each data set is fitted once by ``kmeans_tf.elbow`` for every k from 1 to ``--max-k``, with a gap
rule so that the gap statistic is measured too, and every rule reads its k from those same fits
(``choosing_k.suggest``). The data sets, each a few hundred to 2,000 rows:

- separated: k blobs of standard deviation 1, centres at least 8 apart, equal sizes;
- uneven: the same, the largest cluster 5 times the smallest;
- overlapping: the separated sets' centres with a standard deviation of 2;
- none: no cluster structure (uniform in a cube, or one Gaussian): the right answer is none (or k = 1).

The table gives each rule's share of right answers on the well-separated sets (separated and
uneven), on every set, on each group, and its answers on the "none" sets. Results, dated, go in
docs/choosing-k.md.

Usage
-----
::

    python benchmarks/bench_choosing_k.py                 # 44 sets, k from 1 to 15, 5 reference sets
    python benchmarks/bench_choosing_k.py --verbose       # and every set's answers
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(REPO_ROOT))

from kmeans_tf.engine.options import DEFAULT_GAP_REFERENCES, GAP_RULE, RULES  # noqa: E402

CLUSTER_COUNTS = (2, 3, 4, 6, 8, 12)
WIDTHS = (2, 10, 50)
UNEVEN_COUNTS = (5, 10)
UNEVEN_WIDTHS = (3, 20)
NONE_WIDTHS = (2, 20)
ROWS_PER_CLUSTER = 100
MIN_ROWS, MAX_ROWS = 300, 2000
MIN_CENTRE_DISTANCE = 8.0
SEPARATED_STD, OVERLAPPING_STD = 1.0, 2.0
UNEVEN_RATIO = 5.0
WELL_SEPARATED = ("separated", "uneven")
GROUPS = ("separated", "uneven", "overlapping", "none")


def centres(n_clusters, n_features, random):
    """``n_clusters`` centres at least MIN_CENTRE_DISTANCE apart, drawn one by one in a cube that grows with k."""
    half_width = max(10.0, 4.0 * np.sqrt(n_clusters))
    chosen = []
    while len(chosen) < n_clusters:
        candidate = random.uniform(-half_width, half_width, n_features)
        if all(np.linalg.norm(candidate - other) >= MIN_CENTRE_DISTANCE for other in chosen):
            chosen.append(candidate)
    return np.array(chosen)


def blobs(middles, sizes, std, random):
    """Gaussian blobs of standard deviation ``std`` about ``middles``, ``sizes`` rows each, shuffled."""
    rows = np.concatenate([middle + std * random.normal(size=(size, len(middle))) for middle, size in zip(middles, sizes)])
    return rows[random.permutation(len(rows))]


def data_sets():
    """Yield (group, name, right k or None, rows) for every data set, each seeded by its place in the list."""
    seed = 0
    for n_clusters in CLUSTER_COUNTS:
        for n_features in WIDTHS:
            random = np.random.RandomState(seed)
            seed += 1
            middles = centres(n_clusters, n_features, random)
            size = min(MAX_ROWS, max(MIN_ROWS, ROWS_PER_CLUSTER * n_clusters)) // n_clusters
            for group, std in (("separated", SEPARATED_STD), ("overlapping", OVERLAPPING_STD)):
                yield group, f"k={n_clusters} d={n_features}", n_clusters, blobs(middles, [size] * n_clusters, std, random)
    for n_clusters in UNEVEN_COUNTS:
        for n_features in UNEVEN_WIDTHS:
            random = np.random.RandomState(seed)
            seed += 1
            shares = np.linspace(1, UNEVEN_RATIO, n_clusters)
            sizes = np.round(shares / shares.sum() * min(MAX_ROWS, ROWS_PER_CLUSTER * 2 * n_clusters)).astype(int)
            middles = centres(n_clusters, n_features, random)
            yield "uneven", f"k={n_clusters} d={n_features}", n_clusters, blobs(middles, sizes, SEPARATED_STD, random)
    for n_features in NONE_WIDTHS:
        random = np.random.RandomState(seed)
        seed += 1
        yield "none", f"uniform d={n_features}", None, random.uniform(-10, 10, size=(1000, n_features))
        yield "none", f"gaussian d={n_features}", None, random.normal(size=(1000, n_features))


def right(answer, truth):
    """Whether a rule's ``answer`` is the data set's k; on a set with none, None and 1 are right."""
    return answer in (None, 1) if truth is None else answer == truth


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
    args = parser.parse_args(argv)
    import kmeans_tf
    from kmeans_tf.engine.choosing_k import suggest

    start = time.perf_counter()
    answers = []  # (group, name, truth, {rule: answer})
    if args.verbose:
        print("| group | data set | rows | " + " | ".join(RULES) + " |")
        print("|---|---|---|" + "---|" * len(RULES))
    for group, name, truth, rows in data_sets():
        result = kmeans_tf.elbow(
            rows.astype(np.float32),
            range(1, args.max_k + 1),
            seed=args.seed,
            rule=GAP_RULE,
            gap_references=args.gap_references,
        )
        answers.append((group, name, truth, {rule: suggest(result, rule) for rule in RULES}))
        if args.verbose:
            shown = " | ".join(str(answers[-1][3][rule]) for rule in RULES)
            print(f"| {group} | {name} (k={truth}) | {len(rows)} | {shown} |", flush=True)
    seconds = time.perf_counter() - start

    def share(rule, groups):
        marks = [right(found[rule], truth) for group, _, truth, found in answers if group in groups]
        return f"{np.mean(marks):.0%} ({sum(marks)}/{len(marks)})"

    print(f"\n{len(answers)} data sets, k from 1 to {args.max_k}, {args.gap_references} reference sets, {seconds:.0f} s\n")
    print("| rule | well separated | all sets | " + " | ".join(GROUPS) + " | answers on none |")
    print("|---|---|---|" + "---|" * len(GROUPS) + "---|")
    for rule in RULES:
        on_none = ", ".join(str(found[rule]) for group, _, _, found in answers if group == "none")
        shares = " | ".join(share(rule, (group,)) for group in GROUPS)
        print(f"| {rule} | {share(rule, WELL_SEPARATED)} | {share(rule, GROUPS)} | {shares} | {on_none} |")


if __name__ == "__main__":
    main()

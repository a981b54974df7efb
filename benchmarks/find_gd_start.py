"""Find where the post "k-means by gradient descent" started, by trying every start.

The post chose its 3 initial prototypes with an unseeded ``np.random.choice`` among the 500
rows of ``make_blobs(500, random_state=1111)``, then printed the cost after optimizer steps
1, 11, ..., 101 (its "Iteration 0, 10, ..., 100"). This script tries all C(500, 3) =
20,708,500 unordered triples of rows (the cost does not depend on the prototypes' order):

1. the cost after one step, ``GradientDescentOptimizer(learning_rate)`` worked out in
   float64 for every triple, must be within ``--tolerance`` of the post's first row
   (vectorised: for each pair of rows, all third rows at once);
2. the survivors run the post's 101 steps in float32 (numpy, as TensorFlow computes them)
   and must give all 11 printed rows to ``--rtol``;
3. the winner is checked against ``gd_kmeans.init_seed`` (the post's own
   ``np.random.choice`` call after ``np.random.seed``) and run through ``gd_kmeans.main()``.

Run::

    python -m benchmarks.find_gd_start [--jobs 2] [--start 0] [--limit 500]

``--start``/``--limit`` search the triples whose first (smallest) row is in
``[start, start + limit)``; the default searches them all (a few minutes on 2 cores).
"""

import argparse
import multiprocessing
import os
import time

import numpy as np

import gd_kmeans
from tests.cases import POST_COSTS

FIRST_ROW_TOLERANCE = 1e-2  # float32 rounding of the first row is ~0.002 (one ulp at 21533)
TABLE_RTOL = 1e-6


class Search:
    """The post's data, prepared once per process: the float32 rows and their pairwise squared distances."""

    def __init__(self, tolerance=FIRST_ROW_TOLERANCE):
        self.X32 = gd_kmeans.make_data()
        self.X = self.X32.astype(np.float64)
        self.n = len(self.X)
        self.tolerance = tolerance
        self.target = POST_COSTS[0]
        self.distances = ((self.X[:, None, :] - self.X[None, :, :]) ** 2).sum(axis=2)  # (n, n)
        self.squared_norms_sum = float((self.X**2).sum())
        self.step = 2 * gd_kmeans.learning_rate  # d/dw of (x - w)^2 is 2 (w - x)

    def first_row_matches(self, a):
        """Return the triples (a, b, c), a < b < c, whose cost after one step is near the post's first row."""
        X, D, lr2 = self.X, self.distances, self.step
        found = []
        for b in range(a + 1, self.n - 1):
            cs = np.arange(b + 1, self.n)
            to_a = D[:, a] <= D[:, b]  # argmin's first index wins a tie
            nearest_ab = np.minimum(D[:, a], D[:, b])
            to_c = (D[:, cs] < nearest_ab[:, None]).astype(np.float64)  # (n, C)
            # Per prototype and third row: count and sum of the rows assigned to it.
            count_c = to_c.sum(axis=0)
            sum_c = X.T @ to_c  # (2, C)
            taken_a = to_a.astype(np.float64) @ to_c
            taken_a_sum = (X * to_a[:, None]).T @ to_c
            count_a = to_a.sum() - taken_a
            sum_a = X[to_a].sum(axis=0)[:, None] - taken_a_sum
            count_b = (~to_a).sum() - (count_c - taken_a)
            sum_b = X[~to_a].sum(axis=0)[:, None] - (sum_c - taken_a_sum)
            # One gradient step: w <- w - lr * 2 (count w - sum).
            new_a = X[a][:, None] - lr2 * (count_a * X[a][:, None] - sum_a)  # (2, C)
            new_b = X[b][:, None] - lr2 * (count_b * X[b][:, None] - sum_b)
            new_c = X[cs].T - lr2 * (count_c * X[cs].T - sum_c)
            # sum_i min_k |x_i - w_k|^2 = sum_i |x_i|^2 + sum_i min_k (|w_k|^2 - 2 x_i . w_k)
            nearest = None
            for w in (new_a, new_b, new_c):
                term = (w**2).sum(axis=0) - 2 * (X @ w)  # (n, C)
                nearest = term if nearest is None else np.minimum(nearest, term, out=nearest)
            costs = nearest.sum(axis=0) + self.squared_norms_sum
            for c in cs[np.abs(costs - self.target) <= self.tolerance]:
                found.append((a, b, int(c)))
        return found

    def table(self, triples):
        """Run the post's loop in float32 from each triple; return the costs after each step (triples, steps + 1)."""
        X = self.X32
        W = X[np.asarray(triples)].copy()  # (T, k, 2)
        learning_rate = np.float32(gd_kmeans.learning_rate)
        costs = []
        for _ in range(gd_kmeans.steps + 1):
            differences = X[None, :, None, :] - W[:, None, :, :]  # (T, n, k, 2)
            distances = (differences**2).sum(axis=3)
            nearest = distances.argmin(axis=2)
            assigned = (nearest[..., None] == np.arange(W.shape[1])).astype(np.float32)  # (T, n, k)
            W = W - learning_rate * np.einsum("tnk,tnkd->tkd", assigned, -2 * differences)
            distances = ((X[None, :, None, :] - W[:, None, :, :]) ** 2).sum(axis=3)
            costs.append(distances.min(axis=2).sum(axis=1))
        return np.stack(costs, axis=1)


_search = None


def _first_row_matches(a):
    global _search
    if _search is None:
        _search = Search()
    return a, _search.first_row_matches(a)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.find_gd_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="worker processes")
    parser.add_argument("--start", type=int, default=0, help="smallest first row searched")
    parser.add_argument("--limit", type=int, default=None, help="how many first rows to search")
    args = parser.parse_args(argv)

    search = Search()
    stop = search.n - 2 if args.limit is None else min(search.n - 2, args.start + args.limit)
    firsts = range(args.start, stop)
    n_triples = sum((search.n - a - 1) * (search.n - a - 2) // 2 for a in firsts)
    print(f"{n_triples:,} triples (first row {args.start}..{stop - 1}), {args.jobs} processes")

    began = time.perf_counter()
    candidates = []
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        for _, found in pool.imap_unordered(_first_row_matches, firsts):
            candidates.extend(found)
    candidates.sort()
    print(
        f"step 1: {len(candidates)} triples within {FIRST_ROW_TOLERANCE} of the post's first row "
        f"{POST_COSTS[0]} ({time.perf_counter() - began:.0f} s)"
    )

    winners = []
    if candidates:
        table = search.table(candidates)[:, :: gd_kmeans.report_every]
        for triple, rows in zip(candidates, table):
            worst = np.max(np.abs(rows - POST_COSTS) / np.array(POST_COSTS))
            verdict = "all 11 rows" if worst <= TABLE_RTOL else "no"
            print(
                f"  rows {triple}: iteration 10 cost {rows[1]:.8g}, worst relative difference {worst:.2e} -> {verdict}"
            )
            if worst <= TABLE_RTOL:
                winners.append(triple)
    print(
        f"step 2: {len(winners)} triple(s) reproduce the post's table to {TABLE_RTOL} relative: {winners} "
        f"({time.perf_counter() - began:.0f} s)"
    )

    drawn = np.random.RandomState(gd_kmeans.init_seed).choice(range(search.n), gd_kmeans.k, replace=False)
    print(
        f"seed check: np.random.RandomState({gd_kmeans.init_seed}).choice(range({search.n}), {gd_kmeans.k}, "
        f"replace=False) = {drawn.tolist()}, sorted {sorted(drawn.tolist())}"
    )
    for triple in winners:
        costs = gd_kmeans.main(search.X32, search.X32[list(triple)])[0][:: gd_kmeans.report_every]
        worst = np.max(np.abs(costs - POST_COSTS) / np.array(POST_COSTS))
        print(f"TensorFlow from rows {triple}: worst relative difference to the post {worst:.2e}")


if __name__ == "__main__":
    main()

"""Print the largest differences between the graph lesson, the eager engine and scikit-learn.

Runs the same cases as ``tests/test_parity.py`` and reports the worst case of each
comparison, instead of only pass/fail::

    python -m benchmarks.parity_report
"""

import numpy as np
from sklearn.cluster import KMeans

import functions
import gd_kmeans
from compat import eager
from tests.cases import SEEDS, SHAPES, random_case, run_in_graph, shipped


def relative(a, b):
    """Return the largest relative difference of ``a`` to ``b``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def graph_vs_eager():
    """Compare the graph lesson with the eager engine on the shared cases; return the worst differences."""
    worst = {
        "labels differing": 0,
        "one-step centroids (max abs)": 0.0,
        "10-iteration centroids (max abs)": 0.0,
        "cost (rel)": 0.0,
    }
    for seed in SEEDS:
        for shape in SHAPES:
            samples, initial = random_case(seed, *shape)
            k = shape[2]
            labels, cost = run_in_graph(
                lambda: (
                    functions.assign_to_nearest(samples, initial),
                    functions.total_squared_distance(samples, initial),
                )
            )
            worst["labels differing"] += int(np.sum(eager.assign_to_nearest(samples, initial).numpy() != labels))
            worst["cost (rel)"] = max(
                worst["cost (rel)"], relative(eager.total_squared_distance(samples, initial), cost)
            )
            step = run_in_graph(lambda: functions.update_centroids(samples, labels, k, initial))
            worst["one-step centroids (max abs)"] = max(
                worst["one-step centroids (max abs)"],
                float(np.abs(eager.update_centroids(samples, labels, k, initial) - step).max()),
            )
            history = run_in_graph(lambda: functions.iterate_kmeans(samples, initial, k))
            worst["10-iteration centroids (max abs)"] = max(
                worst["10-iteration centroids (max abs)"],
                float(np.abs(eager.iterate_kmeans(samples, initial, k) - np.stack(history)).max()),
            )
    data = gd_kmeans.make_data()
    initial = gd_kmeans.initial_prototypes(data)
    graph_costs, *_ = gd_kmeans.main(data, initial, steps=gd_kmeans.steps)
    _, eager_costs = eager.gd_kmeans(data, initial, steps=gd_kmeans.steps)  # both: steps + 1 costs
    worst["gd cost per step (rel)"] = relative(eager_costs, graph_costs)
    worst["gd final cost graph / eager"] = f"{graph_costs[-1]:.4f} / {float(eager_costs[-1]):.4f}"
    return worst


def eager_vs_sklearn():
    """Compare ``eager.kmeans`` with scikit-learn's lloyd from the same start; return the worst differences."""
    cases = [
        (shipped(name), k, seed)
        for name, k in [("iris", 3), ("wine", 3), ("breast_cancer", 2), ("diabetes", 6)]
        for seed in range(3)
    ]
    cases += [(random_case(seed, 400, 4, 6, dtype)[0], 6, seed) for seed in SEEDS for dtype in (np.float32, np.float64)]
    worst = {
        "cases": len(cases),
        "labels differing": 0,
        "n_iter differing": 0,
        "inertia (rel)": 0.0,
        "centroids (max abs)": 0.0,
    }
    for samples, k, seed in cases:
        initial = samples[np.random.RandomState(seed).choice(len(samples), k, replace=False)]
        ours = eager.kmeans(samples, k, init=initial)
        theirs = KMeans(k, init=initial, n_init=1, algorithm="lloyd").fit(samples)
        worst["labels differing"] += int(np.sum(ours.labels != theirs.labels_))
        worst["n_iter differing"] += int(ours.n_iter != theirs.n_iter_)
        worst["inertia (rel)"] = max(worst["inertia (rel)"], relative(ours.inertia, theirs.inertia_))
        worst["centroids (max abs)"] = max(
            worst["centroids (max abs)"], float(np.abs(ours.centroids - theirs.cluster_centers_).max())
        )
    return worst


if __name__ == "__main__":
    for title, report in [
        ("graph lesson vs eager engine", graph_vs_eager()),
        ("eager kmeans vs scikit-learn lloyd (same init, tol=1e-4)", eager_vs_sklearn()),
    ]:
        print(title)
        for key, value in report.items():
            print(f"  {key:36s} {value:.3g}" if isinstance(value, float) else f"  {key:36s} {value}")

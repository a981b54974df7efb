"""Write the pinned lesson results to tests/golden/*.json.

Run after a change that is meant to alter the lessons' numbers (``make golden``, or
``python -m tests.golden.regenerate``), and commit the JSON with a note saying why.
"""

import json
from pathlib import Path

import gd_kmeans
import generate_samples
import kmeans_iterate

GOLDEN_DIR = Path(__file__).parent


def sample_summary(samples):
    """Summarise the generated samples: per-feature mean, std, min, max and the first rows."""
    return {
        "shape": list(samples.shape),
        "mean": samples.mean(axis=0).tolist(),
        "std": samples.std(axis=0).tolist(),
        "min": samples.min(axis=0).tolist(),
        "max": samples.max(axis=0).tolist(),
        "first_rows": samples[:5].tolist(),
    }


def current_results():
    """Compute every pinned result with the lessons' default settings."""
    sample_values, centroid_values = generate_samples.main()
    _, initial, centroid_history, cost_history, _ = kmeans_iterate.main()
    costs, prototypes, _, _ = gd_kmeans.main()
    return {
        "generate_samples": {"centroids": centroid_values.tolist(), "samples": sample_summary(sample_values)},
        "kmeans_iterate": {
            "initial_centroids": initial.tolist(),
            "centroids": centroid_history.tolist(),
            "costs": cost_history.tolist(),
        },
        "gd_kmeans": {
            "costs_every_10_steps": costs[:: gd_kmeans.report_every].tolist(),
            "prototypes": prototypes.tolist(),
        },
    }


def main():
    for name, result in current_results().items():
        path = GOLDEN_DIR / f"{name}.json"
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

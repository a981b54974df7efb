"""Shared test set-up: headless matplotlib, and running graph-mode code in its own graph."""
import matplotlib

matplotlib.use("agg")

import pytest  # noqa: E402

from compat import v1 as tf  # noqa: E402


def run_in_graph(build, seed=None):
    """Build ops with ``build()`` in a fresh ``tf.Graph`` and return ``session.run`` of what it returns."""
    graph = tf.Graph()
    with graph.as_default():
        if seed is not None:
            tf.set_random_seed(seed)
        fetches = build()
    with tf.Session(graph=graph) as session:
        return session.run(fetches)


@pytest.fixture
def graph_run():
    """The ``run_in_graph`` helper, as a fixture."""
    return run_in_graph

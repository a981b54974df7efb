"""Shared test set-up: headless matplotlib, and running graph-mode code in its own graph."""
import matplotlib

matplotlib.use("agg")

import pytest  # noqa: E402

from tests.cases import run_in_graph  # noqa: E402


@pytest.fixture
def graph_run():
    """The ``run_in_graph`` helper, as a fixture."""
    return run_in_graph

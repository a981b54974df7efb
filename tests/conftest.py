"""Shared test set-up: headless matplotlib, running graph-mode code in its own graph, and the C kernel's fixtures."""

import os

import matplotlib

matplotlib.use("agg")

import pytest  # noqa: E402

from kmeans_tf import native  # noqa: E402
from tests.cases import native_switched_off, run_in_graph  # noqa: E402

# Set to 1 (as CI does) to make a missing C kernel fail the tests that need it instead of skipping them.
REQUIRE_NATIVE_VARIABLE = "KMEANS_TF_REQUIRE_NATIVE"


@pytest.fixture
def graph_run():
    """The ``run_in_graph`` helper, as a fixture."""
    return run_in_graph


@pytest.fixture
def native_kernel():
    """The C kernel; a test that needs it skips where it is not available (fails with KMEANS_TF_REQUIRE_NATIVE=1)."""
    kernel = native.kernel()
    if kernel is None:
        reason = f"the C kernel is not available here: {native.description()}"
        if os.environ.get(REQUIRE_NATIVE_VARIABLE) == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return kernel


@pytest.fixture
def without_native_kernel():
    """Run the test on TensorFlow's ops, as on a machine where the C kernel did not build."""
    with native_switched_off():
        yield


@pytest.fixture(params=["native_kernel", "without_native_kernel"], ids=["C kernel", "TensorFlow ops"])
def either_path(request):
    """Run the test on the fused C kernel (where this machine has it) and on TensorFlow's ops."""
    return request.getfixturevalue(request.param)

"""Checks of ``kmeans(..., strategy=...)`` that run in a process of their own (``python -m tests.distributed_checks``).

A MirroredStrategy needs two logical CPU devices, which TensorFlow makes only before it
starts its devices: the test suite's process has started them, so these checks run here,
and the test reads the exit status and the last line ("ok").
"""

import os
import sys

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from kmeans_tf._tensorflow import tf
from tests.cases import native_switched_off, random_case

# Two replicas of 65536 rows: each one chunk of the single process's stream at this budget, and one block of sums.
BIT_EXACT_ROWS, BIT_EXACT_BUDGET = 2 * 65536, 12 * 2**20


def mirrored_strategy(devices=2):
    """A MirroredStrategy over ``devices`` logical CPU devices (before TensorFlow starts its devices)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
    return tf.distribute.MirroredStrategy([f"/cpu:{index}" for index in range(devices)])


def assert_single_process_answer(distributed, single, rtol):
    assert_array_equal(distributed.labels, np.asarray(single.labels))
    assert (distributed.n_iter, distributed.converged) == (single.n_iter, single.converged)
    # the sums are exact, so the centroids are equal bit for bit; the inertia is a float64 sum, to its rounding
    assert distributed.centroids.tobytes() == np.asarray(single.centroids).tobytes()
    assert_allclose(distributed.inertia, single.inertia, rtol=rtol)


def check_equal_to_one_process(strategy):
    from compat import eager

    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        for seed in range(2):
            samples, initial = random_case(seed, 20001, 5, 7, dtype)
            weights = np.random.RandomState(seed).uniform(0.5, 2, len(samples)) if seed else None
            options = dict(max_iter=100, sample_weight=weights)
            single = eager.kmeans(eager.Shards([samples]), 7, init=initial, **options)
            assert_single_process_answer(
                eager.kmeans(samples, 7, init=initial, strategy=strategy, **options), single, rtol
            )
            seeded = dict(init="k-means++", seed=seed, **options)
            assert_single_process_answer(
                eager.kmeans(samples, 7, strategy=strategy, **seeded),
                eager.kmeans(eager.Shards([samples]), 7, **seeded),
                rtol,
            )
    # an empty cluster at the first iteration: relocated to the farthest sample, as one process does
    samples, initial = random_case(3, 5000, 3, 4, np.float64)
    initial[0] = 1e3
    assert_single_process_answer(
        eager.kmeans(samples, 4, init=initial, strategy=strategy),
        eager.kmeans(eager.Shards([samples]), 4, init=initial),
        1e-12,
    )


def check_n_init_and_history(strategy):
    """``n_init=3`` from a seeded string init, with ``keep_history``: every run, the best and its history as one
    process gives them (at most ``SEEDING_SAMPLE_ROWS`` rows: the same candidates and draws)."""
    from compat import eager

    cases = [
        (np.float64, "random", False, 1e-12),
        (np.float64, "k-means++", True, 1e-12),
        (np.float64, "k-means||", False, 1e-12),
        (np.float32, "random", True, 1e-5),
    ]
    for dtype, init, weighted, rtol in cases:
        samples, _ = random_case(4, 20001, 5, 7, dtype)
        weights = np.random.RandomState(1).uniform(0.5, 2, len(samples)) if weighted else None
        options = dict(init=init, n_init=3, seed=5, keep_history=True, max_iter=100, sample_weight=weights)
        single_runs, distributed_runs = [], []
        single = eager.kmeans(eager.Shards([samples]), 7, callback=single_runs.append, **options)
        distributed = eager.kmeans(samples, 7, strategy=strategy, callback=distributed_runs.append, **options)
        assert {state.run for state in single_runs} == {0, 1, 2}
        assert [(state.run, state.iteration, state.changed, state.converged) for state in distributed_runs] == [
            (state.run, state.iteration, state.changed, state.converged) for state in single_runs
        ]
        for field in ("inertia", "shift", "sizes"):
            assert_allclose(
                [getattr(state, field) for state in distributed_runs],
                [getattr(state, field) for state in single_runs],
                rtol=rtol,
                atol=0,
            )
        assert_single_process_answer(distributed, single, rtol)
        assert distributed.centroid_history.shape == (single.n_iter + 1, 7, 5)
        assert_allclose(distributed.centroid_history, single.centroid_history, rtol=rtol, atol=0)


def check_weights_zero_on_one_replica(strategy):
    """Weights all 0 on the first replica's rows: the fit of one process; too few weights > 0 refused as there."""
    from compat import eager

    samples, initial = random_case(5, 20001, 5, 7, np.float64)
    weights = np.random.RandomState(5).uniform(0.5, 2, len(samples))
    weights[:10000] = 0  # the first replica's rows
    for options in (dict(init=initial), dict(init="k-means++", seed=3)):
        assert_single_process_answer(
            eager.kmeans(samples, 7, sample_weight=weights, strategy=strategy, **options),
            eager.kmeans(eager.Shards([samples]), 7, sample_weight=weights, **options),
            1e-12,
        )
    weights[10000:-3] = 0  # 3 weights > 0, on the second replica
    messages = []
    for fit in (
        lambda: eager.kmeans(eager.Shards([samples]), 7, init="random", sample_weight=weights),
        lambda: eager.kmeans(samples, 7, init="random", sample_weight=weights, strategy=strategy),
    ):
        try:
            fit()
            raise AssertionError("too few weights > 0 for init='random' were not refused")
        except ValueError as error:
            messages.append(str(error))
    assert "but sample_weight has 3" in messages[0] and messages[1] == messages[0], messages


def check_scaled_data(strategy):
    """Cells near the dtype's limits: scaled by the power of two one process uses, and its answer."""
    from compat import eager
    from kmeans_tf.stream import prepare as stream_prepare
    from kmeans_tf.stream import sources

    for dtype, factor, rtol in ((np.float32, 1e20, 1e-5), (np.float32, 1e-20, 1e-5), (np.float64, 1e150, 1e-12)):
        samples, initial = random_case(2, 20001, 5, 7, np.float64)
        samples, initial = (samples * factor).astype(dtype), (initial * factor).astype(dtype)
        assert stream_prepare.prepare_stream(sources.Source(samples), 4096).exponent != 0  # the case needs the scale
        single = eager.kmeans(eager.Shards([samples]), 7, init=initial, max_iter=100)
        assert_single_process_answer(
            eager.kmeans(samples, 7, init=initial, max_iter=100, strategy=strategy), single, rtol
        )


def check_column_sums_beyond_float64(strategy):
    """Cells of 1e306: the column sums overflow, the data are scaled as one process scales them, and the inertia is
    refused as there (beyond float64)."""
    from compat import eager

    samples, initial = random_case(2, 20001, 5, 7, np.float64)
    samples, initial = samples * 1e306, initial * 1e306
    with np.errstate(over="ignore"):
        assert not np.isfinite(samples.sum(axis=0)).all()
    messages = []
    for fit in (
        lambda: eager.kmeans(eager.Shards([samples]), 7, init=initial),
        lambda: eager.kmeans(samples, 7, init=initial, strategy=strategy),
    ):
        try:
            fit()
            raise AssertionError("an inertia beyond float64 was not refused")
        except ValueError as error:
            messages.append(str(error))
    assert messages[0].startswith("the inertia (") and messages[1] == messages[0], messages


def check_not_finite(strategy):
    """A NaN in the second replica's rows: refused with its row among all the rows, as one process says it."""
    from compat import eager

    samples, _ = random_case(0, 20001, 5, 7, np.float64)
    samples[15000, 3] = np.nan
    try:
        eager.kmeans(samples, 7, strategy=strategy)
        raise AssertionError("a NaN was not refused")
    except ValueError as error:
        assert str(error) == "samples should be finite, got nan at row 15000, column 3", error


def check_cosine(strategy):
    """metric="cosine": the labels, iterations and centroids of one process, seeded or from given centroids; a row of
    zeros on the second replica refused by its row among all the rows, as one process says it."""
    from compat import eager

    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        samples, initial = random_case(6, 20001, 5, 7, dtype)
        weights = np.random.RandomState(6).uniform(0.5, 2, len(samples))
        for options in (dict(init=initial), dict(init="k-means++", seed=2, sample_weight=weights)):
            assert_single_process_answer(
                eager.kmeans(samples, 7, metric="cosine", strategy=strategy, **options),
                eager.kmeans(eager.Shards([samples]), 7, metric="cosine", **options),
                rtol,
            )
    samples[15000] = 0
    try:
        eager.kmeans(samples, 7, metric="cosine", strategy=strategy)
        raise AssertionError("a row of zeros was not refused")
    except ValueError as error:
        assert str(error).startswith("samples has a row of zeros at row 15000:"), error


def check_bit_identical(strategy):
    from compat import eager

    samples, initial = random_case(0, BIT_EXACT_ROWS, 4, 6, np.float64)
    single = eager.kmeans(eager.Shards([samples]), 6, init=initial, memory_budget=BIT_EXACT_BUDGET)
    distributed = eager.kmeans(samples, 6, init=initial, memory_budget=BIT_EXACT_BUDGET, strategy=strategy)
    assert_array_equal(distributed.centroids, single.centroids)
    assert distributed.inertia == single.inertia and distributed.n_iter == single.n_iter


def check_resumed_from_a_checkpoint(strategy):
    import tempfile

    from compat import eager
    from kmeans_tf.stream import checkpoint as checkpoints

    samples, initial = random_case(1, 20001, 5, 7, np.float64)
    whole = eager.kmeans(samples, 7, init=initial, tol=0, strategy=strategy)
    assert whole.n_iter > 3
    save = checkpoints.Checkpoint.save

    def save_then_stop(self, n_iter, previous, centroids):
        save(self, n_iter, previous, centroids)
        if n_iter == 3:
            raise KeyboardInterrupt  # stands for a crash after iteration 3

    with tempfile.TemporaryDirectory() as folder:
        checkpoints.Checkpoint.save = save_then_stop
        try:
            eager.kmeans(samples, 7, init=initial, tol=0, strategy=strategy, checkpoint=folder, checkpoint_every=3)
            raise AssertionError("the fit was not stopped")
        except KeyboardInterrupt:
            pass
        finally:
            checkpoints.Checkpoint.save = save
        resumed = eager.kmeans(
            samples, 7, init=initial, tol=0, strategy=strategy, checkpoint=folder, checkpoint_every=3
        )
        assert_single_process_answer(resumed, whole, 1e-12)
        assert not os.listdir(folder)


def main():
    strategy = mirrored_strategy()
    check_equal_to_one_process(strategy)
    check_n_init_and_history(strategy)
    check_weights_zero_on_one_replica(strategy)
    check_scaled_data(strategy)
    check_column_sums_beyond_float64(strategy)
    check_not_finite(strategy)
    check_resumed_from_a_checkpoint(strategy)
    check_bit_identical(strategy)
    check_cosine(strategy)
    if "--with-tf-ops" in sys.argv:
        with native_switched_off():
            check_equal_to_one_process(strategy)
    print("ok")


if __name__ == "__main__":
    main()

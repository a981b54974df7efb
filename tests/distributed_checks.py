"""Checks of ``kmeans(..., strategy=...)`` that run in a process of their own (``python -m tests.distributed_checks``).

A MirroredStrategy needs two logical CPU devices, which TensorFlow makes only before it
starts its devices: the test suite's process has started them, so these checks run here,
and the test reads the exit status and the last line ("ok").
"""
import os
import sys

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

from compat._tensorflow import tf
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
    # float64 sums added in another order; float32 centroids may round one ulp apart, and their inertia with them.
    assert_allclose(distributed.centroids, single.centroids, rtol=rtol, atol=0)
    assert_allclose(distributed.inertia, single.inertia, rtol=rtol)


def check_equal_to_one_process(strategy):
    from compat import eager

    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        for seed in range(2):
            samples, initial = random_case(seed, 20001, 5, 7, dtype)
            weights = np.random.RandomState(seed).uniform(0.5, 2, len(samples)) if seed else None
            options = dict(max_iter=100, sample_weight=weights)
            single = eager.kmeans(eager.Shards([samples]), 7, init=initial, **options)
            assert_single_process_answer(eager.kmeans(samples, 7, init=initial, strategy=strategy, **options),
                                         single, rtol)
            seeded = dict(init="k-means++", seed=seed, **options)
            assert_single_process_answer(eager.kmeans(samples, 7, strategy=strategy, **seeded),
                                         eager.kmeans(eager.Shards([samples]), 7, **seeded), rtol)
    # an empty cluster at the first iteration: relocated to the farthest sample, as one process does
    samples, initial = random_case(3, 5000, 3, 4, np.float64)
    initial[0] = 1e3
    assert_single_process_answer(eager.kmeans(samples, 4, init=initial, strategy=strategy),
                                 eager.kmeans(eager.Shards([samples]), 4, init=initial), 1e-12)


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
    from compat.engine import checkpoint as checkpoints

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
        resumed = eager.kmeans(samples, 7, init=initial, tol=0, strategy=strategy, checkpoint=folder,
                               checkpoint_every=3)
        assert_single_process_answer(resumed, whole, 1e-12)
        assert not os.listdir(folder)


def main():
    strategy = mirrored_strategy()
    check_equal_to_one_process(strategy)
    check_resumed_from_a_checkpoint(strategy)
    check_bit_identical(strategy)
    if "--with-tf-ops" in sys.argv:
        with native_switched_off():
            check_equal_to_one_process(strategy)
    print("ok")


if __name__ == "__main__":
    main()

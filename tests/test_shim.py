"""compat.v1: legacy spellings give the modern result and a DeprecationWarning; no global state changes."""

import numpy as np
import pytest
import tensorflow

from compat import v1 as tf

A = np.array([[1.0, -2.0], [3.0, 4.5]], dtype=np.float32)
B = np.array([[0.5, 2.0], [-1.0, 4.0]], dtype=np.float32)


def test_import_keeps_eager_execution_on():
    import functions  # noqa: F401  (importing the lesson must not switch modes either)

    assert tensorflow.executing_eagerly()


@pytest.mark.parametrize(
    "old, modern, args",
    [
        ("sub", "subtract", (A, B)),
        ("mul", "multiply", (A, B)),
        ("neg", "negative", (A,)),
        ("arg_min", "argmin", (A, 1)),
        ("arg_max", "argmax", (A, 0)),
    ],
    ids=["sub", "mul", "neg", "arg_min", "arg_max"],
)
def test_legacy_spelling_warns_and_matches_modern_call(graph_run, old, modern, args):
    with pytest.warns(DeprecationWarning, match=f"tf.{modern}"):
        legacy_value = graph_run(lambda: getattr(tf, old)(*args))
    modern_value = graph_run(lambda: getattr(tf, modern)(*args))
    np.testing.assert_array_equal(legacy_value, modern_value)


def test_legacy_table_entries_all_resolve_to_modern_calls():
    for old, modern in tf.LEGACY_RENAMES.items():
        assert callable(getattr(tensorflow.compat.v1, modern)), (old, modern)
        assert callable(getattr(tf, old))
    assert "sub" in dir(tf) and "Session" in dir(tf)


def test_initialize_all_variables_warns_and_initialises(graph_run):
    def build():
        variable = tf.Variable(A)
        with pytest.warns(DeprecationWarning, match="global_variables_initializer"):
            init = tf.initialize_all_variables()
        with tf.control_dependencies([init]):
            return tf.identity(variable)

    np.testing.assert_array_equal(graph_run(build), A)


def test_concat_legacy_axis_first_order_warns_and_matches(graph_run):
    with pytest.warns(DeprecationWarning, match=r"tf.concat\(values, axis\)"):
        legacy = graph_run(lambda: tf.concat(1, [A, B]))
    np.testing.assert_array_equal(legacy, np.concatenate([A, B], axis=1))


def test_concat_modern_order_does_not_warn(graph_run, recwarn):
    modern = graph_run(lambda: tf.concat([A, B], 0, name="joined"))
    np.testing.assert_array_equal(modern, np.concatenate([A, B], axis=0))
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning) and "concat" in str(w.message)]


def test_seed_002_concat_builds_the_k_copies(graph_run):
    # The post: Xc = tf.concat(2, k * [tf.expand_dims(X, 2)]) -> shape (n, d, k)
    with pytest.warns(DeprecationWarning):
        stacked = graph_run(lambda: tf.concat(2, 3 * [tf.expand_dims(A, 2)]))
    assert stacked.shape == (2, 2, 3)
    for copy in range(3):
        np.testing.assert_array_equal(stacked[:, :, copy], A)

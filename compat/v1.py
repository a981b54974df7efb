"""The TensorFlow 1 API for the lessons' graph-mode code: ``from compat import v1 as tf``.

Every name of ``tf.compat.v1`` is here unchanged. On top of it, the TF 0.x spellings
are kept as data, in ``LEGACY_RENAMES``: each one emits a ``DeprecationWarning`` that
names the modern call, then returns what the modern call returns. Of these, ``sub``,
``mul`` and ``neg`` are gone from TensorFlow 2 (2.21 included); ``arg_min``, ``arg_max``
and ``initialize_all_variables`` still exist in ``tf.compat.v1``, deprecated, and are
routed here so that they warn the same way. ``concat`` also accepts TF 0.x's argument
order ``concat(axis, values)``, gone from TensorFlow 2 (the post "k-means by gradient
descent" writes ``tf.concat(2, k * [...])``).

Nothing here changes global TensorFlow state. Graph code builds in its own
``tf.Graph()`` and runs in ``tf.Session(graph=...)``, so it lives beside eager code
in one process. TensorFlow itself is imported on the first use of a name, not by
``import``: a lesson module can be imported (for its constants, say) at no cost.
"""

import numbers
import warnings


def _v1():
    """Return ``tf.compat.v1``, importing TensorFlow (quietly, see ``kmeans_tf._tensorflow``) on first use."""
    from kmeans_tf._tensorflow import tf

    return tf.compat.v1


# Old name -> modern name in tf.compat.v1 (TensorFlow's upgrade scripts keep the same table).
LEGACY_RENAMES = {
    "sub": "subtract",  # renamed in TF 1.0, gone in TF 2; the lesson's text still says tf.sub
    "mul": "multiply",  # renamed in TF 1.0, gone in TF 2
    "neg": "negative",  # renamed in TF 1.0, gone in TF 2
    "arg_min": "argmin",  # still in tf.compat.v1, deprecated; the post's labels: tf.arg_min(distances, 1)
    "arg_max": "argmax",  # still in tf.compat.v1, deprecated
    "initialize_all_variables": "global_variables_initializer",  # still in tf.compat.v1; the post's initialiser
}


def _legacy(old_name, modern_name):
    def call(*args, **kwargs):
        warnings.warn(
            f"tf.{old_name} is a TensorFlow 0.x spelling; use tf.{modern_name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(_v1(), modern_name)(*args, **kwargs)

    call.__name__ = old_name
    call.__doc__ = f"TensorFlow 0.x's tf.{old_name}: warns, then calls tf.compat.v1.{modern_name}."
    return call


def concat(*args, **kwargs):
    """Concatenate tensors along one axis: ``concat(values, axis)``, or TF 0.x's ``concat(axis, values)``.

    The old order is recognised when the first argument is an integer and the second
    a list or tuple of tensors; it warns and gives the same result as the modern call.
    """
    if len(args) >= 2 and isinstance(args[0], numbers.Integral) and isinstance(args[1], (list, tuple)):
        warnings.warn(
            "tf.concat(axis, values) is TensorFlow 0.x's argument order; use tf.concat(values, axis)",
            DeprecationWarning,
            stacklevel=2,
        )
        args = (args[1], args[0]) + args[2:]
    return _v1().concat(*args, **kwargs)


_LEGACY_CALLS = {old: _legacy(old, new) for old, new in LEGACY_RENAMES.items()}


def __getattr__(name):
    if name in _LEGACY_CALLS:
        return _LEGACY_CALLS[name]
    return getattr(_v1(), name)


def __dir__():
    return sorted(set(dir(_v1())) | set(_LEGACY_CALLS) | {"concat", "LEGACY_RENAMES"})

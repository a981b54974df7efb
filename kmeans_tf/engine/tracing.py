"""Graph functions traced once per dtype, with every dimension left open.

``tf.function`` traces again for each new shape (until ``reduce_retracing`` relaxes it)
and warns when it does so often; a user who calls the engine on many data sets would pay
the tracing and see the warnings. ``traced_per_dtype`` gives each dtype (and each value of
the Python options) one trace with an input signature whose dimensions are all unknown.
"""

import functools

from kmeans_tf._tensorflow import tf
from kmeans_tf.engine import csr_rows


def matrix(dtype):
    return tf.TensorSpec([None, None], dtype)


def vector(dtype):
    return tf.TensorSpec([None], dtype)


def scalar(dtype):
    return tf.TensorSpec([], dtype)


def traced_per_dtype(signature):
    """Decorate a graph-building function: one ``tf.function`` per samples' dtype and options, traced once.

    ``signature(dtype)`` returns the input signature for the function's tensor arguments
    when the first of them (the samples) has ``dtype``; samples that are ``CsrRows``
    (sparse rows) get a trace of their own. Keyword arguments are Python options, fixed in the trace.
    """

    def decorate(function):
        traced = {}

        @functools.wraps(function)
        def call(*tensors, **options):
            rows_are_sparse = isinstance(tensors[0], csr_rows.CsrRows)
            key = (tensors[0].dtype, rows_are_sparse, tuple(sorted(options.items())))
            if key not in traced:
                specs = signature(tensors[0].dtype)
                if rows_are_sparse:  # sparse samples: the same trace over CsrRows
                    specs = [csr_rows.spec(tensors[0].dtype), *specs[1:]]
                traced[key] = tf.function(
                    functools.partial(function, **options), input_signature=specs, autograph=False
                )
            return traced[key](*tensors)

        call.python_function = function
        return call

    return decorate

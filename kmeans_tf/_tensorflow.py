"""Import TensorFlow without its C++ start-up chatter; everything else in compat imports it from here.

TensorFlow prints INFO lines at start-up (oneDNN, cpu_feature_guard) and, on a machine
without CUDA, lines about missing GPU drivers. Some are written before TensorFlow reads
``TF_CPP_MIN_LOG_LEVEL`` (once, at the import), so the variable alone cannot hide them.
Unless the user set that variable to 0 (every line), the import (and the first look at the
devices, where cuInit complains) runs with file descriptor 2 captured, at the user's level or,
when none is set, with INFO lines off, and every captured line that is not known chatter is
written back to stderr. ``quietly()`` does the same for later calls that TensorFlow's graph
rewrites comment on (the engine's float64 passes on TensorFlow's ops). Nothing about
TensorFlow's behaviour changes: eager execution stays on.
"""

import contextlib
import os
import sys
import tempfile

CHATTER = (
    "All log messages before absl::InitializeLog() is called",
    "cudart_stub.cc",
    "cuda_platform.cc",
    "cuda_executor.cc",
    "cpu_feature_guard.cc",
    "oneDNN custom operations are on",
    "To enable the following instructions",
    "Unable to register cu",
    "computation placer already registered",
    "Not handling type DT_DOUBLE",  # oneDNN's graph rewrite passing over a float64 matmul
)


@contextlib.contextmanager
def stderr_without_chatter():
    """Run the body with file descriptor 2 captured; write back every line that is not known chatter."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not any(marker in line for marker in CHATTER):
                    sys.stderr.write(line)


LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
EVERY_LINE = "0"  # the user asked for all of TensorFlow's logging: then nothing is filtered
WARNINGS_AND_ERRORS = "1"  # the level of the import where the user set none
USER_LEVEL = os.environ.get(LEVEL_VARIABLE)
FILTERING = USER_LEVEL != EVERY_LINE


def quietly():
    """Return a context that keeps TensorFlow's chatter off stderr (unless the user set TF_CPP_MIN_LOG_LEVEL=0)."""
    return stderr_without_chatter() if FILTERING else contextlib.nullcontext()


if not FILTERING:
    import tensorflow as tf
else:
    if USER_LEVEL is None:
        os.environ[LEVEL_VARIABLE] = WARNINGS_AND_ERRORS
    try:
        with stderr_without_chatter():
            import tensorflow as tf

            tf.config.list_physical_devices()
    finally:
        if USER_LEVEL is None:
            del os.environ[LEVEL_VARIABLE]  # TensorFlow has read it; child processes start clean

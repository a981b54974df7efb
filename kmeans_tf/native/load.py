"""Load the C kernel, or say why TensorFlow's ops run instead; ``use_native``, the public switch.

``kernel()`` returns the loaded kernel (``ops.Kernel``), or None when the engine should use
TensorFlow's ops: ``use_native(False)`` was called, ``KMEANS_TF_NATIVE`` is 0, false, no or
off, TensorFlow sees a GPU (its ops run there), or the library did not build, verify or
load (no compiler, say). The answers are the same either way; ``description()`` says which
path runs and why.
"""

import os

from kmeans_tf._tensorflow import tf
from kmeans_tf.native import ops
from kmeans_tf.native.build import BuildError, build

SWITCH_VARIABLE = "KMEANS_TF_NATIVE"
OFF_VALUES = ("0", "false", "no", "off")

_enabled = True  # use_native's setting
_loaded = None  # load()'s answer, once kernel() asked for it


def use_native(enabled):
    """Set whether the engine may use the C kernel in this process (False: TensorFlow's ops); return the old setting."""
    global _enabled
    previous, _enabled = _enabled, bool(enabled)
    return previous


def kernel():
    """Return the loaded kernel (``.nearest_centroid_sums`` and the rest), or None when TensorFlow's ops should run."""
    global _loaded
    if not _enabled:
        return None
    if _loaded is None:
        _loaded = load()
    return _loaded[0]


def description():
    """Say in one line which kernel the engine uses in this process, and why."""
    if not _enabled:
        return "TensorFlow ops (the C kernel is switched off: use_native(False))"
    loaded = kernel()
    if loaded is not None:
        return f"fused C kernel ({loaded.path})"
    return f"TensorFlow ops ({_loaded[1]})"


def load():
    """Build (unless a verified library is built) and load the kernel, by the policy above, every time it is called.

    Returns ``(kernel, None)`` or ``(None, reason)``. A process can load the kernel's ops once:
    a second library of the same ops (another cache) loads without them.
    """
    switch = os.environ.get(SWITCH_VARIABLE, "")
    if switch.strip().lower() in OFF_VALUES:
        return None, f"{SWITCH_VARIABLE}={switch}"
    if tf.config.list_physical_devices("GPU"):
        return None, "a GPU is visible: TensorFlow's ops run there"
    try:
        path = build()
    except BuildError as error:
        return None, f"the C kernel did not build: {str(error).splitlines()[0]}"
    return open_library(path)


def open_library(path):
    """Load the library at ``path`` and check that it holds every op: ``(kernel, None)`` or ``(None, reason)``."""
    try:
        library = tf.load_op_library(str(path))
    except tf.errors.OpError as error:
        return None, f"the C kernel did not load: {error.message}"
    missing = ops.missing_ops(library)
    if missing:
        return None, f"the C kernel did not load: {path} lacks the ops {', '.join(missing)}"
    return ops.Kernel(library, path), None

"""The fused C kernel for the CPU (``compat/kernels/nearest_centroid.c``): build it, load it, say if it runs.

The kernel is a library of TensorFlow ops (``NearestCentroidSums`` and its kin, see the
source) that do a whole Lloyd pass (nearest centroid of every sample, and each cluster's
sum and count) in one sweep over the data, where TensorFlow's own ops need three. It is plain C against TensorFlow's C kernel
API, so gcc alone builds it, in about two seconds, the first time the engine needs it
(or ahead of time with ``python -m compat.build_kernels``). The library lands in
``$KMEANS_TF_CACHE`` (default ``~/.cache/kmeans-tf``) under a name that records the
TensorFlow version and a digest of the sources, compiler flags and CPU, so a stale build
is never loaded.

``kernel()`` returns the loaded op module, or None when the engine should use TensorFlow's
ops instead: ``KMEANS_TF_NATIVE=0`` is set, TensorFlow sees a GPU (its ops run there), or
the build failed (no gcc, say). The answers are the same either way; ``description()``
says which path runs and why.
"""
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from compat._tensorflow import tf

SOURCE_DIR = Path(__file__).with_name("kernels")
SOURCES = ("nearest_centroid.c", "nearest_centroid_body.h")
SWITCH_VARIABLE = "KMEANS_TF_NATIVE"
CACHE_VARIABLE = "KMEANS_TF_CACHE"
COMPILER = os.environ.get("CC", "gcc")
FLAGS = ("-std=gnu11", "-shared", "-fPIC", "-O3", "-march=native", "-Wall", "-Wextra")


class BuildError(RuntimeError):
    """The kernel library could not be compiled; the message carries the compiler's output."""


_loaded = {}  # "module" -> the op module or None, "reason" -> why not


def kernel():
    """Return the op module (``.nearest_centroid_sums`` and the rest) or None when TensorFlow's ops should run."""
    if "module" not in _loaded:
        _loaded["module"], _loaded["reason"] = _load()
    return _loaded["module"]


def description():
    """Say in one line which kernel the engine uses on this machine, and why."""
    if kernel() is not None:
        return f"fused C kernel ({library_path()})"
    return f"TensorFlow ops ({_loaded['reason']})"


def cache_dir():
    """Return the folder that holds built libraries."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kmeans-tf"


def library_path():
    """Return where the library for these sources, flags, TensorFlow and CPU lives."""
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((SOURCE_DIR / name).read_bytes())
    digest.update(" ".join((COMPILER,) + FLAGS).encode())
    digest.update(_cpu_signature().encode())
    return cache_dir() / f"nearest_centroid-tf{tf.__version__}-{digest.hexdigest()[:16]}.so"


def build(force=False):
    """Compile the library unless it is already built; return its path or raise BuildError."""
    target = library_path()
    if target.exists() and not force:
        return target
    command = [COMPILER, *FLAGS, f"-I{tf.sysconfig.get_include()}", str(SOURCE_DIR / SOURCES[0]),
               "-o", None, f"-L{tf.sysconfig.get_lib()}", "-l:libtensorflow_framework.so.2", "-lpthread", "-lm"]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.TemporaryDirectory(dir=target.parent)
    except OSError as error:
        raise BuildError(f"cannot write to {target.parent}: {error.strerror} (set {CACHE_VARIABLE})") from None
    with scratch:
        command[command.index(None)] = partial = os.path.join(scratch.name, target.name)
        try:
            finished = subprocess.run(command, capture_output=True, text=True)
        except OSError as error:
            raise BuildError(f"cannot run the C compiler {COMPILER!r}: {error.strerror}") from None
        if finished.returncode != 0:
            raise BuildError(f"{COMPILER} failed ({finished.returncode}): {finished.stderr.strip()}")
        os.replace(partial, target)  # atomic: a concurrent loader sees the old state or the whole library
    return target


def _load():
    if os.environ.get(SWITCH_VARIABLE, "1") == "0":
        return None, f"{SWITCH_VARIABLE}=0"
    if tf.config.list_physical_devices("GPU"):
        return None, "a GPU is visible: TensorFlow's ops run there"
    try:
        return tf.load_op_library(str(build())), None
    except BuildError as error:
        return None, f"the C kernel did not build: {str(error).splitlines()[0]}"
    except tf.errors.OpError as error:
        return None, f"the C kernel did not load: {error.message}"


def _cpu_signature():
    """The CPU's model and flags: ``-march=native`` code may not run on another CPU."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return sys.platform
    return "\n".join(sorted({line for line in lines if line.startswith(("model name", "flags"))}))

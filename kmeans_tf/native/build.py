"""Compile the C kernel (``src/``) into a library of TensorFlow ops, in a cache, with a record to verify it by.

gcc (or ``$CC``) builds it in a few seconds with TensorFlow's own flags
(``tf.sysconfig.get_compile_flags()`` and ``get_link_flags()``). The library lands in
``$KMEANS_TF_CACHE`` (default ``~/.cache/kmeans-tf``) under a name that records the
TensorFlow version and a digest of the sources, the compile command and the CPU, so a
stale build is never loaded. Beside it, a record (``<library>.json``: its size and sha256)
written after the library lets ``verify`` refuse a library that changed since, such as a
truncated or replaced file; ``build`` then builds it again.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kmeans_tf._tensorflow import tf

SOURCE_DIR = Path(__file__).with_name("src")
CACHE_VARIABLE = "KMEANS_TF_CACHE"
COMPILER_VARIABLE = "CC"
DEFAULT_COMPILER = "gcc"
FLAGS = (
    "-std=gnu11",
    "-shared",
    "-fPIC",
    "-fvisibility=hidden",
    "-O3",
    "-fno-math-errno",
    "-march=native",
    "-Wall",
    "-Wextra",
)
LIBRARY_NAME = "kmeans_tf_ops"


class BuildError(RuntimeError):
    """The kernel library could not be built; the message says why in one line.

    ``output`` holds the compiler's whole output, where it ran.
    """

    def __init__(self, message, output=""):
        super().__init__(message)
        self.output = output


def cache_dir():
    """Return the folder that holds built libraries."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kmeans-tf"


def compiler():
    """Return the C compiler: ``$CC`` where set and not empty, else gcc."""
    return os.environ.get(COMPILER_VARIABLE) or DEFAULT_COMPILER


def compile_command(output):
    """Return the command that builds the library into ``output``."""
    # TensorFlow's flags are for C++ extensions: its C++ standard does not apply to C.
    tf_flags = [flag for flag in tf.sysconfig.get_compile_flags() if not flag.startswith(("-std=", "--std="))]
    sources = [str(path) for path in _sources() if path.suffix == ".c"]
    return [
        compiler(),
        *FLAGS,
        *tf_flags,
        *sources,
        "-o",
        str(output),
        *tf.sysconfig.get_link_flags(),
        "-lpthread",
        "-lm",
    ]


def library_path():
    """Return where the library for these sources, compile command, TensorFlow and CPU lives."""
    digest = hashlib.sha256()
    for path in _sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update("\0".join(compile_command("LIBRARY")).replace(str(SOURCE_DIR), "SRC").encode())
    digest.update(_cpu_signature().encode())
    return cache_dir() / f"{LIBRARY_NAME}-tf{tf.__version__}-{digest.hexdigest()[:16]}.so"


def record_path(library):
    """Return where the build record of ``library`` lives."""
    return Path(library).with_suffix(".json")


def verify(library):
    """Return None when ``library`` is what was built (its record's size and sha256), else why not."""
    library = Path(library)
    try:
        record = json.loads(record_path(library).read_text())
        expected = (int(record["size"]), str(record["sha256"]))
    except (OSError, ValueError, KeyError, TypeError):
        return f"{library} has no valid build record"
    try:
        size, sha256 = _measure(library)
    except OSError as error:
        return f"cannot read {library}: {error.strerror}"
    if size != expected[0]:
        return f"{library} is {size} bytes, not the {expected[0]} it was built with"
    if sha256 != expected[1]:
        return f"{library} differs from the library built (sha256)"
    return None


def write_record(library):
    """Record ``library``'s size and sha256 beside it, atomically."""
    size, sha256 = _measure(library)
    _write_atomically(record_path(library), json.dumps({"size": size, "sha256": sha256}).encode())


def build(force=False):
    """Compile the library unless a verified one is built; return its path or raise BuildError."""
    target = library_path()
    if not force and verify(target) is None:
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.TemporaryDirectory(dir=target.parent)
    except OSError as error:
        raise BuildError(f"cannot write to {target.parent}: {error.strerror} (set {CACHE_VARIABLE})") from None
    with scratch:
        partial = Path(scratch.name) / target.name
        _compile(partial)
        os.replace(partial, target)  # atomic: a concurrent loader sees the old state or the whole library
    write_record(target)
    problem = verify(target)
    if problem is not None:
        raise BuildError(f"the library just built does not verify: {problem}")
    return target


def _compile(output):
    command = compile_command(output)
    try:
        finished = subprocess.run(command, capture_output=True, text=True)
    except OSError as error:
        raise BuildError(f"cannot run the C compiler {command[0]!r}: {error.strerror}") from None
    text = (finished.stderr + finished.stdout).strip()
    if finished.returncode != 0:
        if not text:
            raise BuildError(f"{command[0]} exited {finished.returncode} with no output")
        lines = text.splitlines()
        first_error = next((line for line in lines if "error" in line), lines[0])
        raise BuildError(f"{command[0]} failed ({finished.returncode}): {first_error.strip()}", text)
    if not output.is_file():
        raise BuildError(f"{command[0]} exited 0 but wrote no library", text)


def _sources():
    return sorted(SOURCE_DIR.glob("*.[ch]"))


def _measure(path):
    data = Path(path).read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def _write_atomically(path, data):
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".partial", delete=False) as file:
        file.write(data)
    os.replace(file.name, path)


def _cpu_signature():
    """The CPU's model and flags: ``-march=native`` code may not run on another CPU."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return sys.platform
    return "\n".join(sorted({line for line in lines if line.startswith(("model name", "flags"))}))

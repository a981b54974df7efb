"""Building, verifying and loading the C kernel, and the switches that turn it off."""

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kmeans_tf import native
from kmeans_tf._tensorflow import tf
from kmeans_tf.native import load
from kmeans_tf.native.__main__ import main as build_command
from kmeans_tf.native.ops import GENERATED_FUNCTIONS
from tests.cases import first_fast

# The module, not the function kmeans_tf.native.build that the package exports.
builder = importlib.import_module("kmeans_tf.native.build")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built_cache(tmp_path_factory):
    """A cache folder with the library built (once for this module), to copy from."""
    folder = tmp_path_factory.mktemp("built-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(builder.CACHE_VARIABLE, str(folder))
        patch.delenv(builder.COMPILER_VARIABLE, raising=False)
        try:
            native.build()
        except native.BuildError as error:
            pytest.skip(f"the C kernel does not build here: {error}")
    return folder


@pytest.fixture
def cache(monkeypatch, tmp_path):
    """An empty cache folder, in use for this test (the default compiler)."""
    monkeypatch.setenv(builder.CACHE_VARIABLE, str(tmp_path))
    monkeypatch.delenv(builder.COMPILER_VARIABLE, raising=False)
    return tmp_path


@pytest.fixture
def built(cache, built_cache):
    """The cache in use for this test, with the library built; returns the library's path."""
    for path in built_cache.iterdir():
        shutil.copy(path, cache / path.name)
    assert builder.verify(native.library_path()) is None
    return native.library_path()


def run_python(*arguments, cache):
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **{builder.CACHE_VARIABLE: str(cache)})
    environment.pop(builder.COMPILER_VARIABLE, None)
    environment.pop(load.SWITCH_VARIABLE, None)
    return subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, cwd=ROOT, env=environment, timeout=300
    )


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "OFF", "False", " Off "])
def test_switch_variable_turns_the_kernel_off(monkeypatch, value):
    monkeypatch.setenv(load.SWITCH_VARIABLE, value)
    assert load.load() == (None, f"{load.SWITCH_VARIABLE}={value}")


def test_use_native_switches_the_kernel_off_and_back(native_kernel):
    previous = native.use_native(False)
    try:
        assert previous is True
        assert native.kernel() is None
        assert native.description() == "TensorFlow ops (the C kernel is switched off: use_native(False))"
        assert native.use_native(True) is False
        assert native.kernel() is native_kernel
        assert native.description() == f"fused C kernel ({native_kernel.path})"
    finally:
        native.use_native(previous)


def test_a_failed_build_says_why_and_leaves_no_library(monkeypatch, cache):
    monkeypatch.setenv(builder.COMPILER_VARIABLE, "no-such-compiler-kmeans-tf")
    with pytest.raises(native.BuildError, match="cannot run the C compiler 'no-such-compiler-kmeans-tf'"):
        native.build()
    kernel, reason = load.load()
    assert kernel is None and reason.startswith("the C kernel did not build: cannot run the C compiler")
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize(
    "compiler, reason",
    [("/bin/false", "/bin/false exited 1 with no output"), ("/bin/true", "/bin/true exited 0 but wrote no library")],
)
def test_a_compiler_that_fails_silently_gives_a_reason(monkeypatch, cache, compiler, reason):
    monkeypatch.setenv(builder.COMPILER_VARIABLE, compiler)
    with pytest.raises(native.BuildError, match=f"^{reason}$"):
        native.build()
    assert list(cache.iterdir()) == []


def test_an_empty_compiler_variable_means_the_default_compiler(monkeypatch, built):
    monkeypatch.setenv(builder.COMPILER_VARIABLE, "")
    assert builder.compile_command("out.so")[0] == builder.DEFAULT_COMPILER
    assert native.build() == built


def test_the_build_flags_are_tensorflows(cache):
    command = builder.compile_command("out.so")
    assert f"-I{tf.sysconfig.get_include()}" in command
    assert all(flag in command for flag in tf.sysconfig.get_link_flags())
    assert not any(flag.startswith(("-std=c++", "--std=c++")) for flag in command)


def test_an_unwritable_cache_is_a_build_error_not_a_crash(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(builder.CACHE_VARIABLE, str(blocker / "cache"))
    with pytest.raises(native.BuildError, match=f"cannot write to {blocker / 'cache'}"):
        native.build()
    assert load.load()[1].startswith("the C kernel did not build: cannot write to")


def test_the_library_name_records_tensorflow_and_the_sources(monkeypatch, cache):
    path = native.library_path()
    assert path.parent == cache == native.cache_dir() and f"-tf{tf.__version__}-" in path.name
    monkeypatch.setenv(builder.COMPILER_VARIABLE, "another-compiler")
    assert native.library_path() != path


def test_a_build_records_the_size_and_digest_of_the_library(built):
    record = builder.record_path(built)
    assert record.parent == built.parent and str(built.stat().st_size) in record.read_text()
    assert builder.verify(built) is None


# each rebuild runs the C compiler (seconds): one damage in make test-fast, the others slow
@pytest.mark.parametrize("damage", first_fast(["truncated", "replaced", "record lost"]))
def test_a_changed_library_is_rebuilt_not_loaded(built, damage):
    original = built.read_bytes()
    if damage == "truncated":
        with open(built, "r+b") as library:
            library.truncate(len(original) // 2)
        problem = f"is {len(original) // 2} bytes, not the {len(original)} it was built with"
    elif damage == "replaced":
        built.write_bytes(bytes(len(original)))
        problem = "differs from the library built"
    else:
        builder.record_path(built).unlink()
        problem = "has no valid build record"
    assert problem in builder.verify(built)
    assert native.build() == built
    assert builder.verify(built) is None and built.stat().st_size == len(original)


def test_a_library_without_the_ops_is_not_used(native_kernel, cache, tmp_path_factory):
    source = tmp_path_factory.mktemp("other") / "other.c"
    source.write_text("int kmeans_tf_other(void) { return 1; }\n")
    library = native.library_path()
    subprocess.run([builder.compiler(), "-shared", "-fPIC", str(source), "-o", str(library)], check=True)
    builder.write_record(library)
    kernel, reason = load.load()
    assert kernel is None
    assert reason == f"the C kernel did not load: {library} lacks the ops " + ", ".join(GENERATED_FUNCTIONS)


def test_the_build_command_fails_with_a_one_line_reason(monkeypatch, cache, capsys):
    monkeypatch.setenv(builder.COMPILER_VARIABLE, "no-such-compiler-kmeans-tf")
    assert build_command(["--force"]) == 1
    assert (
        capsys.readouterr().err == "kmeans-tf: cannot run the C compiler 'no-such-compiler-kmeans-tf': "
        "No such file or directory\n"
    )


@pytest.mark.slow
def test_the_build_command_replaces_a_garbage_library_and_reports_it_ready(native_kernel, cache):
    library = native.library_path()
    library.write_bytes(b"not a library")
    finished = run_python("-m", "kmeans_tf.native", cache=cache)
    assert finished.returncode == 0, finished.stderr
    assert f"kmeans-tf: fused C kernel ready: {library}" in finished.stdout
    assert builder.verify(library) is None


@pytest.mark.slow
def test_a_truncated_library_in_the_cache_is_rebuilt_by_the_engine(native_kernel, built):
    with open(built, "r+b") as library:
        library.truncate(built.stat().st_size // 2)
    script = (
        "import numpy as np; from kmeans_tf import native; kernel = native.kernel(); print(native.description()); "
        "print(kernel.nearest_centroid_sums(np.eye(3), np.eye(2, 3))[0].numpy().tolist())"
    )
    finished = run_python("-c", script, cache=built.parent)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == [f"fused C kernel ({built})", "[0, 1, 0]"]
    assert builder.verify(built) is None

"""Every module imports alone, in a fresh interpreter state; the package's public API is what it names.

A module imported alone catches an import circle that the order of the suite's imports hides.
The modules are found by walking the packages' folders, so a new module is covered without a change here.

``python -m tests.test_imports NAME...`` imports each module in a child forked from a process that has
imported the libraries the project uses (their import is what takes seconds) and no module of the project;
it prints a JSON line for each: the module, the child's exit status and its traceback.
"""

import contextlib
import importlib
import io
import json
import os
import pkgutil
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kmeans_tf", "compat")
LESSON_MODULES = ("functions", "generate_samples", "kmeans_iterate", "gd_kmeans")
# Imported once before the children fork: a library missing here is imported by each child (slower, as correct).
LIBRARIES = ("numpy", "tensorflow", "click", "matplotlib.pyplot", "matplotlib.animation", "sklearn.base")
# The public API, as the package's docstring lists it, and the result types its functions return.
PUBLIC_API = {
    "KMeans",
    "MiniBatchKMeans",
    "k_means",
    "kmeans_plusplus",
    "kmeans",
    "predict",
    "inertia",
    "minibatch_kmeans",
    "elbow",
    "kneedle",
    "load_shards",
    "KMeansResult",
    "gd_kmeans",
    "MiniBatchResult",
    "ElbowResult",
    "Shards",
    "export_saved_model",
    "KMeansLayer",
    "DatasetRows",
}
# Seconds all the imports may take before the test fails.
IMPORTS_TIMEOUT = 600


def package_modules(name, folder):
    """The names of package ``name`` (in ``folder``) and of every module and package under it, found on disk."""
    names = [name]
    for module in pkgutil.iter_modules([str(folder)]):
        if module.ispkg:
            names += package_modules(f"{name}.{module.name}", folder / module.name)
        else:
            names.append(f"{name}.{module.name}")
    return names


MODULES = [*(module for package in PACKAGES for module in package_modules(package, ROOT / package)), *LESSON_MODULES]


def is_the_projects(name):
    """Whether module ``name`` is one of the project's (a package's or a lesson's)."""
    return name.split(".")[0] in (*PACKAGES, *LESSON_MODULES)


def import_in_a_child(name):
    """Fork; the child imports module ``name`` and exits. Return the child's exit status and traceback.

    A ``__main__`` module runs the command line when imported: it is given ``--help``, which answers and exits 0.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        status, error = 0, ""
        sys.argv[1:] = ["--help"]
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                importlib.import_module(name)
        except SystemExit as stop:
            status = 0 if stop.code in (None, 0) else 1
            error = f"SystemExit({stop.code!r})"
        except BaseException:
            status, error = 1, traceback.format_exc()
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(error if status else "")
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        error = pipe.read()
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status), error


def import_each_alone(names):
    """Import the libraries, then each module in a child of its own; print a JSON line for each module."""
    for library in LIBRARIES:
        importlib.import_module(library)
    loaded = sorted(name for name in sys.modules if is_the_projects(name))
    assert not loaded, f"a library imported modules of the project: {loaded}"
    for name in names:
        status, error = import_in_a_child(name)
        print(json.dumps({"module": name, "status": status, "error": error}), flush=True)


@pytest.fixture(scope="module")
def imported_alone(request):
    """The selected modules, each imported alone (one process for all, a child forked for each): name -> outcome."""
    names = [
        item.callspec.params["name"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_each_module_imports_alone_in_a_fresh_state"
    ]
    environment = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    environment.update(PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    finished = subprocess.run(
        [sys.executable, "-m", "tests.test_imports", *names],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=IMPORTS_TIMEOUT,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    outcomes = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    return {outcome["module"]: outcome for outcome in outcomes}


def test_the_walk_finds_the_packages_modules():
    """The walk finds packages, their subpackages' modules and ``__main__`` modules, each once, and the lessons."""
    assert len(MODULES) == len(set(MODULES))
    for name in ("kmeans_tf", "kmeans_tf.cli", "kmeans_tf.engine.kmeans", "kmeans_tf.native.__main__", "compat.v1"):
        assert name in MODULES
    assert set(LESSON_MODULES) < set(MODULES)
    assert all(is_the_projects(name) for name in MODULES)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODULES)
def test_each_module_imports_alone_in_a_fresh_state(imported_alone, name):
    """The module imports without an error where no module of the project has been imported."""
    assert name in imported_alone, "the process importing the modules stopped before this one"
    outcome = imported_alone[name]
    assert outcome["status"] == 0, f"import {name} failed (exit status {outcome['status']}):\n{outcome['error']}"


def test_the_package_and_its_command_line_import_no_tensorflow():
    """``import kmeans_tf``, then ``import kmeans_tf.cli``, in a fresh process: neither imports TensorFlow."""
    code = (
        "import sys; import kmeans_tf; print('tensorflow' in sys.modules); "
        "import kmeans_tf.cli; print('tensorflow' in sys.modules)"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert finished.stdout.split() == ["False", "False"]


@pytest.fixture
def package():
    """The kmeans_tf package (not imported at the top: ``python -m tests.test_imports`` must not import it)."""
    return importlib.import_module("kmeans_tf")


def test_all_names_exactly_the_public_api(package):
    """``kmeans_tf.__all__`` is the version and the public API, each once; ``dir()`` lists the same names."""
    assert len(package.__all__) == len(set(package.__all__))
    assert set(package.__all__) == {"__version__", *PUBLIC_API}
    assert dir(package) == sorted(package.__all__)
    assert isinstance(package.__version__, str)


@pytest.mark.parametrize("name", sorted(PUBLIC_API))
def test_each_public_name_resolves_to_the_object_its_module_defines(package, name):
    """A public name is the object of that name in the module ``PUBLIC_NAMES`` gives, and ``import *`` binds it."""
    value = getattr(package, name)
    assert value is not None
    assert value is getattr(importlib.import_module(package.PUBLIC_NAMES[name]), name)
    namespace = {}
    exec("from kmeans_tf import *", namespace)
    assert namespace[name] is value


def test_a_name_outside_the_public_api_is_an_attribute_error(package):
    """An unknown name raises AttributeError naming it, as a module without ``__getattr__`` does."""
    with pytest.raises(AttributeError, match="module 'kmeans_tf' has no attribute 'fit'"):
        package.fit  # noqa: B018


if __name__ == "__main__":
    import_each_alone(sys.argv[1:])

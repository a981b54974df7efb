"""The command line's outputs: never an input, all of a run's or none, and nothing left behind by a signal."""

import signal
import subprocess
import sys
import time

import pytest

from tests.cases import REPO_ROOT


def hidden(folder):
    return [path.name for path in folder.iterdir() if path.name.startswith(".")]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_during_convert_leaves_nothing_behind(tmp_path, signum):
    out = tmp_path / "out.npy"
    child = subprocess.Popen(
        [sys.executable, "-m", "kmeans_tf", "convert", "-", str(out)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    child.stdin.write(b"x,y\n" + b"1,2\n" * 1000)  # stdin stays open: convert waits for more rows
    child.stdin.flush()
    deadline = time.monotonic() + 120
    while not hidden(tmp_path) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert hidden(tmp_path), "convert wrote no temporary file"
    child.send_signal(signum)
    _, errors = child.communicate(timeout=120)
    assert child.returncode == 128 + signum, errors
    assert errors.decode().splitlines() == [f"Aborted: {signal.Signals(signum).name}"]
    assert list(tmp_path.iterdir()) == []

"""The C kernel's raw ops on random inputs: an answer numpy agrees with, or InvalidArgumentError; never a crash."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
N_CASES = 400


@pytest.mark.slow
def test_random_inputs_get_an_answer_or_an_error_never_a_crash(native_kernel):
    # One child process runs every case (tests/native_fuzz.py): a crash kills it, not this run.
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    finished = subprocess.run(
        [sys.executable, "-m", "tests.native_fuzz", "--seed", "0", "--cases", str(N_CASES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=300,
    )
    started = re.findall(r"^case (\d+)$", finished.stdout, re.MULTILINE)
    last = f"case {started[-1]}" if started else "before the first case"
    assert finished.returncode >= 0, f"{last} killed the child: {signal.Signals(-finished.returncode).name}"
    assert finished.returncode == 0, f"{last}: {finished.stderr[-2000:]}"
    assert len(started) == N_CASES and re.search(r"^\d+ answered, \d+ refused$", finished.stdout, re.MULTILINE)

"""The fault tests' crash point: a process that kills itself (kill -9) exactly the N-th time it passes, or never."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

PASS_FIVE_TIMES = """
from shared.runtime.faults import CrashPoint
point = CrashPoint({after})
for i in range(1, 6):
    point.pass_by()
    print(i, flush=True)
"""


def passes(after: int) -> subprocess.CompletedProcess[str]:
    code = PASS_FIVE_TIMES.format(after=after)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_a_crash_point_kills_its_process_the_nth_time_it_is_passed():
    result = passes(3)

    assert result.returncode == -signal.SIGKILL
    assert result.stdout.split() == ["1", "2"], "it died on the third pass, before going on"
    assert "crash point 3" in result.stderr


@pytest.mark.parametrize("after", [0, 6])
def test_a_crash_point_that_is_off_or_never_reached_changes_nothing(after):
    result = passes(after)

    assert result.returncode == 0 and result.stdout.split() == ["1", "2", "3", "4", "5"]

"""Fault injection for the fault tests: a service that kills itself at a chosen moment, as `kill -9` would.

A crash at a precise point (say, between quota's decision and the booking's save) cannot be timed
from outside the process; this hook makes it deterministic. It is off unless a service's
`*_FAULT_CRASH_AFTER_DECISIONS` setting (a test hook, never set in production) asks for it.
"""

from __future__ import annotations

import os
import signal


class CrashPoint:
    """A place in the code where the process dies (SIGKILL: no cleanup, no flush) the N-th time it is passed."""

    def __init__(self, after: int = 0) -> None:
        self.after, self.passed = after, 0  # after=0: never

    def pass_by(self) -> None:
        if not self.after:
            return
        self.passed += 1
        if self.passed == self.after:
            os.write(2, f"fault injection: killed at crash point {self.after} (SIGKILL)\n".encode())
            os.kill(os.getpid(), signal.SIGKILL)

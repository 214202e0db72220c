#!/usr/bin/env python3
"""Quick start without installing anything first: creates (or reuses) .venv, then runs.

python3 dev.py up [paspor up options]   start the whole system (embedded: nats-server + SQLite)
python3 dev.py test [pytest options]    run the test suite
python3 dev.py paspor ...               any other `paspor` command
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
import venv
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".paspor-installed"
STATIC_CHECKS = {
    "ruff check": ["-m", "ruff", "check", "--quiet", "."],
    "ruff format": ["-m", "ruff", "format", "--check", "--quiet", "."],
    "mypy": ["-m", "mypy"],  # what it checks, and how strictly, is in pyproject.toml
}
# Days on which a date rule is most likely to break: a Saturday, the year's end, the day before Eid
# al-Fitr 2027 (itself Nyepi), a collective-leave day after Eid, and a leap day.
AWKWARD_DAYS = ("2027-01-16", "2027-12-31", "2027-03-09", "2027-03-12", "2028-02-29")
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
COUNTED = re.compile(r"(\d+) (passed|failed|errors?|skipped)\b")


def python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> None:
    """Create the virtual environment once; reinstall only when pyproject.toml changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - run by any python3, it must say why it stops
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]})")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and python().exists():
        return
    if not python().exists():
        print(f"creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing Antrian Paspor and its test tools (first run only) ...", flush=True)
    pip = [str(python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    ensure_venv()
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "test":
        return pytest(rest)[0] if rest else everything()
    if command == "up":
        os.execv(python(), [str(python()), "-m", "paspor", "up", *rest])
    if command == "paspor":
        os.execv(python(), [str(python()), "-m", "paspor", *rest])
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


def pytest(args: list[str], env: dict[str, str] | None = None) -> tuple[int, Counter[str]]:
    """Run pytest, showing its output as it comes; its exit code (no test collected is a failure) and counts."""
    process = subprocess.Popen([str(python()), *PYTEST, *args], stdout=subprocess.PIPE, env=os.environ | (env or {}))
    assert process.stdout is not None
    tail = b""
    while chunk := os.read(process.stdout.fileno(), 4096):  # progress dots as they come, not a line at a time
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        tail = (tail + chunk)[-8192:]
    code = process.wait()
    closing = [line for line in tail.decode(errors="replace").splitlines() if re.search(r"\d+ (passed|failed)", line)]
    counts: Counter[str] = Counter()
    for n, what in COUNTED.findall(closing[-1] if closing else ""):
        counts["error" if what.startswith("error") else what] += int(n)
    if code == 5:
        print("error: pytest collected no tests; that is a failure, not a pass", file=sys.stderr)
        return 1, counts
    return code, counts


def everything() -> int:
    """What CI runs (`.ci/run`): static checks, the whole suite, then the unit tier on each awkward day."""
    steps: list[tuple[str, int, float]] = []
    total: Counter[str] = Counter()
    for name, args in STATIC_CHECKS.items():
        started = time.monotonic()
        print(f"== {name}", flush=True)
        steps.append((name, subprocess.run([str(python()), *args]).returncode, time.monotonic() - started))
    print("== whole suite", flush=True)
    started = time.monotonic()
    code, counts = pytest([])
    steps.append(("whole suite", code, time.monotonic() - started))
    total += counts
    print(f"== unit tier on {len(AWKWARD_DAYS)} awkward days, two at a time", flush=True)
    with ThreadPoolExecutor(2) as pool:
        for day, (code, counts, seconds) in zip(AWKWARD_DAYS, pool.map(unit_tier_on, AWKWARD_DAYS), strict=True):
            steps.append((f"unit tier on {day}", code, seconds))
            total += counts
    print("== summary")
    for name, code, seconds in steps:
        print(f"{'ok  ' if code == 0 else 'FAIL'} {name:<28} {seconds:6.1f} s")
    failed = sum(code != 0 for _, code, _ in steps)
    print(f"total: {total['passed']} passed, {total['failed'] + total['error']} failed, {total['skipped']} skipped")
    return 1 if failed else 0


def unit_tier_on(day: str) -> tuple[int, Counter[str], float]:
    """The unit tier with the clock pinned to `day`; its output is shown whole when it failed."""
    started = time.monotonic()
    run = subprocess.run(
        [str(python()), *PYTEST, "tests/unit", "-m", "not dateless"],
        capture_output=True,
        text=True,
        env=os.environ | {"PASPOR_TEST_TODAY": day},
    )
    lines = run.stdout.splitlines()
    closing = next((line for line in reversed(lines) if re.search(r"\d+ (passed|failed)", line)), "no summary")
    print(f"{day}: {closing}", flush=True)
    if run.returncode != 0:
        print(run.stdout[-20000:], run.stderr[-5000:], sep="\n", flush=True)
    counts: Counter[str] = Counter()
    for n, what in COUNTED.findall(closing):
        counts["error" if what.startswith("error") else what] += int(n)
    return (1 if run.returncode == 5 else run.returncode), counts, time.monotonic() - started


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

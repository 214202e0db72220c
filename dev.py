#!/usr/bin/env python3
"""Quick start without installing anything first: creates (or reuses) .venv, then runs.

python3 dev.py up [paspor up options]   start the whole system (embedded: nats-server + SQLite)
python3 dev.py test [pytest options]    run the test suite
python3 dev.py paspor ...               any other `paspor` command
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".paspor-installed"


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
        code = subprocess.run([str(python()), "-m", "pytest", *rest]).returncode
        if code == 5:
            print("error: pytest collected no tests; that is a failure, not a pass", file=sys.stderr)
            return 1
        return code
    if command == "up":
        os.execv(python(), [str(python()), "-m", "paspor", "up", *rest])
    if command == "paspor":
        os.execv(python(), [str(python()), "-m", "paspor", *rest])
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

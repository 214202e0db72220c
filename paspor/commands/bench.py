"""`paspor bench <name>`: benchmarks that print our figures beside the conventional alternative's.

Each module in `benchmarks/` that defines `command` (a typer-compatible function) becomes
`paspor bench <module name>`; its docstring is its help.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

import benchmarks

HELP = "Benchmarks: our figures and the conventional alternative's, from the same run."
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)

for _info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
    _module = importlib.import_module(f"benchmarks.{_info.name}")
    if hasattr(_module, "command"):
        app.command(name=_info.name.replace("_", "-"), help=_module.__doc__)(_module.command)

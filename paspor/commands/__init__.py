"""Sub-command groups of `paspor`: each module here defines `app` (a typer.Typer) and `HELP`.

`paspor.cli` adds every module found here as `paspor <module name>` (underscores become dashes),
so a new group needs no edit elsewhere.
"""

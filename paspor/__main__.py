"""`python -m paspor`: the `paspor` command line."""

from paspor.cli import app

app(prog_name="paspor")

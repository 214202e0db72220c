"""Sub-command groups of `paspor`: each module here defines `app` (a typer.Typer) and `HELP`.

`paspor.cli` adds every module found here as `paspor <module name>` (underscores become dashes),
so a new group needs no edit elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer


def nats_url_of(nats_url: str | None, data_dir: Path) -> str:
    """The NATS to talk to: the one given, else PASPOR_NATS_URL, else the one `paspor up` runs on that folder."""
    from paspor.embedded import running_addresses

    url = nats_url or os.environ.get("PASPOR_NATS_URL") or running_addresses(data_dir).get("nats_url")
    if not url:
        raise typer.BadParameter(f"no NATS URL: give --nats-url, or run `paspor up --data-dir {data_dir}`")
    return url

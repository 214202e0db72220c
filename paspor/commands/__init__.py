"""Sub-command groups of `paspor`: each module here defines `app` (a typer.Typer) and `HELP`.

`paspor.cli` adds every module found here as `paspor <module name>` (underscores become dashes),
so a new group needs no edit elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from shared.runtime.natsauth import NatsLogin


def nats_url_of(nats_url: str | None, data_dir: Path) -> str:
    """The NATS to talk to: the one given, else PASPOR_NATS_URL, else the one `paspor up` runs on that folder."""
    from paspor.embedded import running_addresses

    url = nats_url or os.environ.get("PASPOR_NATS_URL") or running_addresses(data_dir).get("nats_url")
    if not url:
        raise typer.BadParameter(f"no NATS URL: give --nats-url, or run `paspor up --data-dir {data_dir}`")
    return url


def nats_login_of(user: str, data_dir: Path) -> NatsLogin:
    """How a tool logs in to NATS as `user` (operator, auditor, admin): PASPOR_NATS_NKEY_FILE (or _SEED) when
    set, else the key `paspor up` made in the data folder, else no key (a NATS without authentication)."""
    from pydantic import ValidationError

    from shared.runtime.natsauth import login_from
    from shared.runtime.settings import CommonSettings

    try:
        return login_from(CommonSettings(), user, data_dir)
    except ValidationError as error:
        raise typer.BadParameter(str(error.errors()[0]["msg"])) from None

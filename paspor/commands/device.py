"""`paspor device`: a device key for trying the API by hand (curl): its id, and a DPoP proof per request."""

from __future__ import annotations

from typing import Annotated

import typer

from shared import clock
from shared.device_keys import DeviceKey

HELP = "A device key for trying the API by hand: its id (thumbprint) and a DPoP proof for one request."
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
Name = Annotated[
    str,
    typer.Option(help="The device's name: the same name is the same key (for trying things only: it is its secret)."),
]


@app.command()
def proof(
    method: Annotated[str, typer.Argument(help="The request's method, e.g. GET.")],
    url: Annotated[str, typer.Argument(help="The request's URL, e.g. http://127.0.0.1:8080/v1/me/terms.")],
    token: Annotated[str, typer.Option(help="The access token the request carries (its hash goes in the proof).")],
    name: Name = "my-phone",
) -> None:
    """Print the DPoP header's value for one request (a new one for every request: each is used once)."""
    if method.upper() not in {"GET", "POST", "PUT", "DELETE", "PATCH"} or not url.startswith(("http://", "https://")):
        raise typer.BadParameter("give a method (GET, POST, PUT, DELETE, PATCH) and an http(s):// URL")
    typer.echo(DeviceKey.named(name).proof(method.upper(), url, token, clock.now()))


@app.command()
def id(name: Name = "my-phone") -> None:  # noqa: A001 - the command's name
    """Print the device id the gateway knows this device by (its key's RFC 7638 thumbprint)."""
    typer.echo(DeviceKey.named(name).thumbprint)

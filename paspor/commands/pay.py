"""`paspor pay simulate`: plays the payment provider against a running embedded system."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

HELP = "The payment provider, played in the embedded mode: pay a booking's billing code."
app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)
console = Console()


@app.command()
def simulate(
    billing_code: Annotated[str, typer.Argument(help="The booking's billing code, 15 digits.")],
    amount: Annotated[
        int | None, typer.Option(min=0, help="Rupiah paid (default: the amount billed, read from the booking store).")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="The provider's payment id (default: a new one; give one twice: a duplicate).")
    ] = None,
    signed_seconds_ago: Annotated[
        int, typer.Option(min=0, help="Sign as if this many seconds ago (beyond the window: refused as a replay).")
    ] = 0,
    data_dir: Annotated[Path, typer.Option(help="Data folder of a running `paspor up`.")] = Path("paspor-data"),
    gateway_url: Annotated[str | None, typer.Option(help="Gateway URL (default: the data folder's).")] = None,
) -> None:
    """Send the gateway a signed payment callback for BILLING-CODE, as the bank or e-wallet would."""
    from paspor.embedded import running_addresses
    from services.gateway.callbacks import PAYMENT_SECRET_FILE, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
    from services.gateway.settings import GatewaySettings
    from shared.runtime.store import data_key

    settings = GatewaySettings(data_dir=data_dir)
    url = gateway_url or running_addresses(data_dir).get("gateway_url")
    if not url:
        raise typer.BadParameter(f"no gateway: give --gateway-url, or run `paspor up --data-dir {data_dir}`")
    now = settings.clock()()  # the system's clock (PASPOR_CLOCK_START when it runs on a pinned day)
    body = json.dumps(
        {
            "reference": reference or f"sim-{uuid.uuid4().hex[:16]}",
            "billing_code": billing_code,
            "amount": billed_amount(data_dir, billing_code) if amount is None else amount,
            "paid_at": now.isoformat(),
        }
    ).encode()
    timestamp = str(int(now.timestamp()) - signed_seconds_ago)
    secret = (settings.gateway_payment_secret or data_key(data_dir, PAYMENT_SECRET_FILE)).encode()
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    response = httpx.post(f"{url.rstrip('/')}/v1/payments/callback", content=body, headers=headers, timeout=30)
    console.print_json(response.text)
    if response.status_code != 200:
        raise typer.Exit(1)


def billed_amount(data_dir: Path, billing_code: str) -> int:
    """What the booking store billed under this code (the provider's inquiry before it takes the money)."""
    from eventsourcing.application import AggregateNotFoundError

    from services.booking.billing import BillingCode
    from services.booking.main import BookingSettings, build_application

    app = build_application(BookingSettings(data_dir=data_dir))
    try:
        holder: BillingCode = app.repository.get(BillingCode.id_for(billing_code))
        return app.repository.get(holder.booking_id).fee
    except AggregateNotFoundError:
        raise typer.BadParameter(f"no booking is billed with {billing_code}: give --amount to pay it anyway") from None
    finally:
        app.close()

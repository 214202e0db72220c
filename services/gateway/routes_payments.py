"""The payment provider's callback: a signed report that a billing code was paid."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.events import Commands, PaymentOutcome, PaymentRecordedView, RecordPayment

from .callbacks import SIGNATURE_HEADER, TIMESTAMP_HEADER, CallbackRefused
from .deps import GatewayDep
from .problems import ProblemError

router = APIRouter(prefix="/v1", tags=["payments"])
CALLBACK_PATH = "/v1/payments/callback"
REFUSED = {  # a payment recorded but refused: the provider's report is kept (an event), no booking changes
    PaymentOutcome.UNKNOWN_BILLING_CODE: (404, "Pembayaran untuk kode billing yang tidak dikenal; dicatat."),
    PaymentOutcome.WRONG_AMOUNT: (422, "Jumlah pembayaran tidak sesuai tagihan; dicatat, jadwal tidak berubah."),
}


class PaymentCallbackBody(BaseModel):
    """What the provider reports: its payment reference, the billing code, the amount and when it was paid."""

    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=100, description="The provider's own id of this payment.")
    billing_code: str = Field(min_length=1, max_length=32, description="The billing code paid (15 digits).")
    amount: int = Field(ge=0, le=10**12, description="Amount paid, whole rupiah.")
    paid_at: dt.datetime = Field(description="When it was paid (ISO 8601 with its offset).")


@router.post(
    "/payments/callback",
    response_model=PaymentRecordedView,
    summary="Payment provider: a billing code was paid (signed callback)",
    description=f"Signed by the provider: `{SIGNATURE_HEADER}` is the hex HMAC-SHA256, with the shared secret, "
    f"of `<{TIMESTAMP_HEADER}>.<body>`; `{TIMESTAMP_HEADER}` is Unix seconds and must be within the window "
    "(5 minutes). A payment reported twice changes nothing (`duplicate`); a payment for a booking no longer "
    "held is recorded as a refund owed; an unknown billing code (404) or a wrong amount (422) is recorded and "
    "changes no booking.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PaymentCallbackBody.model_json_schema()}},
        }
    },
    responses={401: {"description": "Not signed by the provider, or signed outside the window (a replay)."}},
)
async def payment_callback(
    request: Request,
    gw: GatewayDep,
    x_payment_timestamp: Annotated[str | None, Header(max_length=20, description="Unix seconds.")] = None,
    x_payment_signature: Annotated[str | None, Header(max_length=100, description="Hex HMAC-SHA256.")] = None,
) -> JSONResponse:
    body = await request.body()
    try:
        gw.payments.verify(x_payment_timestamp, x_payment_signature, body)
    except CallbackRefused as refused:
        raise ProblemError(refused.code, refused.message_en, refused.message_id, status=401) from None
    try:
        paid = PaymentCallbackBody.model_validate_json(body)
    except ValidationError as invalid:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in invalid.errors()[:20]]
        raise ProblemError(
            "invalid_request", "The callback's body is invalid: see errors.", "Isi callback tidak valid.", errors=errors
        ) from None
    command = RecordPayment(**paid.model_dump())
    recorded = PaymentRecordedView.model_validate((await gw.ask(Commands.RECORD_PAYMENT, command))["payment"])
    if recorded.outcome in REFUSED:
        status, message_id = REFUSED[recorded.outcome]
        raise ProblemError(recorded.outcome.value, recorded.detail, message_id, status=status)
    return JSONResponse(recorded.model_dump(mode="json"))

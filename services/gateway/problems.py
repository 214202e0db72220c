"""RFC 9457 problem details: one stable code per refusal, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

STATUS = {
    "invalid_message": 422,
    "invalid_range": 422,
    "unknown_office": 404,
    "booking_not_found": 404,
    "ticket_not_issued": 404,
    "not_cancellable": 409,
    "already_rescheduled": 409,  # a booking is rescheduled once
    "reschedule_too_late": 409,  # from the day before its date
    "not_reschedulable": 409,
    "reschedule_in_progress": 409,
    "same_slot": 409,
    "active_booking_exists": 409,
    "registration_limit_reached": 409,
    "spacing_not_elapsed": 409,
    "cooldown_active": 409,
    "nik_already_booked": 409,
    "concurrent_request": 409,
    "device_bound_to_other_account": 403,
    "account_bound_to_other_device": 403,
    "terms_not_accepted": 403,
    "unknown_terms_version": 409,
    "profile_required": 409,
    "profile_not_found": 404,
    "kk_mismatch": 422,
    "invalid_nik": 422,
    "invalid_kk": 422,
    "invalid_phone": 422,
    "invalid_profile": 422,
    "date_past": 422,
    "office_closed": 422,
    "not_released": 409,
    "sold_out": 409,
    "not_offered": 409,  # the waitlist: no place offered to accept
    "offer_not_answered": 503,
    "invalid_capacity": 422,
    "invalid_request": 422,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "rate_limited": 429,
    "wrong_office": 403,
    "internal_error": 500,
    "unauthenticated": 401,
    "invalid_device_proof": 401,
    "fresh_sign_in_required": 401,
    "device_move_too_soon": 409,
    "forbidden": 403,
    "service_unavailable": 503,
}


class Problem(BaseModel):
    """RFC 9457 problem details, with the message in English and Indonesian."""

    type: str = Field(
        description="A URI naming the kind of problem.", examples=["https://antrian-paspor.example/problems/sold_out"]
    )
    title: str = Field(description="The code in words.", examples=["sold out"])
    status: int = Field(description="The HTTP status.", examples=[409])
    code: str = Field(description="Stable machine-readable code.", examples=["sold_out"])
    detail: str = Field(description="What happened, in English.", examples=["This session is full."])
    detail_id: str = Field(description="What happened, in Indonesian.", examples=["Sesi ini sudah penuh."])
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Each invalid field (validation errors only)."
    )
    retry_after: str | None = Field(default=None, description="When trying again may work (ISO 8601).")


class ProblemError(Exception):
    """Raised by a route to answer with a problem."""

    def __init__(self, code: str, message_en: str, message_id: str = "", status: int | None = None, **extra: Any):
        self.code, self.message_en, self.message_id = code, message_en, message_id or message_en
        self.status = status or STATUS.get(code, 400)
        self.extra = extra
        super().__init__(message_en)

    @classmethod
    def from_reply(cls, problem: dict[str, Any]) -> ProblemError:
        extra = {"retry_after": problem["retry_after"]} if problem.get("retry_after") else {}
        return cls(problem["code"], problem["message_en"], problem["message_id"], **extra)


def response(
    status: int, code: str, detail: str, detail_id: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"https://antrian-paspor.example/problems/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
        "detail_id": detail_id,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


async def on_problem(request: Request, error: ProblemError) -> JSONResponse:
    return problem_response(error)


def problem_response(error: ProblemError) -> JSONResponse:
    """A refusal as an RFC 9457 problem, with `Retry-After` where there is a time to try again."""
    extra = dict(error.extra)
    headers = {"Retry-After": "2"} if error.code in ("ticket_not_issued", "service_unavailable") else None
    if "retry_after_seconds" in extra:
        headers = {"Retry-After": str(extra.pop("retry_after_seconds"))}
    return response(error.status, error.code, error.message_en, error.message_id, headers, **extra)


async def on_http_error(request: Request, error: HTTPException) -> JSONResponse:
    """Unknown paths and methods answer as problems too."""
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        error.status_code, "invalid_request"
    )
    return response(
        error.status_code,
        code,
        str(error.detail),
        "Permintaan tidak dapat dilayani.",
        dict(error.headers or {}) or None,
    )


async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
    """A bug: logged with its trace here, answered without it."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return response(500, "internal_error", "Something went wrong on our side.", "Terjadi kesalahan di sisi kami.")


async def on_validation(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()[:20]]
    return response(
        422,
        "invalid_request",
        "The request is invalid: see errors.",
        "Permintaan tidak valid: lihat daftar kesalahan.",
        errors=errors,
    )

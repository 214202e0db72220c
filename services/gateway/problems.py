"""RFC 9457 problem details: one stable code per refusal, never a stack trace."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

STATUS = {
    "invalid_message": 422,
    "invalid_range": 422,
    "unknown_office": 404,
    "booking_not_found": 404,
    "ticket_not_issued": 404,
    "not_cancellable": 409,
    "active_booking_exists": 409,
    "registration_limit_reached": 409,
    "spacing_not_elapsed": 409,
    "cooldown_active": 409,
    "nik_already_booked": 409,
    "concurrent_request": 409,
    "unauthenticated": 401,
    "forbidden": 403,
    "service_unavailable": 503,
}


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


def response(status: int, code: str, detail: str, detail_id: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": f"https://antrian-paspor.example/problems/{code}", "title": code.replace("_", " "),
            "status": status, "code": code, "detail": detail, "detail_id": detail_id, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


async def on_problem(request: Request, error: ProblemError) -> JSONResponse:
    headers = {"Retry-After": "2"} if error.code in ("ticket_not_issued", "service_unavailable") else None
    return response(error.status, error.code, error.message_en, error.message_id, headers, **error.extra)


async def on_validation(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()[:20]]
    return response(422, "invalid_request", "The request is invalid: see errors.",
                    "Permintaan tidak valid: lihat daftar kesalahan.", errors=errors)

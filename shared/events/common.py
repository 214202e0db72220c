"""Value types shared by several messages."""

from __future__ import annotations

import re
import datetime as dt
from enum import Enum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

OFFICE_CODE = re.compile(r"^[A-Z0-9-]{2,16}$")


class Session(str, Enum):
    """An office day's sessions: morning (pagi) and afternoon (siang)."""

    PAGI = "pagi"
    SIANG = "siang"


class ServiceType(str, Enum):
    """What the applicant comes for."""

    NEW = "new"
    RENEWAL = "renewal"
    REPLACEMENT_LOST = "replacement_lost"
    REPLACEMENT_DAMAGED = "replacement_damaged"


class PassportType(str, Enum):
    """Regular (paper) or electronic passport."""

    REGULAR = "regular"
    ELECTRONIC = "electronic"


def _office_code(value: str) -> str:
    if not OFFICE_CODE.match(value):
        raise ValueError("office code must be 2-16 characters of A-Z, 0-9 and '-'")
    return value


def _sixteen_digits(value: str) -> str:
    if not (len(value) == 16 and value.isdigit()):
        raise ValueError("must be exactly 16 digits")
    return value


OfficeCode = Annotated[str, AfterValidator(_office_code)]
SixteenDigits = Annotated[str, AfterValidator(_sixteen_digits)]


class Frozen(BaseModel):
    """Base for value objects on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Applicant(Frozen):
    """One person who needs a passport, covered by a booking."""

    name: str = Field(min_length=1, max_length=120, description="Full name as on the KK.")
    nik: SixteenDigits = Field(description="National identity number (NIK), 16 digits.")
    birth_date: dt.date = Field(description="Date of birth.")
    service: ServiceType = Field(default=ServiceType.NEW, description="What the applicant needs.")
    passport_type: PassportType = Field(
        default=PassportType.REGULAR, description="Regular or electronic passport."
    )


class Slot(Frozen):
    """An office's date and session."""

    office: OfficeCode = Field(description="Office code, e.g. JKT-SEL.")
    date: dt.date = Field(description="Appointment date, in the office's own calendar.")
    session: Session = Field(description="pagi (morning) or siang (afternoon).")

"""Value types shared by several messages."""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


# Checked by pydantic-core itself (no Python call per message: these sit on the rush's hot path).
OfficeCode = Annotated[str, StringConstraints(pattern=OFFICE_CODE.pattern)]
SixteenDigits = Annotated[str, StringConstraints(pattern=r"^[0-9]{16}$")]


class Frozen(BaseModel):
    """Base for value objects on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Applicant(Frozen):
    """One person who needs a passport, covered by a booking."""

    name: str = Field(min_length=1, max_length=120, description="Full name as on the KK.")
    nik: SixteenDigits = Field(description="National identity number (NIK), 16 digits.")
    birth_date: dt.date = Field(description="Date of birth.")
    service: ServiceType = Field(default=ServiceType.NEW, description="What the applicant needs.")
    passport_type: PassportType = Field(default=PassportType.REGULAR, description="Regular or electronic passport.")


class Slot(Frozen):
    """An office's date and session."""

    office: OfficeCode = Field(description="Office code, e.g. JKT-SEL.")
    date: dt.date = Field(description="Appointment date, in the office's own calendar.")
    session: Session = Field(description="pagi (morning) or siang (afternoon).")
